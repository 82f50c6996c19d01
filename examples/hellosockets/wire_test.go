package main

// Raw-frame end-to-end tests: every exchange of the hello-sockets notes (and
// the golden transcript of PROTOCOL.md §15) replayed over a real WebSocket,
// sending the frames exactly as wscat sends them and comparing each reply,
// byte for byte, with the frame Phoenix sends.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wireWait bounds every wait for a frame, a close or an HTTP answer.
const wireWait = 10 * time.Second

// wireStep is one line of a transcript. Exactly one of its fields (besides
// conn) is set.
type wireStep struct {
	conn      int            // which connection of the case (0 unless wireOn says)
	send      string         // text frame to send, as typed into wscat
	want      string         // exact text frame expected next
	quiet     bool           // no frame may be pending: a heartbeat's reply must come next
	bcast     *wireBcastSpec // server-side broadcast
	closeCode int            // the server must close the connection with this code, no frame first
}

// wireBcastSpec is a broadcast made by the server: with app.Socket.Broadcast when
// method is "", else with an HTTP request to /broadcast (the notes' iex
// Endpoint.broadcast), which must answer 200.
type wireBcastSpec struct {
	method, topic, event string
	payload              string // JSON object
}

func wireSend(frame string) wireStep { return wireStep{send: frame} }
func wireWant(frame string) wireStep { return wireStep{want: frame} }
func wireQuiet() wireStep            { return wireStep{quiet: true} }
func wireClose(code int) wireStep    { return wireStep{closeCode: code} }

// wireBcast broadcasts with app.Socket.Broadcast.
func wireBcast(topic, event, payload string) wireStep {
	return wireStep{bcast: &wireBcastSpec{topic: topic, event: event, payload: payload}}
}

// wireHTTP broadcasts through the app's /broadcast endpoint.
func wireHTTP(method, topic, event, payload string) wireStep {
	return wireStep{bcast: &wireBcastSpec{method: method, topic: topic, event: event, payload: payload}}
}

// wireOn runs s on connection n of the case.
func wireOn(n int, s wireStep) wireStep { s.conn = n; return s }

// wireCase is one transcript over conns connections to
// /socket/websocket?<query>.
type wireCase struct {
	name  string
	query string // "" for no vsn at all (V1)
	conns int    // 0 means 1
	steps []wireStep
}

// wireServer starts the app on 127.0.0.1.
func wireServer(t *testing.T) (*app, *httptest.Server) {
	t.Helper()
	a := newApp(appConfig{})
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	return a, srv
}

// wireURL is the socket URL of srv with query.
func wireURL(srv *httptest.Server, query string) string {
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket"
	if query != "" {
		u += "?" + query
	}
	return u
}

// wireDial opens a WebSocket to url; it is closed at the end of the test.
func wireDial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wireWait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// wireRead returns the next frame, or the error that ended the connection.
func wireRead(c *websocket.Conn) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wireWait)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		return "", err
	}
	if typ != websocket.MessageText {
		return "", fmt.Errorf("got a binary frame %q, want text", data)
	}
	return string(data), nil
}

// wireWrite sends one text frame.
func wireWrite(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wireWait)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("send %s: %v", frame, err)
	}
}

