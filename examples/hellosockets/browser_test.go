package main

// The example page in a real browser: Debian's chromium, headless, driven
// with chromedp. The page (static/index.html and static/user_socket.js, with
// phoenix.js from /assets/phoenix.mjs) must print the notes' console lines
// over WebSocket, and again when WebSockets are broken on the way (as by a
// proxy that does not pass the upgrade): phoenix.js then falls back to
// LongPoll (longPollFallbackMs) and the page works the same.
//
// They need chromium (see testenv.NeedChromium) and `npm ci` in this
// directory for phoenix.js.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/phxgo/phx/examples/internal/testenv"
)

func TestBrowserPage(t *testing.T) {
	exe := testenv.NeedChromium(t)
	_, err := os.Stat(filepath.Join(nodeDir, "node_modules", "phoenix", "priv", "static", "phoenix.mjs"))
	testenv.Need(t, "npm package phoenix in node_modules (run npm ci in examples/hellosockets)", "the browser tests", err == nil)
	t.Parallel()

	tests := []struct {
		name    string
		blockWS bool   // the server refuses the WebSocket upgrade, as a broken proxy would
		want    lpPage // what the page's socket says once the lines are in
	}{
		{"WebSocket", false, lpPage{Transport: "WebSocket", Conn: "WebSocket", Connected: true}},
		{"LongPoll fallback", true, lpPage{Transport: "LongPoll", Conn: "LongPoll", Connected: true, Fallback: "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := lpBrowserServer(t, tt.blockWS)
			ctx := lpBrowser(t, exe)
			console := lpConsole(t, ctx)
			sockets := chromedp.Events(ctx, network.WebSocketCreated)
			if err := chromedp.Do(ctx, chromedp.Navigate("http://"+srv.addr+"/")); err != nil {
				t.Fatalf("loading the page: %v", err)
			}

			console.expect(`log ["send ping"]`)
			console.expect(`log ["send pong"]`)
			console.expect(`log ["Joined ping",{}]`)
			console.expect(`log ["receive","pong"]`)
			console.expect(`error ["param_ping error: ",{"reason":"You asked for this!"}]`)
			console.expect(`log ["param_ping ok: ",{"arr":[1,2],"error":false}]`)
			if err := srv.app.Socket.Broadcast(t.Context(), "ping", "request_ping", map[string]any{}); err != nil {
				t.Fatalf("Broadcast request_ping: %v", err)
			}
			console.expect(`log ["ping requested",{"from_node":"nonode@nohost"}]`)
			console.expect(`log ["ping: ","pong"]`)
			// The page's pong push has the default 10 s timeout.
			console.expect(`error ["pong message timeout",{}]`)

			page, err := chromedp.Run(ctx, chromedp.Evaluate[lpPage](`({
				transport: window.socket.transportName(window.socket.transport),
				conn: window.socket.conn && window.socket.conn.constructor.name,
				connected: window.socket.isConnected(),
				fallback: sessionStorage.getItem("phx:fallback:LongPoll") || "",
			})`))
			if err != nil {
				t.Fatalf("reading the page's socket: %v", err)
			}
			if page != tt.want {
				t.Errorf("the page's socket: got %+v, want %+v", page, tt.want)
			}

			// The page tried the WebSocket of the notes first, both times.
			for ws, err := range sockets {
				if err != nil {
					t.Fatalf("reading the page's WebSockets: %v", err)
				}
				want := "ws://" + srv.addr + "/socket/websocket?token=undefined&vsn=2.0.0"
				if ws.URL != want {
					t.Errorf("the page opened the WebSocket %s, want %s", ws.URL, want)
				}
				break
			}
			ws, gets, posts := srv.websocket.Load(), srv.lpGets.Load(), srv.lpPosts.Load()
			t.Logf("requests: %d to /socket/websocket, %d GET and %d POST to /socket/longpoll", ws, gets, posts)
			if ws == 0 {
				t.Errorf("the page never asked for /socket/websocket")
			}
			if tt.blockWS != (gets > 0 && posts > 0) {
				t.Errorf("%d GET and %d POST to /socket/longpoll: want LongPoll used iff WebSockets are blocked (%v)", gets, posts, tt.blockWS)
			}
		})
	}
}

// lpPage is what the page's phoenix.js socket (window.socket) reports.
type lpPage struct {
	Transport string `json:"transport"` // socket.transportName(socket.transport)
	Conn      string `json:"conn"`      // the class of the open connection
	Connected bool   `json:"connected"`
	Fallback  string `json:"fallback"` // sessionStorage "phx:fallback:LongPoll" ("true" once remembered)
}

