package phx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
	"github.com/phxgo/phx/internal/leakcheck"
)

// timeout bounds every wait of a test: a frame, a close, a callback.
const timeout = 5 * time.Second

func TestMain(m *testing.M) { leakcheck.Main(m, timeout) }

// testServer is a Socket mounted at /socket on a real HTTP server bound to
// 127.0.0.1.
type testServer struct {
	sock *phx.Socket
	srv  *httptest.Server
	logs *logBuffer
}

// newServer starts a server for opts (nil for defaults) with the channels
// register adds. Unless opts has a Logger, logs go to ts.logs. The socket is
// shut down, and its connections awaited, when the test ends.
func newServer(t testing.TB, opts *phx.SocketOptions, register func(*phx.Socket)) *testServer {
	t.Helper()
	if opts == nil {
		opts = &phx.SocketOptions{}
	}
	ts := &testServer{logs: &logBuffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ts.sock = phx.NewSocket(opts)
	if register != nil {
		register(ts.sock)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", ts.sock))
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := ts.sock.Shutdown(ctx); err != nil {
			t.Errorf("Socket.Shutdown at the end of the test: %v", err)
		}
		ts.srv.Close()
	})
	return ts
}

// url returns the WebSocket URL with the query string q (no "?").
func (ts *testServer) url(q string) string {
	u := "ws" + strings.TrimPrefix(ts.srv.URL, "http") + "/socket/websocket"
	if q != "" {
		u += "?" + q
	}
	return u
}

// dialOpts opens a WebSocket with query q; the caller checks the error.
func (ts *testServer) dialOpts(t testing.TB, q string, o *websocket.DialOptions) (*wsClient, *http.Response, error) {
	t.Helper()
	if o == nil {
		o = &websocket.DialOptions{}
	}
	o.HTTPClient = ts.srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, ts.url(q), o)
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(8 << 20)
	c := &wsClient{t: t, ws: ws, v1: !strings.Contains(q, "vsn=2.")}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return c, resp, nil
}

// dial opens a WebSocket with query q, e.g. "vsn=2.0.0".
func (ts *testServer) dial(t testing.TB, q string) *wsClient {
	t.Helper()
	c, _, err := ts.dialOpts(t, q, nil)
	assert.Success(t, "dial "+q, err)
	return c
}

// status returns the HTTP status of a handshake that must fail.
func (ts *testServer) status(t testing.TB, q string, o *websocket.DialOptions) int {
	t.Helper()
	c, resp, err := ts.dialOpts(t, q, o)
	if err == nil {
		_ = c.ws.CloseNow()
		t.Fatalf("handshake %q succeeded, want it refused", q)
	}
	if resp == nil {
		t.Fatalf("handshake %q: no HTTP response: %v", q, err)
	}
	return resp.StatusCode
}

// wsClient is a raw WebSocket client that sends and checks frames as text.
type wsClient struct {
	t        testing.TB
	ws       *websocket.Conn
	v1       bool
	sentinel int
}

func (c *wsClient) write(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.ws.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("writing %q: %v", b, err)
	}
}

// send writes one text frame.
func (c *wsClient) send(frame string) {
	c.t.Helper()
	c.write(websocket.MessageText, []byte(frame))
}

// sendBinary writes one binary frame.
func (c *wsClient) sendBinary(frame []byte) {
	c.t.Helper()
	c.write(websocket.MessageBinary, frame)
}

// next reads one message, failing the test after timeout.
func (c *wsClient) next() (websocket.MessageType, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.ws.Read(ctx)
}

// read returns the next frame, which must be a text frame.
func (c *wsClient) read() string {
	c.t.Helper()
	typ, b, err := c.next()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("got binary frame %q, want a text frame", b)
	}
	return string(b)
}

// readBinary returns the next frame, which must be a binary frame.
func (c *wsClient) readBinary() []byte {
	c.t.Helper()
	typ, b, err := c.next()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if typ != websocket.MessageBinary {
		c.t.Fatalf("got text frame %s, want a binary frame", b)
	}
	return b
}

// expect reads len(frames) text frames and compares them, in order, byte
// for byte.
func (c *wsClient) expect(frames ...string) {
	c.t.Helper()
	for i, want := range frames {
		assert.Frame(c.t, fmt.Sprintf("frame %d of %d", i+1, len(frames)), want, c.read())
	}
}

