package main

// End-to-end tests with the official phoenix.js client (npm package
// "phoenix", run by Node with "ws" as its WebSocket). Each test starts the
// example app on 127.0.0.1, runs a script of e2e/ against it and asserts on
// the JSON lines the script prints, one per event it observes (see
// e2e/lib.mjs for the protocol between the scripts and these tests).
//
// They need node and `npm ci` in this directory; see testenv.NeedNode.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phxgo/phx/examples/internal/testenv"
)

// nodeDir holds package.json and node_modules: the package directory, which
// is the working directory of go test.
const nodeDir = "."

// eventTimeout bounds the wait for any single event; the longest legitimate
// wait is the page's 10 s pong timeout.
const eventTimeout = 20 * time.Second

// obj is a JSON object as decoded from a script's output line.
type obj = map[string]any

// arr is a JSON array.
type arr = []any

func TestNodeChannelFlows(t *testing.T) {
	testenv.NeedNode(t, nodeDir)
	t.Parallel()

	reply := func(topic, event, status string, resp any) obj {
		return obj{"ev": "reply", "topic": topic, "event": event, "status": status, "resp": resp}
	}
	join := func(topic, status string, resp any, joinRef any) obj {
		return obj{"ev": "join", "topic": topic, "status": status, "resp": resp, "join_ref": joinRef}
	}
	unmatched := obj{"status": "error", "response": obj{"reason": "unmatched topic"}}
	pong := obj{"ping": "pong"}

	tests := []struct {
		script string
		want   []obj
	}{{
		// Notes: "Send and Receive messages", "Other Response Types",
		// "Channel Clients" (ping sent before the join reply, pong timeout,
		// param_ping), ding.
		script: "ping.mjs",
		want: []obj{
			{"ev": "push", "event": "ping", "state": "joining"},
			join("ping", "ok", obj{}, same("J")),
			reply("ping", "ping", "ok", pong),
			reply("ping", "ping", "ok", obj{"ping": "hoorays..!"}),
			reply("ping", "ping", "ok", pong),
			reply("ping", "ping:flows shows", "ok", obj{"ping": "flows shows"}),
			reply("ping", "pong", "timeout", obj{}),
			reply("ping", "param_ping", "error", obj{"reason": "You asked for this!"}),
			reply("ping", "param_ping", "ok", obj{"error": false, "arr": arr{1, 2}}),
			{"ev": "frames_for_ref", "event": "pong", "frames": arr{}},
			reply("ping", "ding", "ok", obj{"msg": "shutting down"}),
			{"ev": "close", "topic": "ping", "payload": obj{}, "state": "closed", "join_ref": same("J"),
				"frame": obj{"join_ref": same("J"), "ref": same("J"), "topic": "ping", "event": "phx_close", "payload": obj{}}},
			{"ev": "raw_reply", "connected": true, "channels": 0,
				"frame": obj{"join_ref": nil, "ref": anyValue, "topic": "ping", "event": "phx_reply", "payload": unmatched}},
		},
	}, {
		// Notes: "Client fault tolerance and error handling" (invalid event).
		script: "crash.mjs",
		want: []obj{
			join("ping", "ok", obj{}, same("J1")),
			{"ev": "channel_error", "topic": "ping", "payload": obj{"reason": "channel_crash"}, "state": "errored", "join_ref": same("J1"),
				"frame": obj{"join_ref": same("J1"), "ref": same("J1"), "topic": "ping", "event": "phx_error", "payload": obj{"reason": "channel_crash"}}},
			{"ev": "raw_reply",
				"frame": obj{"join_ref": nil, "ref": anyValue, "topic": "ping", "event": "phx_reply", "payload": unmatched}},
			{"ev": "push", "event": "ping", "state": "errored"},
			reply("ping", "invalid", "timeout", obj{}),
			join("ping", "ok", obj{}, differs("J1")),
			{"ev": "rejoin_delay", "ms": anyValue},
			reply("ping", "ping", "ok", pong),
			reply("ping", "ping:again", "ok", obj{"ping": "again"}),
			{"ev": "socket", "opens": 1, "closes": 0, "connected": true, "first_join_ref": same("J1"), "join_ref": differs("J1")},
		},
	}, {
		// Notes: "Topics" (ping:* and WildcardChannel).
		script: "wild.mjs",
		want: []obj{
			join("ping:wild", "ok", obj{}, anyValue),
			reply("ping:wild", "ping", "ok", pong),
			join("wild:1:2", "ok", obj{}, anyValue),
			reply("wild:1:2", "ping", "ok", pong),
			join("wild:1:3", "error", obj{}, anyValue),
			{"ev": "left", "topic": "wild:1:3", "channels": 0},
			join("wild:20:40", "ok", obj{}, anyValue),
			reply("wild:20:40", "ping", "ok", pong),
			join("wild:2:4:6", "error", obj{}, anyValue),
			{"ev": "left", "topic": "wild:2:4:6", "channels": 0},
		},
	}, {
		// RoomChannel: echo, shout to every subscriber, only room:lobby joins.
		script: "room.mjs",
		want: []obj{
			join("room:lobby", "ok", obj{}, anyValue),
			join("room:lobby", "ok", obj{}, anyValue),
			reply("room:lobby", "ping", "ok", obj{"hello": "world", "n": arr{1, obj{"deep": true}}}),
			{"ev": "push", "event": "shout"},
			reply("room:lobby", "ping", "ok", obj{}),
			reply("room:lobby", "ping", "ok", obj{}),
			{"ev": "shouts", "received": arr{
				obj{"who": "alice", "payload": obj{"body": "hi all", "from": "alice"}},
				obj{"who": "bob", "payload": obj{"body": "hi all", "from": "alice"}},
			}},
			join("room:other", "error", roomRefusal, anyValue),
		},
	}, {
		// Heartbeats every 100 ms keep the first connection up.
		script: "heartbeat.mjs",
		want: []obj{
			join("ping", "ok", obj{}, anyValue),
			heartbeat, heartbeat, heartbeat, heartbeat, heartbeat,
			{"ev": "ping_rtt", "ok": true},
			reply("ping", "ping", "ok", pong),
			{"ev": "socket", "opens": 1, "closes": 0, "errors": 0, "connected": true, "heartbeats_sent": true},
		},
	}}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.script, ".mjs"), func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "127.0.0.1:0")
			p := startNode(t, tt.script, srv.wsURL())
			for _, w := range tt.want {
				p.expect(w)
			}
			p.finish()
		})
	}
}

