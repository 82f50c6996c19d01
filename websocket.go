package phx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx/internal/wire"
)

// bearerPrefix starts the subprotocol that carries phoenix.js's authToken
// (PROTOCOL.md W-8).
const bearerPrefix = "base64url.bearer.phx."

// vsnRE parses a semantic version such as "2.0.0" or "2.0.1-rc.1".
var vsnRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$`)

// serializerFor picks the serializer for a vsn parameter as Phoenix does:
// missing means 1.0.0; 1.0.x is V1, 2.0.x is V2, anything else none (W-5).
func serializerFor(params url.Values) (wire.Serializer, bool) {
	vs, ok := params["vsn"]
	if !ok || len(vs) == 0 {
		return wire.V1, true
	}
	m := vsnRE.FindStringSubmatch(vs[0])
	switch {
	case m == nil:
		return nil, false
	case m[1] == "1" && m[2] == "0":
		return wire.V1, true
	case m[1] == "2" && m[2] == "0":
		return wire.V2, true
	}
	return nil, false
}

// subprotocols reads the Sec-WebSocket-Protocol offer: whether "phoenix" is
// offered, and the bearer token if any (W-9, G-11: both base64 alphabets are
// accepted).
func subprotocols(h http.Header) (phoenix bool, token string, ok bool) {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == "phoenix":
				phoenix = true
			case strings.HasPrefix(p, bearerPrefix):
				t, err := decodeToken(p[len(bearerPrefix):])
				if err != nil {
					return false, "", false
				}
				token = t
			}
		}
	}
	return phoenix, token, true
}

func decodeToken(s string) (string, error) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(s)
	}
	return string(b), err
}

// checkUpgrade returns why r is not a WebSocket upgrade request, or "".
func checkUpgrade(r *http.Request) string {
	switch {
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "'connection' header must contain 'upgrade'"
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "'upgrade' header must contain 'websocket'"
	case r.Header.Get("Sec-WebSocket-Key") == "":
		return "'sec-websocket-key' header is absent"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "'sec-websocket-version' header must equal '13'"
	}
	return ""
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serveWebSocket runs the handshake checks, Connect, the upgrade, and then
// the connection's read loop on the request's goroutine.
func (s *Socket) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := checkUpgrade(r); err != "" {
		http.Error(w, err, http.StatusBadRequest) // as Phoenix: 400 with the reason
		return
	}
	if s.isDraining() {
		http.Error(w, "phx: server shutting down", http.StatusServiceUnavailable)
		return
	}
	if s.full() {
		s.log.Warn("phx: refusing a connection: SocketOptions.MaxConnections reached", "max", s.opts.MaxConnections)
		http.Error(w, "phx: too many connections", http.StatusServiceUnavailable)
		return
	}
	params := r.URL.Query()
	ser, ok := serializerFor(params)
	if !ok {
		s.log.Warn("phx: refusing a connection with an unsupported vsn; clients must send vsn=1.0.0 or 2.0.0", "vsn", params.Get("vsn"))
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if !s.originAllowed(r) {
		s.log.Warn("phx: refusing a WebSocket from a foreign origin; add it to SocketOptions.OriginPatterns if it is yours",
			"origin", r.Header.Get("Origin"), "host", r.Host)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	phoenixProto, token, ok := subprotocols(r.Header)
	if !ok {
		s.log.Warn("phx: refusing a connection whose auth token subprotocol is not base64")
		w.WriteHeader(http.StatusForbidden)
		return
	}
	info := &Conn{Params: params, Header: r.Header, AuthToken: token, RemoteAddr: r.RemoteAddr, Transport: "websocket"}
	took, err := s.authenticate(r.Context(), info, ser)
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	if s.opts.Compress {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	if phoenixProto {
		opts.Subprotocols = []string{"phoenix"}
	}
	lw := &leanWriter{ResponseWriter: w, rc: http.NewResponseController(w)}
	ws, err := websocket.Accept(lw, r, opts)
	if err != nil {
		s.log.Debug("phx: WebSocket upgrade failed", "error", err)
		return
	}
	ws.SetReadLimit(s.opts.MaxFrameSize)
	c := s.start(info, ser, &wsTransport{ws: ws, conn: lw.conn, compress: s.opts.Compress}, took)
	if c == nil { // draining or full since the checks above
		ws.Close(closeServiceRetry, "server shutting down or full")
		return
	}
	if s.opts.IdleTimeout > 0 {
		c.armIdle(s.opts.IdleTimeout)
	}
	// Read on a goroutine of our own and let the handler return: net/http's
	// connection goroutine then ends and frees its buffers and state.
	go c.readLoop(ws)
}

// readLoop feeds inbound frames to the client until the connection ends.
func (c *client) readLoop(ws *websocket.Conn) {
	defer c.closed()
	// A client that vanishes without a close handshake leaves the read
	// failing with the connection still open: release it.
	defer ws.CloseNow()
	for {
		typ, data, err := readMessage(ws)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.log.Warn("phx: closing the connection on a frame over SocketOptions.MaxFrameSize (code 1009)",
					"socket_id", c.info.ID, "max", c.sock.opts.MaxFrameSize)
			}
			return
		}
		c.inbound(data, typ == websocket.MessageBinary)
	}
}

// readBufs are the buffers messages are read into before they are copied
// out at their exact size: io.ReadAll, which coder/websocket's Read uses,
// allocates at least 512 bytes per message, most of it wasted on Phoenix's
// small frames.
var readBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readMessage reads the next message. It passes no context: a cancellable
// one costs memory per blocked read, and closing the connection is what
// ends the read.
func readMessage(ws *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, r, err := ws.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	buf := readBufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err = buf.ReadFrom(r)
	data := bytes.Clone(buf.Bytes())
	if buf.Cap() <= 64<<10 {
		readBufs.Put(buf)
	}
	return typ, data, err
}

// armIdle schedules the idle check d from now.
func (c *client) armIdle(d time.Duration) {
	c.idle.Store(time.AfterFunc(d, c.checkIdle))
}

// checkIdle closes the connection with 1001 when nothing arrived for
// IdleTimeout, and otherwise re-arms itself for the time left (T-2b).
func (c *client) checkIdle() {
	if c.ctx.Err() != nil {
		return
	}
	idle := c.sock.opts.IdleTimeout
	since := time.Since(time.Unix(0, c.lastRead.Load()))
	if since < idle {
		c.armIdle(idle - since)
		return
	}
	c.log.Info("phx: closing an idle connection (code 1001)", "socket_id", c.info.ID, "idle", since.Round(time.Millisecond))
	c.closeAfter(closeGoingAway, "idle timeout")
}

func (c *client) isShut() bool {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.shut
}

// Buffer sizes of a WebSocket connection after the upgrade. net/http hands
// a hijacked connection over with 4 KiB read and write buffers that stay
// allocated for its whole life; Phoenix frames are mostly far smaller, and
// larger ones bypass the buffers.
const (
	wsReadBuf  = 512
	wsWriteBuf = 512
)

// leanWriter hands coder/websocket a hijacked connection with small
// buffers instead of net/http's.
type leanWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	conn *lockedConn // the hijacked connection
}

func (l *leanWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := l.rc.Hijack()
	if err != nil {
		return nil, nil, err
	}
	lc := &lockedConn{Conn: conn}
	l.conn = lc
	// Keep whatever the client sent after its handshake request.
	n := brw.Reader.Buffered()
	var src io.Reader = conn
	if n > 0 {
		early, _ := brw.Reader.Peek(n)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
	}
	br := bufio.NewReaderSize(src, max(wsReadBuf, n))
	if n > 0 {
		_, _ = br.Peek(n) // buffered, so that Accept keeps them
	}
	return lc, bufio.NewReadWriter(br, bufio.NewWriterSize(lc, wsWriteBuf)), nil
}

// lockedConn serializes writes to a hijacked connection, so that phx can
// write a batch of data frames in one system call beside coder/websocket,
// which writes its control frames (pong, close) through it too. Each of
// those is flushed in one Write: it is at most 129 bytes, under the
// wsWriteBuf buffer.
type lockedConn struct {
	net.Conn
	mu sync.Mutex
}

func (c *lockedConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.Write(b)
}

// wsTransport writes frames to a WebSocket connection. Without
// compression it frames them itself and writes a whole batch with one
// system call (coder/websocket flushes every message on its own); with
// compression it hands each to coder/websocket. Writes carry no context (a
// cancellable one costs allocations per write); the write deadline is set
// on the network connection instead.
type wsTransport struct {
	ws       *websocket.Conn
	conn     *lockedConn
	compress bool
}

// writeBufs hold batches of encoded frames on their way to the network.
var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxWrite bounds the bytes written at once, and so the size of a pooled
// buffer.
const maxWrite = 64 << 10

func (t *wsTransport) deadline(d time.Time) { _ = t.conn.SetWriteDeadline(d) }

func (t *wsTransport) write(frames []frame) error {
	err := t.writeFrames(frames)
	if err != nil {
		// A frame may be cut short: the stream is unusable. Drop it now
		// rather than wait for a close handshake through a stuck socket.
		_ = t.ws.CloseNow()
	}
	return err
}

func (t *wsTransport) writeFrames(frames []frame) error {
	if t.compress {
		for _, f := range frames {
			typ := websocket.MessageText
			if f.binary {
				typ = websocket.MessageBinary
			}
			if err := t.ws.Write(context.Background(), typ, f.data); err != nil {
				return err
			}
		}
		return nil
	}
	bp := writeBufs.Get().(*[]byte)
	defer writeBufs.Put(bp)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0] }()
	for i, f := range frames {
		buf = appendFrameHeader(buf, f)
		if len(buf)+len(f.data) > maxWrite {
			// A large frame: write what is buffered, then the frame itself.
			if _, err := t.conn.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
			if _, err := t.conn.Write(f.data); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, f.data...)
		if len(buf) >= maxWrite/2 || i == len(frames)-1 {
			if _, err := t.conn.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// appendFrameHeader appends the RFC 6455 header of an unfragmented,
// unmasked server frame carrying f.
func appendFrameHeader(b []byte, f frame) []byte {
	op := byte(0x1) // text
	if f.binary {
		op = 0x2
	}
	b = append(b, 0x80|op) // FIN
	switch n := len(f.data); {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

func (t *wsTransport) close(code int, reason string) {
	_ = t.ws.Close(websocket.StatusCode(code), reason)
}
