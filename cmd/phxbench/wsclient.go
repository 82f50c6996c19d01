package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// This file is the tool's own WebSocket client (RFC 6455), lean on
// purpose: the load tool shares the machine with the server it measures, so
// it must spend less per message than any server. It reads through one
// buffer per connection and lets the caller queue several frames and write
// them with one system call, which no general-purpose WebSocket library
// offers. The tests run it against coder/websocket servers.

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxMessage bounds one inbound message.
const maxMessage = 16 << 20

// closeError is a close frame received from the server.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string {
	return fmt.Sprintf("WebSocket closed by the server with code %d %q", e.code, e.reason)
}

// wsConn is a client WebSocket connection. Reads must come from one
// goroutine; writes (appendFrame, write) must be serialised by the caller.
type wsConn struct {
	nc   net.Conn
	br   *bufio.Reader
	mask [4]byte
	msg  []byte // the message being read; reused
}

// wsAcceptGUID is the RFC 6455 handshake constant.
const wsAcceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS connects to a ws:// or wss:// URL and performs the opening
// handshake. Its TCP connection closes with a reset (SO_LINGER 0) so that
// runs of many short connections do not fill the loopback port range with
// TIME_WAIT sockets.
func dialWS(ctx context.Context, u *url.URL) (*wsConn, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"ws": "80", "wss": "443"}[u.Scheme])
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
		_ = tc.SetNoDelay(true)
	}
	if u.Scheme == "wss" {
		nc = tls.Client(nc, &tls.Config{ServerName: u.Hostname()})
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	w, err := handshake(nc, u)
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return w, nil
}

func handshake(nc net.Conn, u *url.URL) (*wsConn, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	path := u.RequestURI()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\nUser-Agent: phxbench\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("reading the handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("handshake refused: HTTP %s", resp.Status)
	}
	sum := sha1.Sum([]byte(key + wsAcceptGUID))
	switch {
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		return nil, fmt.Errorf("handshake: Upgrade %q, want websocket", resp.Header.Get("Upgrade"))
	case !headerHas(resp.Header, "Connection", "upgrade"):
		return nil, fmt.Errorf("handshake: Connection %q, want Upgrade", resp.Header.Get("Connection"))
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return nil, errors.New("handshake: wrong Sec-WebSocket-Accept")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return nil, fmt.Errorf("handshake: extension %q was not offered", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	w := &wsConn{nc: nc, br: br}
	_, _ = rand.Read(w.mask[:])
	return w, nil
}

// headerHas reports whether the comma-separated header k lists token.
func headerHas(h http.Header, k, token string) bool {
	for _, v := range h.Values(k) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// appendFrame appends one final, masked client frame. Every frame of the
// connection uses the same mask: the mask protects proxies from browser
// scripts, which this client is not.
func (w *wsConn) appendFrame(dst []byte, op byte, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, 0x80|op)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, w.mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	m := dst[start:]
	for i := range m {
		m[i] ^= w.mask[i&3]
	}
	return dst
}

// write sends b, one or more frames, in one call.
func (w *wsConn) write(b []byte) error {
	_, err := w.nc.Write(b)
	return err
}

// frameBuffered reports whether a whole frame is already buffered, so that
// the next read will not wait for the network.
func (w *wsConn) frameBuffered() bool {
	n := w.br.Buffered()
	if n < 2 {
		return false
	}
	h, _ := w.br.Peek(min(n, 14))
	size, hl := int(h[1]&0x7F), 2
	switch size {
	case 126:
		if n < 4 {
			return false
		}
		size, hl = int(binary.BigEndian.Uint16(h[2:])), 4
	case 127:
		if n < 10 {
			return false
		}
		size, hl = int(min(binary.BigEndian.Uint64(h[2:]), maxMessage+1)), 10
	}
	if h[1]&0x80 != 0 {
		hl += 4
	}
	return n >= hl+size
}

// next reads the next frame: its opcode, whether it is final, and its
// payload, valid until the following call.
func (w *wsConn) next(dst []byte) (op byte, fin bool, payload []byte, err error) {
	var h [2]byte
	if _, err = readFull(w.br, h[:]); err != nil {
		return 0, false, nil, err
	}
	if h[0]&0x70 != 0 {
		return 0, false, nil, errors.New("WebSocket frame with reserved bits set (no extension was negotiated)")
	}
	if h[1]&0x80 != 0 {
		return 0, false, nil, errors.New("masked WebSocket frame from the server")
	}
	op, fin = h[0]&0x0F, h[0]&0x80 != 0
	size := uint64(h[1] & 0x7F)
	switch size {
	case 126:
		var b [2]byte
		if _, err = readFull(w.br, b[:]); err != nil {
			return 0, false, nil, err
		}
		size = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = readFull(w.br, b[:]); err != nil {
			return 0, false, nil, err
		}
		size = binary.BigEndian.Uint64(b[:])
	}
	if size > maxMessage || uint64(len(dst))+size > maxMessage {
		return 0, false, nil, fmt.Errorf("WebSocket message over %d bytes", maxMessage)
	}
	start := len(dst)
	dst = slices.Grow(dst, int(size))[:start+int(size)]
	if _, err = readFull(w.br, dst[start:]); err != nil {
		return 0, false, nil, err
	}
	return op, fin, dst, nil
}

func readFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := br.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readMessage returns the next data message. pong is called with the
// payload of each ping, to answer it; a close frame ends the connection
// with a *closeError.
func (w *wsConn) readMessage(pong func([]byte) error) (op byte, msg []byte, err error) {
	w.msg = w.msg[:0]
	var msgOp byte
	for {
		start := len(w.msg)
		fop, fin, buf, err := w.next(w.msg)
		if err != nil {
			return 0, nil, err
		}
		payload := buf[start:]
		switch fop {
		case opPing, opPong, opClose:
			if !fin || len(payload) > 125 {
				return 0, nil, errors.New("invalid WebSocket control frame")
			}
			ctl := append([]byte(nil), payload...)
			w.msg = buf[:start]
			switch fop {
			case opPing:
				if err := pong(ctl); err != nil {
					return 0, nil, err
				}
			case opClose:
				ce := &closeError{code: 1005}
				if len(ctl) >= 2 {
					ce.code, ce.reason = int(binary.BigEndian.Uint16(ctl)), string(ctl[2:])
				}
				return 0, nil, ce
			}
			continue
		case opText, opBinary:
			if start != 0 {
				return 0, nil, errors.New("new WebSocket message inside a fragmented one")
			}
			msgOp = fop
		case opContinuation:
			if msgOp == 0 {
				return 0, nil, errors.New("WebSocket continuation frame without a message")
			}
		default:
			return 0, nil, fmt.Errorf("unknown WebSocket opcode %d", fop)
		}
		w.msg = buf
		if fin {
			return msgOp, w.msg, nil
		}
	}
}

// close drops the connection at once (a TCP reset).
func (w *wsConn) close() error { return w.nc.Close() }
