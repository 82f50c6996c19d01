package phx_test

// Helpers of the robustness tests (slow_test.go, malformed_test.go,
// crash_test.go, stress_test.go, shutdown_test.go, limits_test.go,
// secrets_test.go, fuzz_longpoll_test.go). Unlike the wsClient helpers they
// report errors instead of calling t.Fatal, so that any goroutine may use
// them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phxgo/phx"
)

// rbServerOpts tunes rbServer.
type rbServerOpts struct {
	// serverWriteBuf, when > 0, is the kernel send buffer of every
	// connection the server accepts: a client that stops reading then
	// blocks the server's writes after a few KiB instead of a few MiB.
	serverWriteBuf int
	// watch, when set, is told of every log record (see rbWatch).
	watch *rbWatch
	// quiet discards the log records instead of keeping them in ts.logs
	// (tests with many thousands of connections).
	quiet bool
	// httpErrors, when set, receives the http.Server's own error log,
	// where a panic in a handler would be reported.
	httpErrors io.Writer
}

// rbServer is newServer with a listener of our own and a log watch. The
// socket is shut down, and its connections awaited, when the test ends.
func rbServer(t testing.TB, opts *phx.SocketOptions, register func(*phx.Socket), ro rbServerOpts) *testServer {
	t.Helper()
	if opts == nil {
		opts = &phx.SocketOptions{}
	}
	ts := &testServer{logs: &logBuffer{}}
	if opts.Logger == nil {
		var w io.Writer = ts.logs
		if ro.quiet {
			w = io.Discard
		}
		var h slog.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
		if ro.watch != nil {
			h = &rbWatchHandler{Handler: h, w: ro.watch}
		}
		opts.Logger = slog.New(h)
	}
	ts.sock = phx.NewSocket(opts)
	if register != nil {
		register(ts.sock)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket/", http.StripPrefix("/socket", ts.sock))
	ts.srv = httptest.NewUnstartedServer(mux)
	if ro.serverWriteBuf > 0 {
		ts.srv.Listener = rbListener{Listener: ts.srv.Listener, writeBuf: ro.serverWriteBuf}
	}
	if ro.httpErrors != nil {
		ts.srv.Config.ErrorLog = log.New(ro.httpErrors, "", 0)
	}
	ts.srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := ts.sock.Shutdown(ctx); err != nil {
			t.Errorf("Socket.Shutdown at the end of the test: %v (%d connections left)", err, ts.sock.Stats().Connections)
		}
		ts.srv.Close()
	})
	return ts
}

// rbListener shrinks the kernel send buffer of accepted connections.
type rbListener struct {
	net.Listener
	writeBuf int
}

func (l rbListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.writeBuf)
	}
	return c, err
}

// rbWatch counts log records by message prefix and lets a test wait until a
// number of them were logged: an event to wait on instead of a sleep.
type rbWatch struct {
	mu    sync.Mutex
	rules []*rbRule
}

type rbRule struct {
	prefix string
	want   int64
	n      atomic.Int64
	done   chan struct{}
}

// on returns a channel closed once want records whose message starts with
// prefix have been logged.
func (w *rbWatch) on(prefix string, want int) <-chan struct{} {
	r := &rbRule{prefix: prefix, want: int64(want), done: make(chan struct{})}
	w.mu.Lock()
	w.rules = append(w.rules, r)
	w.mu.Unlock()
	return r.done
}

// count returns how many records matched the rule of prefix so far.
func (w *rbWatch) count(prefix string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.rules {
		if r.prefix == prefix {
			return r.n.Load()
		}
	}
	return -1
}

func (w *rbWatch) saw(msg string) {
	w.mu.Lock()
	rules := w.rules
	w.mu.Unlock()
	for _, r := range rules {
		if strings.HasPrefix(msg, r.prefix) && r.n.Add(1) == r.want {
			close(r.done)
		}
	}
}

// rbWatchHandler tells a watch of every record, whatever its level.
type rbWatchHandler struct {
	slog.Handler
	w *rbWatch
}

func (h *rbWatchHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *rbWatchHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.saw(r.Message)
	return h.Handler.Handle(ctx, r)
}

func (h *rbWatchHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &rbWatchHandler{Handler: h.Handler.WithAttrs(as), w: h.w}
}

func (h *rbWatchHandler) WithGroup(name string) slog.Handler {
	return &rbWatchHandler{Handler: h.Handler.WithGroup(name), w: h.w}
}

// rbWait waits for ch, or fails the test after d saying what did not happen.
func rbWait(t testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %v", what, d)
	}
}

// rbErrs collects the errors of many goroutines; the first few are reported.
type rbErrs struct {
	mu   sync.Mutex
	n    int
	errs []error
}

func (e *rbErrs) add(err error) {
	if err == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.errs) < 10 {
		e.errs = append(e.errs, err)
	}
}

// check fails the test if any error was collected.
func (e *rbErrs) check(t testing.TB, what string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n > 0 {
		t.Fatalf("%s: %d error(s), the first ones:\n%v", what, e.n, errors.Join(e.errs...))
	}
}

// rbHeap returns HeapInuse after two garbage collections: the live heap.
func rbHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// rbMB formats bytes as MiB.
func rbMB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// rbStacks returns every goroutine's stack, for a deadlock report.
func rbStacks() string {
	buf := make([]byte, 4<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// rbSettleGoroutines waits until at most n goroutines run, or d passed; it
// returns the last count. There is no event for "a goroutine ended", so it
// polls, backing off as leakcheck does.
func rbSettleGoroutines(n int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		got := runtime.NumGoroutine()
		if got <= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(delay)
	}
}