// wireHeartbeat returns a heartbeat frame with ref n and the reply Phoenix
// sends to it, in the frame format of the connection.
func wireHeartbeat(v1 bool, n int) (send, reply string) {
	if v1 {
		return fmt.Sprintf(`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"hb%d"}`, n),
			fmt.Sprintf(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"hb%d","topic":"phoenix"}`, n)
	}
	return fmt.Sprintf(`[null,"hb%d","phoenix","heartbeat",{}]`, n),
		fmt.Sprintf(`[null,"hb%d","phoenix","phx_reply",{"response":{},"status":"ok"}]`, n)
}

// wireBroadcast performs b against a and srv.
func wireBroadcast(t *testing.T, a *app, srv *httptest.Server, b *wireBcastSpec) {
	t.Helper()
	if b.method == "" {
		ctx, cancel := context.WithTimeout(context.Background(), wireWait)
		defer cancel()
		if err := a.Socket.Broadcast(ctx, b.topic, b.event, json.RawMessage(b.payload)); err != nil {
			t.Fatalf("Socket.Broadcast(%q, %q, %s): %v", b.topic, b.event, b.payload, err)
		}
		return
	}
	status, body := wireHTTPBroadcast(t, srv, b.method, b.topic, b.event, b.payload)
	if status != http.StatusOK {
		t.Fatalf("%s /broadcast?topic=%s&event=%s: HTTP %d %q, want 200", b.method, b.topic, b.event, status, body)
	}
}

// wireHTTPBroadcast calls /broadcast and returns the status and body.
func wireHTTPBroadcast(t *testing.T, srv *httptest.Server, method, topic, event, payload string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wireWait)
	defer cancel()
	u := srv.URL + "/broadcast?topic=" + topic + "&event=" + event
	var body io.Reader
	if payload != "" {
		body = strings.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if payload != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wireRun replays tc against a fresh app.
func wireRun(t *testing.T, tc wireCase) {
	a, srv := wireServer(t)
	n := max(tc.conns, 1)
	v1 := !strings.Contains(tc.query, "vsn=2")
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = wireDial(t, wireURL(srv, tc.query))
	}
	hb := 0
	for i, s := range tc.steps {
		c := conns[s.conn]
		where := fmt.Sprintf("step %d (conn %d)", i+1, s.conn)
		switch {
		case s.send != "":
			wireWrite(t, c, s.send)
		case s.want != "":
			got, err := wireRead(c)
			if err != nil {
				t.Fatalf("%s: want %s\n got no frame: %v (close status %d)", where, s.want, err, websocket.CloseStatus(err))
			}
			if got != s.want {
				t.Fatalf("%s:\nwant %s\n got %s", where, s.want, got)
			}
		case s.quiet:
			hb++
			out, reply := wireHeartbeat(v1, hb)
			wireWrite(t, c, out)
			got, err := wireRead(c)
			if err != nil {
				t.Fatalf("%s: want no frame before the heartbeat reply %s\n got no frame at all: %v", where, reply, err)
			}
			if got != reply {
				t.Fatalf("%s: want no frame (next is the heartbeat reply %s)\n got %s", where, reply, got)
			}
		case s.bcast != nil:
			wireBroadcast(t, a, srv, s.bcast)
		case s.closeCode != 0:
			got, err := wireRead(c)
			if err == nil {
				t.Fatalf("%s: want close %d and no frame first\n got frame %s", where, s.closeCode, got)
			}
			if code := websocket.CloseStatus(err); int(code) != s.closeCode {
				t.Fatalf("%s: want close %d, got %v (close status %d)", where, s.closeCode, err, code)
			}
		default:
			t.Fatalf("%s: empty step", where)
		}
	}
}

// Frames Phoenix sends, shared by many cases.
const (
	wireJoinOK   = `["1","1","ping","phx_reply",{"response":{},"status":"ok"}]`
	wirePong2    = `["1","2","ping","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`
	wireNotesJn  = `["1", "1", "ping", "phx_join", {}]`
	wireNotesPng = `["1", "2", "ping", "ping", {}]`
)

func TestWireNotes(t *testing.T) {
	cases := []wireCase{
		{name: "ch3 join and ping", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(wireNotesPng), wireWant(wirePong2),
			wireQuiet(),
		}},
		{name: "ch3 error, unmatched topic, rejoin", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(`["1", "2", "ping", "ping2", {}]`),
			// Phoenix >= 1.8.10 (J-13); the notes show {} from an older Phoenix.
			wireWant(`["1","1","ping","phx_error",{"reason":"channel_crash"}]`),
			wireSend(wireNotesPng),
			wireWant(`[null,"2","ping","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`),
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(wireNotesPng), wireWant(wirePong2),
			wireQuiet(), // the connection stays alive
		}},
		{name: "ch3 crash closes 1011", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(`crash`), wireClose(1011),
		}},
		{name: "topics ping:wild", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(`["1", "1", "ping:wild", "phx_join", {}]`),
			wireWant(`["1","1","ping:wild","phx_reply",{"response":{},"status":"ok"}]`),
			wireSend(`["1", "1", "ping:wild", "ping", {}]`),
			wireWant(`["1","1","ping:wild","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`),
		}},
		{name: "topics wild:a:b", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(`["1", "1", "wild:1:2", "phx_join", {}]`),
			wireWant(`["1","1","wild:1:2","phx_reply",{"response":{},"status":"ok"}]`),
			wireSend(`["1", "2", "wild:1:2", "ping", {}]`),
			wireWant(`["1","2","wild:1:2","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`),
			wireSend(`["1", "3", "wild:1:3", "phx_join", {}]`),
			wireWant(`["1","3","wild:1:3","phx_reply",{"response":{},"status":"error"}]`),
			wireSend(`["1", "4", "wild:20:40", "phx_join", {}]`),
			wireWant(`["1","4","wild:20:40","phx_reply",{"response":{},"status":"ok"}]`),
			wireSend(`["1", "5", "wild:2:4:6", "phx_join", {}]`),
			wireWant(`["1","5","wild:2:4:6","phx_reply",{"response":{},"status":"error"}]`),
			// String.to_integer/1 raises on non-integers: the join crashes.
			wireSend(`["1", "6", "wild:a:b", "phx_join", {}]`),
			wireWant(`["1","6","wild:a:b","phx_reply",{"response":{"reason":"join crashed"},"status":"error"}]`),
			// A refused join leaves the topic unjoined.
			wireSend(`["1", "7", "wild:1:3", "ping", {}]`),
			wireWant(`[null,"7","wild:1:3","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`),
		}},
		{name: "pubsub broadcast reaches ping only", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireBcast("ping", "test", `{"data":"test"}`),
			wireWant(`[null,null,"ping","test",{"data":"test"}]`),
			wireBcast("other", "x", `{}`),
			wireQuiet(),
			// Broadcasts from one publisher keep their order: "other" would
			// have come before this one.
			wireBcast("ping", "after", `{}`),
			wireWant(`[null,null,"ping","after",{}]`),
		}},
		{name: "ack_phrase", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(`["1", "2", "ping", "ping", {"ack_phrase": "hoorays..!"}]`),
			wireWant(`["1","2","ping","phx_reply",{"response":{"ping":"hoorays..!"},"status":"ok"}]`),
			wireSend(wireNotesPng), wireWant(wirePong2),
		}},
		{name: "event pattern ping:flows shows", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(`["1", "2", "ping", "ping:flows shows", {}]`),
			wireWant(`["1","2","ping","phx_reply",{"response":{"ping":"flows shows"},"status":"ok"}]`),
		}},
		{name: "pong noreply then ding stops", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(`["1", "2", "ping", "pong", {}]`),
			wireQuiet(),
			// Same channel, so in order: had pong replied, its reply would
			// come before ding's.
			wireSend(`["1", "2", "ping", "ding", {}]`),
			wireWant(`["1","2","ping","phx_reply",{"response":{"msg":"shutting down"},"status":"ok"}]`),
			wireWant(`["1","1","ping","phx_close",{}]`),
			wireSend(wireNotesPng),
			wireWant(`[null,"2","ping","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`),
		}},
		{name: "request_ping intercepted as send_ping", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireBcast("ping", "request_ping", `{}`),
			wireWant(`["1",null,"ping","send_ping",{"from_node":"nonode@nohost"}]`),
			wireHTTP(http.MethodGet, "ping", "request_ping", ""),
			wireWant(`["1",null,"ping","send_ping",{"from_node":"nonode@nohost"}]`),
		}},
		{name: "param_ping", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			wireSend(`["1","3","ping","param_ping",{"error":true}]`),
			wireWant(`["1","3","ping","phx_reply",{"response":{"reason":"You asked for this!"},"status":"error"}]`),
			wireSend(`["1","4","ping","param_ping",{"arr":[1,2],"error":false}]`),
			wireWant(`["1","4","ping","phx_reply",{"response":{"arr":[1,2],"error":false},"status":"ok"}]`),
		}},
		{name: "room lobby ping and shout to two connections", query: "vsn=2.0.0", conns: 2, steps: []wireStep{
			wireSend(`["1", "1", "room:lobby", "phx_join", {}]`),
			wireWant(`["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]`),
			wireOn(1, wireSend(`["3", "3", "room:lobby", "phx_join", {}]`)),
			wireOn(1, wireWant(`["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}]`)),
			wireSend(`["1", "2", "room:lobby", "ping", {"body":"hi"}]`),
			wireWant(`["1","2","room:lobby","phx_reply",{"response":{"body":"hi"},"status":"ok"}]`),
			wireSend(`["1", "3", "room:lobby", "shout", {"body":"hello all"}]`),
			wireWant(`[null,null,"room:lobby","shout",{"body":"hello all"}]`),
			wireOn(1, wireWant(`[null,null,"room:lobby","shout",{"body":"hello all"}]`)),
			// shout is noreply: the next frame for the shouter is this reply.
			wireSend(`["1", "4", "room:lobby", "ping", {}]`),
			wireWant(`["1","4","room:lobby","phx_reply",{"response":{},"status":"ok"}]`),
			wireOn(1, wireQuiet()),
		}},
		{name: "room other join crashes", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(`["1", "1", "room:other", "phx_join", {}]`),
			wireWant(`["1","1","room:other","phx_reply",{"response":{"reason":"join crashed"},"status":"error"}]`),
			wireQuiet(),
		}},
		// Phoenix decodes payloads and re-encodes them with Jason: whitespace
		// goes and small maps come out with sorted keys (F-6). Clients cannot
		// tell, but the bytes differ.
		{name: "payload re-encoding whitespace", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(`["1", "1", "room:lobby", "phx_join", {}]`),
			wireWant(`["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]`),
			wireSend(`["1", "2", "room:lobby", "ping", {"body": "hi"}]`),
			wireWant(`["1","2","room:lobby","phx_reply",{"response":{"body":"hi"},"status":"ok"}]`),
		}},
		{name: "payload re-encoding whitespace broadcast", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(`["1", "1", "room:lobby", "phx_join", {}]`),
			wireWant(`["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]`),
			wireHTTP(http.MethodPost, "room:lobby", "news", `{"data": "test"}`),
			wireWant(`[null,null,"room:lobby","news",{"data":"test"}]`),
		}},
		{name: "payload re-encoding key order", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(wireNotesJn), wireWant(wireJoinOK),
			// JSON.stringify({error: false, arr: [1, 2]}), as phoenix.js sends it.
			wireSend(`["1","4","ping","param_ping",{"error":false,"arr":[1,2]}]`),
			wireWant(`["1","4","ping","phx_reply",{"response":{"arr":[1,2],"error":false},"status":"ok"}]`),
		}},
		{name: "golden transcript PROTOCOL.md 15", query: "vsn=2.0.0", steps: []wireStep{
			wireSend(`["1","1","ping","phx_join",{}]`), wireWant(wireJoinOK),
			wireSend(`[null,"2","phoenix","heartbeat",{}]`),
			wireWant(`[null,"2","phoenix","phx_reply",{"response":{},"status":"ok"}]`),
			wireSend(`["1","3","ping","ping",{}]`),
			wireWant(`["1","3","ping","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`),
			wireHTTP(http.MethodPost, "ping", "test", `{"data":"x"}`),
			wireWant(`[null,null,"ping","test",{"data":"x"}]`),
			wireBcast("ping", "request_ping", `{}`),
			wireWant(`["1",null,"ping","send_ping",{"from_node":"nonode@nohost"}]`),
			wireSend(`["9","9","ping","phx_join",{}]`),
			wireWant(`["9","9","ping","phx_reply",{"response":{},"status":"ok"}]`),
			wireWant(`["1","1","ping","phx_close",{}]`),
			wireSend(`["1","4","ping","ping",{}]`), // stale join_ref: dropped
			wireQuiet(),
			wireSend(`["9","5","ping","boom",{}]`),
			wireWant(`["9","9","ping","phx_error",{"reason":"channel_crash"}]`),
			wireSend(`["9","6","ping","ping",{}]`),
			wireWant(`[null,"6","ping","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`),
			wireSend(`["7","7","nope","phx_join",{}]`),
			wireWant(`[null,"7","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`),
			wireSend(`["8","8","wild:1:3","phx_join",{}]`),
			wireWant(`["8","8","wild:1:3","phx_reply",{"response":{},"status":"error"}]`),
			wireSend(`["10","10","ping","phx_join",{}]`),
			wireWant(`["10","10","ping","phx_reply",{"response":{},"status":"ok"}]`),
			wireSend(`["10","11","ping","phx_leave",{}]`),
			wireWant(`["10","11","ping","phx_reply",{"response":{},"status":"ok"}]`),
			wireWant(`["10","10","ping","phx_close",{}]`),
			wireSend(`crash`),
			wireClose(1011),
		}},
	}
	for _, q := range []string{"", "vsn=1.0.0"} {
		name := "V1 " + q
		if q == "" {
			name = "V1 no vsn"
		}
		cases = append(cases, wireCase{name: name, query: q, steps: []wireStep{
			wireSend(`{"topic":"ping","event":"phx_join","payload":{},"ref":"1"}`),
			wireWant(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"ping"}`),
			wireSend(`{"topic":"ping","event":"ping","payload":{},"ref":"2"}`),
			wireWant(`{"event":"phx_reply","payload":{"response":{"ping":"pong"},"status":"ok"},"ref":"2","topic":"ping"}`),
			wireBcast("ping", "test", `{"data":"test"}`),
			wireWant(`{"event":"test","payload":{"data":"test"},"ref":null,"topic":"ping"}`),
			wireBcast("other", "x", `{}`),
			wireQuiet(),
			wireBcast("ping", "request_ping", `{}`),
			wireWant(`{"event":"send_ping","payload":{"from_node":"nonode@nohost"},"ref":null,"topic":"ping"}`),
			wireSend(`{"topic":"ping","event":"ping2","payload":{},"ref":"3"}`),
			wireWant(`{"event":"phx_error","payload":{"reason":"channel_crash"},"ref":"1","topic":"ping"}`),
			wireSend(`{"topic":"ping","event":"ping","payload":{},"ref":"4"}`),
			wireWant(`{"event":"phx_reply","payload":{"response":{"reason":"unmatched topic"},"status":"error"},"ref":"4","topic":"ping"}`),
			// A later V1 client also sends join_ref; it is never echoed.
			wireSend(`{"topic":"ping","event":"phx_join","payload":{},"ref":"5","join_ref":"5"}`),
			wireWant(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"5","topic":"ping"}`),
			wireSend(`{"topic":"ping","event":"ding","payload":{},"ref":"6","join_ref":"5"}`),
			wireWant(`{"event":"phx_reply","payload":{"response":{"msg":"shutting down"},"status":"ok"},"ref":"6","topic":"ping"}`),
			wireWant(`{"event":"phx_close","payload":{},"ref":"5","topic":"ping"}`),
			wireSend(`["1","7","ping","phx_join",{}]`), // a V2 frame is no V1 object
			wireClose(1011),
		}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wireRun(t, tc) })
	}
}