// heartbeat is the event heartbeat.mjs prints for each heartbeat reply:
// [null,ref,"phoenix","phx_reply",{"response":{},"status":"ok"}] for a ref
// the client sent.
var heartbeat = obj{"ev": "heartbeat", "sent_ref_matches": true,
	"frame": obj{"join_ref": nil, "ref": anyValue, "topic": "phoenix", "event": "phx_reply", "payload": obj{"status": "ok", "response": obj{}}}}

// roomRefusal is the reply to a join of another room: the generated join/3
// has no clause for it, so the join crashes, which Phoenix answers with
// {"reason":"join crashed"}.
var roomRefusal = obj{"reason": "join crashed"}

// TestNodeServerPush covers the notes' "PubSub" and "Pushing messages to a
// client" sections with two clients: a broadcast on "other" reaches neither,
// "test" on "ping" reaches both as [null,null,"ping","test",...], and the
// intercepted "request_ping" reaches each as send_ping with its own join_ref;
// each client's ping reply goes to that client only.
func TestNodeServerPush(t *testing.T) {
	testenv.NeedNode(t, nodeDir)
	t.Parallel()
	srv := startServer(t, "127.0.0.1:0")
	clients := []*nodeProc{startNode(t, "send_ping.mjs", srv.wsURL()), startNode(t, "send_ping.mjs", srv.wsURL())}
	for _, p := range clients {
		p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": same("J")})
		p.expect(obj{"ev": "ready"})
	}

	srv.broadcastHTTP(t, http.MethodGet, "other", "x", "")
	srv.broadcastHTTP(t, http.MethodPost, "ping", "test", `{"data":"test"}`)
	if err := srv.app.Socket.Broadcast(t.Context(), "ping", "request_ping", map[string]any{}); err != nil {
		t.Fatalf("Broadcast request_ping: %v", err)
	}

	for _, p := range clients {
		p.expect(obj{"ev": "message", "event": "test", "payload": obj{"data": "test"}})
		p.expect(obj{"ev": "frame", "join_ref": nil, "ref": nil, "topic": "ping", "event": "test", "payload": obj{"data": "test"}})
		p.expect(obj{"ev": "message", "event": "send_ping", "payload": obj{"from_node": "nonode@nohost"}})
		p.expect(obj{"ev": "frame", "join_ref": same("J"), "ref": nil, "topic": "ping", "event": "send_ping", "payload": obj{"from_node": "nonode@nohost"}})
		p.expect(obj{"ev": "reply", "topic": "ping", "event": "ping", "status": "ok", "resp": obj{"ping": "pong"}})
		p.expect(obj{"ev": "replies", "count": 2})
		p.finish()
	}
}

