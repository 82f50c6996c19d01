package phx_test

// rbRaw is a minimal WebSocket client on a plain TCP connection, for the
// robustness tests that need thousands of connections or hundreds of
// thousands of frames: it reads through a buffer of the size asked (many
// frames per system call), keeps no goroutine, and can shrink its kernel
// receive buffer to play a client that stops reading. It speaks just enough RFC 6455 for a
// server that sends unfragmented frames.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

type rbRaw struct {
	conn net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex // serializes writes
	mask [4]byte
}

// rbCloseError is the close frame a rbRaw read.
type rbCloseError struct {
	code   int // 1005 when the frame had no code
	reason string
}

func (e *rbCloseError) Error() string { return fmt.Sprintf("close %d %q", e.code, e.reason) }

// rbCloseCode returns the close code of err, or -1 when the connection
// ended without a close frame.
func rbCloseCode(err error) int {
	var ce *rbCloseError
	if errors.As(err, &ce) {
		return ce.code
	}
	return -1
}

// rbRawDial opens a WebSocket to ts with query q and a 4 KiB read buffer.
// rcvBuf > 0 shrinks the kernel receive buffer first. The caller closes it.
func rbRawDial(ctx context.Context, ts *testServer, q string, rcvBuf int) (*rbRaw, error) {
	return rbRawDialSized(ctx, ts, q, rcvBuf, 4<<10)
}

// rbRawDialSized is rbRawDial with a read buffer of bufSize bytes.
func rbRawDialSized(ctx context.Context, ts *testServer, q string, rcvBuf, bufSize int) (*rbRaw, error) {
	var d net.Dialer
	addr := ts.srv.Listener.Addr().String()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if rcvBuf > 0 {
		_ = conn.(*net.TCPConn).SetReadBuffer(rcvBuf)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	c := &rbRaw{conn: conn, br: bufio.NewReaderSize(conn, bufSize)}
	_, _ = rand.Read(c.mask[:])
	req := "GET /socket/websocket?" + q + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(key[:]) + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("handshake: HTTP %d", resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	return c, nil
}

// deadline bounds every later read and write.
func (c *rbRaw) deadline(t time.Time) { _ = c.conn.SetDeadline(t) }

// writeFrame writes one masked frame with opcode op.
func (c *rbRaw) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	hdr := make([]byte, 0, 14+len(p))
	hdr = append(hdr, 0x80|op)
	switch n := len(p); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	hdr = append(hdr, c.mask[:]...)
	for i, b := range p {
		hdr = append(hdr, b^c.mask[i%4])
	}
	_, err := c.conn.Write(hdr)
	return err
}

// send writes a text frame.
func (c *rbRaw) send(frame string) error { return c.writeFrame(0x1, []byte(frame)) }

// sendBinary writes a binary frame.
func (c *rbRaw) sendBinary(frame []byte) error { return c.writeFrame(0x2, frame) }

// next reads the next data frame: its opcode and payload. A close frame is
// answered (completing the close handshake) and returned as *rbCloseError;
// pings and pongs are skipped.
func (c *rbRaw) next() (byte, []byte, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return 0, nil, err
		}
		if h[0]&0x80 == 0 {
			return 0, nil, errors.New("rbRaw: fragmented frame")
		}
		op := h[0] & 0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if h[1]&0x80 != 0 || n > 16<<20 {
			return 0, nil, fmt.Errorf("rbRaw: bad frame header %x, length %d", h, n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return 0, nil, err
		}
		switch op {
		case 0x8:
			ce := &rbCloseError{code: 1005}
			if len(p) >= 2 {
				ce.code = int(binary.BigEndian.Uint16(p))
				ce.reason = string(p[2:])
			}
			_ = c.writeFrame(0x8, p)
			return op, nil, ce
		case 0x9, 0xa:
			continue
		}
		return op, p, nil
	}
}

// read returns the next frame, which must be a text frame.
func (c *rbRaw) read() (string, error) {
	op, p, err := c.next()
	if err != nil {
		return "", err
	}
	if op != 0x1 {
		return "", fmt.Errorf("got a frame with opcode %d (%q), want text", op, p)
	}
	return string(p), nil
}

// expect reads len(want) frames and compares them in order.
func (c *rbRaw) expect(want ...string) error {
	for _, w := range want {
		got, err := c.read()
		if err != nil {
			return fmt.Errorf("want %s: %w", w, err)
		}
		if got != w {
			return fmt.Errorf("got frame %s, want %s", got, w)
		}
	}
	return nil
}

// join joins topic with join_ref and ref jr (raw JSON) and expects the ok
// reply {} .
func (c *rbRaw) join(topic, jr string) error {
	if err := c.send(`[` + jr + `,` + jr + `,"` + topic + `","phx_join",{}]`); err != nil {
		return err
	}
	return c.expect(`[` + jr + `,` + jr + `,"` + topic + `","phx_reply",{"response":{},"status":"ok"}]`)
}

// heartbeat sends a heartbeat with ref and expects its reply next.
func (c *rbRaw) heartbeat(ref string) error {
	if err := c.send(`[null,"` + ref + `","phoenix","heartbeat",{}]`); err != nil {
		return err
	}
	return c.expect(`[null,"` + ref + `","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
}

func (c *rbRaw) close() { _ = c.conn.Close() }