// TestWireJoinThenBroadcast: Phoenix subscribes a channel to its topic
// before it sends the join reply (J-5), so a broadcast made as soon as the
// reply arrives must reach the client. A lost broadcast is a race, hence the
// many joins on several connections; a heartbeat after each broadcast shows
// the loss at once.
func TestWireJoinThenBroadcast(t *testing.T) {
	a, srv := wireServer(t)
	const conns, joins = 8, 200
	errs := make(chan error, conns)
	for i := range conns {
		c := wireDial(t, wireURL(srv, "vsn=2.0.0"))
		go func() {
			for n := range joins {
				if err := wireJoinThenBroadcast(a, c, fmt.Sprintf("ping:%d-%d", i, n), n+1); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// wireJoinThenBroadcast joins topic with ref n, broadcasts to it as soon as
// the join reply is read, and checks the broadcast is the next frame.
func wireJoinThenBroadcast(a *app, c *websocket.Conn, topic string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), wireWait)
	defer cancel()
	ref := fmt.Sprintf(`"%d"`, n)
	if err := c.Write(ctx, websocket.MessageText, []byte(`[`+ref+`,`+ref+`,"`+topic+`","phx_join",{}]`)); err != nil {
		return err
	}
	wantJoin := `[` + ref + `,` + ref + `,"` + topic + `","phx_reply",{"response":{},"status":"ok"}]`
	if got, err := wireRead(c); got != wantJoin {
		return fmt.Errorf("join %s: got %q (%v), want %s", topic, got, err, wantJoin)
	}
	if err := a.Socket.Broadcast(ctx, topic, "test", json.RawMessage(`{"data":"test"}`)); err != nil {
		return err
	}
	hb, _ := wireHeartbeat(false, n)
	if err := c.Write(ctx, websocket.MessageText, []byte(hb)); err != nil {
		return err
	}
	wantB := `[null,null,"` + topic + `","test",{"data":"test"}]`
	if got, err := wireRead(c); got != wantB {
		return fmt.Errorf("broadcast made right after the join reply of %s (join %d on this connection) was lost:\nwant %s\n got %s (%v)", topic, n, wantB, got, err)
	}
	_, err := wireRead(c) // the heartbeat reply
	return err
}