// TestNodeReconnect restarts the server under a joined client: the old server
// closes the connection with 1012, the client reconnects to a new server on
// the same address by itself and rejoins with a new join_ref. Not parallel:
// it reuses a port after closing it.
func TestNodeReconnect(t *testing.T) {
	testenv.NeedNode(t, nodeDir)
	first := startServer(t, "127.0.0.1:0")
	p := startNode(t, "reconnect.mjs", first.wsURL())
	p.expect(obj{"ev": "socket_open", "n": 1})
	p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": same("J1")})
	p.expect(obj{"ev": "reply", "topic": "ping", "event": "ping", "status": "ok", "resp": obj{"ping": "pong"}})
	p.expect(obj{"ev": "ready", "join_ref": same("J1")})

	first.stop(t)
	// The client errors its channel itself (source "transport"); a frame from
	// the server (phx_error or phx_close) would show up here instead.
	p.expect(obj{"ev": "channel_error", "topic": "ping", "payload": obj{"source": "transport", "reason": "connection_closed"}})
	p.expect(obj{"ev": "socket_close", "code": 1012})

	startServer(t, first.addr)
	p.expect(obj{"ev": "socket_open", "n": 2})
	p.expect(obj{"ev": "join", "topic": "ping", "status": "ok", "resp": obj{}, "join_ref": differs("J1")})
	p.expect(obj{"ev": "reply", "topic": "ping", "event": "ping", "status": "ok", "resp": obj{"ping": "pong"}})
	p.expect(obj{"ev": "socket", "opens": 2, "first_join_ref": same("J1"), "join_ref": differs("J1"), "connected": true})
	p.finish()
}

// TestNodePage runs the page itself (static/index.html and its
// static/user_socket.js, which imports /assets/phoenix.mjs) in Node as a
// browser would, and checks its console lines against the notes'.
func TestNodePage(t *testing.T) {
	testenv.NeedNode(t, nodeDir)
	t.Parallel()
	log := func(args ...any) obj { return obj{"ev": "console", "level": "log", "args": arr(args)} }
	logError := func(args ...any) obj { return obj{"ev": "console", "level": "error", "args": arr(args)} }

	tests := []struct {
		name, path string
		// rejoin: the page crashes its channel (the notes' invalid event)
		// and the client rejoins.
		rejoin bool
	}{
		{name: "notes", path: "/"},
		{name: "invalid", path: "/?invalid", rejoin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "127.0.0.1:0")
			p := startNode(t, "page.mjs", "http://"+srv.addr+tt.path)
			p.expect(obj{"ev": "page", "scripts": arr{"/user_socket.js"}})
			p.expect(obj{"ev": "websocket", "url": "ws://" + srv.addr + "/socket/websocket?token=undefined&vsn=2.0.0"})
			p.expect(log("send ping"))
			p.expect(log("send pong"))
			p.expect(log("Joined ping", obj{}))
			p.expect(log("receive", "pong"))
			p.expect(logError("param_ping error: ", obj{"reason": "You asked for this!"}))
			p.expect(log("param_ping ok: ", obj{"error": false, "arr": arr{1, 2}}))
			if tt.rejoin {
				p.expect(log("Joined ping", obj{}))
			}

			srv.broadcastHTTP(t, http.MethodGet, "ping", "request_ping", "")
			p.expect(log("ping requested", obj{"from_node": "nonode@nohost"}))
			p.expect(log("ping: ", "pong"))
			p.expect(logError("pong message timeout", obj{}))
			if tt.rejoin {
				p.expect(logError("invalid event timeout", obj{}))
			}
			p.closeStdin()
			p.finish()
		})
	}
}