// expectAnyOrder reads len(frames) text frames and compares them as a set.
func (c *wsClient) expectAnyOrder(frames ...string) {
	c.t.Helper()
	left := append([]string(nil), frames...)
	for range frames {
		got := c.read()
		i := indexOf(left, got)
		if i < 0 {
			c.t.Fatalf("unexpected frame %s\nstill expecting %q", got, left)
		}
		left = append(left[:i], left[i+1:]...)
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// roundTrip sends a heartbeat and expects its reply as the very next frame:
// it proves that nothing was sent in between (the "no frame" assertion).
func (c *wsClient) roundTrip() {
	c.t.Helper()
	c.sentinel++
	ref := fmt.Sprintf(`"hb-%d"`, c.sentinel)
	if c.v1 {
		c.send(`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":` + ref + `}`)
		c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":` + ref + `,"topic":"phoenix"}`)
		return
	}
	c.send(`[null,` + ref + `,"phoenix","heartbeat",{}]`)
	c.expect(`[null,` + ref + `,"phoenix","phx_reply",{"response":{},"status":"ok"}]`)
}

// expectClose reads until the connection ends and checks the close code;
// any frame before it fails the test.
func (c *wsClient) expectClose(code websocket.StatusCode) {
	c.t.Helper()
	typ, b, err := c.next()
	if err == nil {
		c.t.Fatalf("got frame (type %v) %q, want close %d", typ, b, code)
	}
	if got := websocket.CloseStatus(err); got != code {
		c.t.Fatalf("connection ended with %v (close status %d), want close %d", err, got, code)
	}
}

// join joins topic with join_ref and ref jr (raw JSON, e.g. `"1"`) and
// expects the ok reply.
func (c *wsClient) join(topic, jr string) {
	c.t.Helper()
	c.send(`[` + jr + `,` + jr + `,"` + topic + `","phx_join",{}]`)
	c.expect(`[` + jr + `,` + jr + `,"` + topic + `","phx_reply",{"response":{},"status":"ok"}]`)
}

// joinVsn joins room:1 with ref "1" in the frame format of vsn ("1.0.0"
// or "2.0.0") and expects the ok reply.
func (c *wsClient) joinVsn(vsn string) {
	c.t.Helper()
	if vsn == "2.0.0" {
		c.join("room:1", `"1"`)
		return
	}
	c.send(`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`)
	c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`)
}

// logBuffer collects JSON log records; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the log records written so far.
func (l *logBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		out = append(out, m)
	}
	return out
}

// find returns the first record whose msg satisfies match, or fails.
func (l *logBuffer) find(t testing.TB, what string, match func(msg string) bool) map[string]any {
	t.Helper()
	for _, r := range l.records(t) {
		if msg, _ := r["msg"].(string); match(msg) {
			return r
		}
	}
	t.Fatalf("no log record %s in:\n%s", what, l.String())
	return nil
}

// termination is one Terminate call.
type termination struct {
	topic  string
	reason error
}

// terminations collects Terminate calls of a test channel.
type terminations chan termination

func newTerminations() terminations { return make(chan termination, 64) }

// next waits for the next Terminate call.
func (ch terminations) next(t testing.TB) termination {
	t.Helper()
	select {
	case x := <-ch:
		return x
	case <-time.After(timeout):
		t.Fatalf("Terminate was not called within %v", timeout)
		return termination{}
	}
}

// none fails if Terminate was called and not yet collected.
func (ch terminations) none(t testing.TB) {
	t.Helper()
	select {
	case x := <-ch:
		t.Fatalf("unexpected Terminate(%s, %v)", x.topic, x.reason)
	default:
	}
}

var errBoom = errors.New("boom")

// settle sends a ping through the roomChannel session of topic (join_ref jr,
// raw JSON) and expects the pong: the session has then finished its join,
// subscription included, since a session handles its messages in order.
func (c *wsClient) settle(topic, jr string) {
	c.t.Helper()
	if c.v1 {
		c.send(`{"topic":"` + topic + `","event":"ping","payload":{},"ref":"settle"}`)
		c.expect(`{"event":"phx_reply","payload":{"response":{"ping":"pong"},"status":"ok"},"ref":"settle","topic":"` + topic + `"}`)
		return
	}
	c.send(`[` + jr + `,"settle","` + topic + `","ping",{}]`)
	c.expect(`[` + jr + `,"settle","` + topic + `","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
}