// lpServer is the example app on 127.0.0.1, counting the socket requests.
type lpServer struct {
	app                        *app
	addr                       string
	websocket, lpGets, lpPosts atomic.Int64
}

// lpBrowserServer serves the app until the test ends. With blockWS, requests
// to /socket/websocket get 502, as from a proxy that cannot pass the upgrade.
func lpBrowserServer(t *testing.T, blockWS bool) *lpServer {
	t.Helper()
	logs := new(syncBuffer)
	s := &lpServer{app: newApp(appConfig{
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AssetsDir: filepath.Join(nodeDir, "node_modules", "phoenix", "priv", "static"),
	})}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/socket/websocket":
			s.websocket.Add(1)
			if blockWS {
				http.Error(w, "this proxy does not pass WebSockets", http.StatusBadGateway)
				return
			}
		case r.URL.Path == "/socket/longpoll" && r.Method == http.MethodGet:
			s.lpGets.Add(1)
		case r.URL.Path == "/socket/longpoll" && r.Method == http.MethodPost:
			s.lpPosts.Add(1)
		}
		s.app.Handler.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.app.Socket.Shutdown(ctx); err != nil {
			t.Errorf("Socket.Shutdown: %v", err)
		}
		hs.Close()
		if t.Failed() {
			t.Logf("server %s log:\n%s", s.addr, logs)
		}
	})
	return s
}

// lpBrowser starts a headless chromium of its own (a fresh profile) and
// returns the context of its tab; the browser ends with the test. It logs the
// browser and phoenix.js versions.
func lpBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// No internet here: keep chromium from calling home.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	t.Logf("browser %s (V8 %s, %s), phoenix.js %s", v.Product, v.JsVersion, exe, lpPhoenixVersion(t))
	return ctx
}

// lpConsoleLines renders the page's console calls, in order.
type lpConsoleLines struct {
	t     *testing.T
	lines chan string
	seen  []string
}

// lpConsole subscribes to the console of the tab of ctx (Runtime.consoleAPICalled).
// Each call becomes one line: its type, then its arguments as a JSON array
// (objects as JSON.stringify sees them, keys sorted).
func lpConsole(t *testing.T, ctx context.Context) *lpConsoleLines {
	c := &lpConsoleLines{t: t, lines: make(chan string, 256)}
	events := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			select {
			case c.lines <- lpRender(ctx, &ev):
			case <-ctx.Done():
				return
			}
		}
	}()
	return c
}

// expect waits for the next console line and compares it with want.
func (c *lpConsoleLines) expect(want string) {
	c.t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	select {
	case got := <-c.lines:
		c.seen = append(c.seen, got)
		if got != want {
			c.t.Fatalf("console line %d:\n got  %s\n want %s\nlines so far:\n  %s", len(c.seen), got, want, strings.Join(c.seen, "\n  "))
		}
	case <-timer.C:
		c.t.Fatalf("no console line within %v, want %s\nlines so far:\n  %s", eventTimeout, want, strings.Join(c.seen, "\n  "))
	}
}

// lpRender renders one console call as "type [args...]".
func lpRender(ctx context.Context, ev *runtime.EventConsoleAPICalled) string {
	args := make([]any, len(ev.Args))
	for i, a := range ev.Args {
		args[i] = lpValue(ctx, a)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(args); err != nil {
		return fmt.Sprintf("%s (unprintable: %v)", ev.Type, err)
	}
	return string(ev.Type) + " " + strings.TrimSpace(b.String())
}

// lpValue is the value of a console argument: primitives as the protocol
// sends them, objects through JSON.stringify in the page.
func lpValue(ctx context.Context, a *runtime.RemoteObject) any {
	raw := []byte(a.Value)
	if a.ObjectID != "" {
		yes := true
		res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: `function(){ return JSON.stringify(this) }`,
			ObjectID:            a.ObjectID,
			ReturnByValue:       &yes,
		})
		if err != nil || res.Result == nil || res.ExceptionDetails != nil {
			return fmt.Sprintf("<%s: cannot stringify: %v>", a.Description, err)
		}
		var s string
		if err := json.Unmarshal([]byte(res.Result.Value), &s); err != nil {
			return fmt.Sprintf("<%s: %s>", a.Description, res.Result.Value)
		}
		raw = []byte(s)
	}
	if len(raw) == 0 {
		return "<" + string(a.Type) + ">"
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Sprintf("<%s: %s>", a.Type, raw)
	}
	return v
}