// e2eServer is the example app served on a real 127.0.0.1 listener.
type e2eServer struct {
	app      *app
	addr     string
	ln       net.Listener
	srv      *http.Server
	stopOnce sync.Once
}

// startServer serves a new app on addr ("127.0.0.1:0" for any free port) until
// the test ends. The app's log is printed when the test fails.
func startServer(t *testing.T, addr string) *e2eServer {
	t.Helper()
	logs := new(syncBuffer)
	a := newApp(appConfig{
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AssetsDir: filepath.Join(nodeDir, "node_modules", "phoenix", "priv", "static"),
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	s := &e2eServer{app: a, addr: ln.Addr().String(), ln: ln, srv: &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("server %s log:\n%s", s.addr, logs)
		}
	})
	return s
}

// wsURL is the endpoint the phoenix.js Socket is given.
func (s *e2eServer) wsURL() string { return "ws://" + s.addr + "/socket" }

// stop takes the server down the way a restart does: the listener closes first
// (no new connection can reach this server), then the phx socket shuts down,
// which closes every connection with 1012, then the HTTP server closes.
func (s *e2eServer) stop(t *testing.T) {
	t.Helper()
	s.stopOnce.Do(func() {
		s.ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.app.Socket.Shutdown(ctx); err != nil {
			t.Errorf("Socket.Shutdown: %v", err)
		}
		s.srv.Close()
	})
}

// broadcastHTTP broadcasts through the app's /broadcast endpoint, with body as
// the JSON payload when not empty.
func (s *e2eServer) broadcastHTTP(t *testing.T, method, topic, event, body string) {
	t.Helper()
	url := fmt.Sprintf("http://%s/broadcast?topic=%s&event=%s", s.addr, topic, event)
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, url, res.StatusCode, msg)
	}
}

// nodeProc is a running e2e script and the events it printed.
type nodeProc struct {
	t      *testing.T
	script string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan obj // closed when stdout ends
	stderr *syncBuffer
	seen   []string // the lines read so far, for failure messages
	vars   map[string]any
	waited bool
}

// startNode runs `node e2e/<script> args...` in nodeDir. The process is
// killed when the test ends.
func startNode(t *testing.T, script string, args ...string) *nodeProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join("e2e", script)}, args...)...)
	cmd.Dir = nodeDir
	cmd.WaitDelay = 5 * time.Second
	p := &nodeProc{t: t, script: script, cmd: cmd, events: make(chan obj, 256), stderr: new(syncBuffer), vars: map[string]any{}}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var ev obj
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev == nil {
				ev = obj{"ev": "(not a JSON object)", "line": line}
			}
			ev[rawKey] = line
			p.events <- ev
		}
	}()
	t.Cleanup(func() {
		cancel()
		for range p.events {
		}
		p.wait()
	})
	return p
}

// rawKey holds an event's original line inside the decoded object.
const rawKey = "\x00raw"

// wait waits for the process to exit, once; stdout must have been read to
// its end.
func (p *nodeProc) wait() error {
	if p.waited {
		return nil
	}
	p.waited = true
	return p.cmd.Wait()
}

// next returns the next event, failing the test when the script ends or
// prints nothing for eventTimeout.
func (p *nodeProc) next(want obj) obj {
	p.t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-p.events:
		if !ok {
			err := p.wait()
			p.t.Fatalf("%s: output ended (exit: %v) while waiting for %s\n%s", p.script, err, show(want), p.report())
		}
		p.seen = append(p.seen, ev[rawKey].(string))
		delete(ev, rawKey)
		return ev
	case <-timer.C:
		p.t.Fatalf("%s: no event within %v while waiting for %s\n%s", p.script, eventTimeout, show(want), p.report())
	}
	panic("unreachable")
}

// expect reads the next event and checks it against want: every key of want
// must be in the event with an equal value (nested objects and arrays compare
// exactly); placeholders from same, differs and anyValue match as they say.
// Keys of the event that want does not list are not checked.
func (p *nodeProc) expect(want obj) obj {
	p.t.Helper()
	got := p.next(want)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := got[k]
		if !ok {
			p.t.Fatalf("%s: event %d has no %q: got %s, want %s\n%s", p.script, len(p.seen), k, p.seen[len(p.seen)-1], show(want), p.report())
		}
		if err := match(want[k], v, p.vars); err != nil {
			p.t.Fatalf("%s: event %d, %q: %v\ngot  %s\nwant %s\n%s", p.script, len(p.seen), k, err, p.seen[len(p.seen)-1], show(want), p.report())
		}
	}
	return got
}

// closeStdin tells a script that waits for its stdin to end (page.mjs) to finish.
func (p *nodeProc) closeStdin() {
	if err := p.stdin.Close(); err != nil {
		p.t.Fatalf("%s: close stdin: %v", p.script, err)
	}
}

// finish expects {"ev":"done"}, then the end of the output and exit status 0.
func (p *nodeProc) finish() {
	p.t.Helper()
	p.expect(obj{"ev": "done"})
	for ev := range p.events {
		p.seen = append(p.seen, ev[rawKey].(string))
		p.t.Errorf("%s: event after done: %s", p.script, ev[rawKey])
	}
	if err := p.wait(); err != nil {
		p.t.Fatalf("%s: %v\n%s", p.script, err, p.report())
	}
}

// report lists the events read so far and the script's stderr.
func (p *nodeProc) report() string {
	return fmt.Sprintf("events read:\n  %s\nstderr:\n%s", strings.Join(p.seen, "\n  "), p.stderr)
}

// placeholder is a want value that matches by rule rather than by equality.
type placeholder struct {
	kind string // "any", "same" or "differs"
	name string
}

// MarshalJSON renders the placeholder in failure messages.
func (p placeholder) MarshalJSON() ([]byte, error) {
	return json.Marshal("<" + strings.TrimSpace(p.kind+" "+p.name) + ">")
}

// anyValue matches any value, null included.
var anyValue = placeholder{kind: "any"}

// same matches a non-null value, which the first use of name remembers and
// later uses of name (in the same script's events) must equal.
func same(name string) placeholder { return placeholder{kind: "same", name: name} }

// differs matches a non-null value other than the one remembered by same(name).
func differs(name string) placeholder { return placeholder{kind: "differs", name: name} }

// match compares a want value (Go literals, placeholders allowed at any depth)
// with a value decoded from JSON.
func match(want, got any, vars map[string]any) error {
	switch w := want.(type) {
	case placeholder:
		switch w.kind {
		case "any":
			return nil
		case "same":
			if got == nil {
				return fmt.Errorf("got null, want a value (%s)", w.name)
			}
			if prev, ok := vars[w.name]; ok && !reflect.DeepEqual(prev, got) {
				return fmt.Errorf("got %s, want %s (the %s seen before)", show(got), show(prev), w.name)
			}
			vars[w.name] = got
			return nil
		case "differs":
			prev, ok := vars[w.name]
			if !ok {
				return fmt.Errorf("bad test: %s compared before it was seen", w.name)
			}
			if got == nil || reflect.DeepEqual(prev, got) {
				return fmt.Errorf("got %s, want a value other than %s (%s)", show(got), show(prev), w.name)
			}
			return nil
		}
		return fmt.Errorf("bad placeholder %q", w.kind)
	case obj:
		g, ok := got.(obj)
		if !ok {
			return fmt.Errorf("got %s, want an object", show(got))
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Errorf("unexpected key %q in %s", k, show(got))
			}
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("missing key %q in %s", k, show(got))
			}
			if err := match(wv, gv, vars); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	case arr:
		g, ok := got.(arr)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("got %s, want %s", show(got), show(want))
		}
		for i := range w {
			if err := match(w[i], g[i], vars); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case int:
		want = float64(w)
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("got %s, want %s", show(got), show(want))
	}
	return nil
}

// show renders a value as JSON for messages.
func show(v any) string {
	if o, ok := v.(obj); ok {
		c := make(obj, len(o))
		for k, v := range o {
			if k != rawKey {
				c[k] = v
			}
		}
		v = c
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
