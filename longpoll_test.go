package phx_test

// The LongPoll transport (PROTOCOL.md §9) as raw HTTP exchanges, with the
// exact bodies Phoenix sends. The helpers are in longpoll_helpers_test.go.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

const (
	lpJoin1  = `["1","1","room:1","phx_join",{}]`
	lpJoined = `["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`
)

// lpPong is the reply to ["1",ref,"room:1","ping",{}].
func lpPong(ref string) string {
	return `["1","` + ref + `","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`
}

// lpPing is a ping push on room:1 with ref.
func lpPing(ref string) string { return `["1","` + ref + `","room:1","ping",{}]` }

// LP-1..LP-8: the example exchange of §9, with the session token in the
// query (phoenix.js ≤ 1.8) and in the X-Phoenix-LongPoll-Token header (1.9).
func TestLongPollExchange(t *testing.T) {
	t.Parallel()
	for _, inHeader := range []bool{false, true} {
		name := "token in query"
		if inHeader {
			name = "token in header"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, lpOpts(nil))
			c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
			c.inHeader = inHeader

			// LP-5: nothing to send: held for the window, then 204 with the
			// token echoed unchanged.
			start := time.Now()
			r := c.get()
			if held := time.Since(start); held < lpWindow {
				t.Errorf("the empty poll answered after %v, want it held for the window (%v)", held, lpWindow)
			}
			assert.Frame(t, "empty poll", lpBody(204, c.token), r.body)

			// LP-6: one ndjson POST with two frames; LP-8: the replies come
			// back double-encoded, in order.
			c.postOK(lpJoin1, lpPing("2"))
			c.expect(lpJoined, lpPong("2"))

			// Strings that JSON escapes, HTML characters and non-ASCII text
			// survive both encodings byte for byte.
			c.postOK(`["1","3","room:1","echo",{"s":"a \"q\" \\ <&> é\n"}]`)
			c.expect(`["1","3","room:1","phx_reply",{"response":{"s":"a \"q\" \\ <&> é\n"},"status":"ok"}]`)

			// A broadcast and a push made by the server wait for the next poll.
			if err := ts.sock.Broadcast(context.Background(), "room:1", "news", map[string]int{"n": 1}); err != nil {
				t.Fatal(err)
			}
			c.postOK(`["1","4","room:1","push",{"p":true}]`)
			c.expect(`[null,null,"room:1","news",{"n":1}]`, `["1",null,"room:1","pushed",{"p":true}]`)

			// Heartbeats work, though phoenix.js sends none over LongPoll.
			c.postOK(`[null,"5","phoenix","heartbeat",{}]`)
			c.expect(`[null,"5","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
		})
	}
}

// LP-3: the header wins over the query parameter, as in Phoenix.
func TestLongPollTokenPrecedence(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(nil))
	c := lpOpen(t, lpURL(ts), "vsn=2.0.0")

	h := http.Header{"X-Phoenix-Longpoll-Token": {c.token}}
	r := lpDo(t, http.MethodGet, lpURL(ts)+"?vsn=2.0.0&token=garbage", h, "", "")
	assert.Frame(t, "valid header, garbage query", lpBody(204, c.token), r.body)

	h = http.Header{"X-Phoenix-Longpoll-Token": {"garbage"}}
	r = lpDo(t, http.MethodGet, lpURL(ts)+"?vsn=2.0.0&token="+c.token, h, "", "")
	lpNewSession(t, "garbage header, valid query", r, c.token)

	// The app's own params come first: phoenix.js 1.8 appends the session
	// token to the endpoint URL, which already has the socket params, so a
	// page with params {token: userToken} (Phoenix's generated user_socket.js)
	// polls ?token=<user token>&vsn=2.0.0&token=<session token>. Plug keeps
	// the last value of a repeated parameter.
	for _, q := range []string{"token=undefined&vsn=2.0.0&token=", "token=user-token&vsn=2.0.0&token="} {
		r = lpDo(t, http.MethodGet, lpURL(ts)+"?"+q+url.QueryEscape(c.token), nil, "", "")
		assert.Frame(t, "poll ?"+q+"<session token>", lpBody(204, c.token), r.body)
		r = lpDo(t, http.MethodPost, lpURL(ts)+"?"+q+url.QueryEscape(c.token), nil, "application/x-ndjson", `[null,"hb","phoenix","heartbeat",{}]`)
		assert.Frame(t, "POST ?"+q+"<session token>", `{"status":200}`, r.body)
		c.expect(`[null,"hb","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
	}
}

// LP-4: a GET without a token runs Connect with the query parameters and
// the X-Phoenix-AuthToken header: a new session is {"status":410} with a
// token and no messages, a refusal {"status":403}.
func TestLongPollNewSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		ok          bool
	}{
		{"vsn 2.0.0", "vsn=2.0.0", true},
		{"no vsn is V1", "", true},
		{"vsn 1.0.0", "vsn=1.0.0", true},
		{"vsn 2.0.1-rc", "vsn=2.0.1-rc.1", true},
		{"vsn 3.0.0", "vsn=3.0.0", false},
		{"vsn not a version", "vsn=abc", false},
		{"Connect refuses", "vsn=2.0.0&refuse=1", false},
		{"Connect refuses, no vsn", "refuse=yes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, lpOpts(&phx.SocketOptions{
				Connect: func(_ context.Context, c *phx.Conn) error {
					if c.Params.Get("refuse") != "" {
						return errors.New("refused by the test")
					}
					return nil
				},
			}))
			r := lpDo(t, http.MethodGet, lpURL(ts)+"?"+tt.query, nil, "", "")
			if !tt.ok {
				assert.Frame(t, "refused connect", `{"status":403}`, r.body)
				assert.Equal(t, "clients", 0, ts.sock.NumClients())
				return
			}
			lpNewSession(t, "new session", r, "")
			assert.Equal(t, "clients", 1, ts.sock.NumClients())
		})
	}
}

// W-10, LP-4: Connect sees the LongPoll request as it sees a handshake.
func TestLongPollConnInfo(t *testing.T) {
	t.Parallel()
	conns := make(chan phx.Conn, 1)
	ts, _ := roomServer(t, lpOpts(&phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			conns <- *c // a copy: the fields are only Connect's to read
			return nil
		},
	}))
	h := http.Header{"X-Phoenix-Authtoken": {"s3cret+/token="}, "X-Custom": {"yes"}}
	r := lpDo(t, http.MethodGet, lpURL(ts)+"?token=undefined&user=7&vsn=2.0.0", h, "", "")
	lpNewSession(t, "new session", r, "")
	c := <-conns
	assert.Equal(t, "AuthToken", "s3cret+/token=", c.AuthToken)
	assert.Equal(t, "Transport", "longpoll", c.Transport)
	assert.Equal(t, "Params", map[string][]string{"token": {"undefined"}, "user": {"7"}, "vsn": {"2.0.0"}}, map[string][]string(c.Params))
	assert.Equal(t, "Header X-Custom", "yes", c.Header.Get("X-Custom"))
	assert.True(t, "RemoteAddr on 127.0.0.1: "+c.RemoteAddr, strings.HasPrefix(c.RemoteAddr, "127.0.0.1:"))
}

// LP-4, LP-7: a token that is missing, garbage, forged, tampered with,
// expired, or names a session that ended: a GET makes a new session (410
// with a new token), a POST gets {"status":410} without one.
func TestLongPollBadToken(t *testing.T) {
	t.Parallel()
	secret := []byte("longpoll test secret")
	// A long window: the live session must outlive the subtests unpolled.
	ts, _ := roomServer(t, lpOpts(&phx.SocketOptions{Secret: secret, LongPollWindow: time.Minute}))
	other, _ := roomServer(t, lpOpts(&phx.SocketOptions{Secret: []byte("another secret")}))

	live := lpOpen(t, lpURL(ts), "vsn=2.0.0")
	// The control: a token made the way lpForge makes them, dated now, is
	// accepted; so the expired one below fails for its date alone.
	fresh := &lpConn{t: t, base: lpURL(ts), query: "vsn=2.0.0", token: lpForge(t, secret, live.token, time.Now())}
	assert.Frame(t, "POST with a freshly forged token (if this fails, lpForge no longer matches the token format)",
		`{"status":200}`, fresh.post(lpJoin1).body)
	fresh.expect(lpJoined)

	dead := lpOpen(t, lpURL(ts), "vsn=2.0.0")
	assert.Frame(t, "crash", `{"status":408}`, dead.post(`[oops`).body)

	tampered := []byte(live.token)
	i := strings.IndexByte(live.token, '.') + 1
	tampered[i] ^= 1
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "garbage"},
		{"dots", "a.b.c.d"},
		{"signed by another secret", lpOpen(t, lpURL(other), "vsn=2.0.0").token},
		{"tampered session id", string(tampered)},
		{"MAC cut off", live.token[:strings.LastIndexByte(live.token, '.')]},
		{"expired (15 days old)", lpForge(t, secret, live.token, time.Now().Add(-15*24*time.Hour))},
		{"session ended", dead.token},
	}
	t.Run("tokens", func(t *testing.T) { // returns once its parallel subtests are done
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				for _, inHeader := range []bool{false, true} {
					c := &lpConn{t: t, base: lpURL(ts), query: "vsn=2.0.0", token: tt.token, inHeader: inHeader}
					assert.Frame(t, "POST", `{"status":410}`, c.post(lpJoin1).body)
					lpNewSession(t, "GET", c.get(), tt.token)
				}
			})
		}
	})
	// The live session was never disturbed.
	live.postOK(lpPing("2"))
	live.expect(lpPong("2"))
}

// LP-1, LP-2: the preflight, the other methods, and the headers of every
// answer.
func TestLongPollMethods(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(nil))
	t.Run("OPTIONS from a foreign origin", func(t *testing.T) {
		t.Parallel()
		// Phoenix checks the origin before it answers anything, preflights included.
		req := lpRequest(t, http.MethodOptions, lpURL(ts)+"?vsn=2.0.0", "")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Origin", "http://elsewhere.example")
		code, _, body := lpSend(t, req)
		assert.Equal(t, "HTTP status", http.StatusOK, code)
		assert.Equal(t, "body", `{"status":403}`, body)
	})
	t.Run("OPTIONS", func(t *testing.T) {
		t.Parallel()
		req := lpRequest(t, http.MethodOptions, lpURL(ts)+"?vsn=2.0.0", "")
		req.Header.Add("Access-Control-Request-Headers", "x-phoenix-longpoll-token")
		req.Header.Add("Access-Control-Request-Headers", "content-type")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Origin", ts.srv.URL) // a page of the socket's own host
		code, h, body := lpSend(t, req)
		assert.Equal(t, "HTTP status", http.StatusOK, code)
		assert.Equal(t, "body", "", body)
		assert.Equal(t, "access-control-allow-origin", []string{"*"}, h.Values("Access-Control-Allow-Origin"))
		assert.Equal(t, "access-control-allow-headers", []string{"x-phoenix-longpoll-token, content-type"}, h.Values("Access-Control-Allow-Headers"))
		assert.Equal(t, "access-control-allow-methods", []string{"get, post, options"}, h.Values("Access-Control-Allow-Methods"))
		assert.Equal(t, "access-control-max-age", []string{"3600"}, h.Values("Access-Control-Max-Age"))
	})
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			code, h, body := lpSend(t, lpRequest(t, method, lpURL(ts)+"?vsn=2.0.0", "[]"))
			assert.Equal(t, "HTTP status", http.StatusBadRequest, code)
			assert.Equal(t, "body", "", body)
			assert.Equal(t, "access-control-allow-origin", []string{"*"}, h.Values("Access-Control-Allow-Origin"))
		})
	}
	// lpDo checks the headers of every JSON answer; these are the kinds of
	// answer the other tests do not all reach.
	t.Run("JSON answers", func(t *testing.T) {
		t.Parallel()
		lpDo(t, http.MethodGet, lpURL(ts)+"?vsn=9.0.0", nil, "", "")
		lpDo(t, http.MethodPost, lpURL(ts)+"?vsn=2.0.0&token=x", nil, "application/x-ndjson", lpJoin1)
		c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
		c.get()
		c.postOK(lpJoin1)
		c.expect(lpJoined)
	})
}

// LP-6: a line that does not start with "[" is a base64 binary frame; it
// reaches HandleIn as a binary payload, in order with the text lines.
func TestLongPollBinary(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(nil))
	c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
	push := func(ref, event string, payload []byte) string {
		b := []byte{0, 1, byte(len(ref)), 6, byte(len(event))}
		b = append(b, "1"+ref+"room:1"+event...)
		return base64.StdEncoding.EncodeToString(append(b, payload...))
	}
	c.postOK(lpJoin1, push("2", "binary", []byte{0, 0xff, 0x10, '\n'}), lpPing("3"), push("4", "size", make([]byte, 3000)))
	c.expect(lpJoined,
		`["1","2","room:1","phx_reply",{"response":{"binary":true,"hex":"00ff100a"},"status":"ok"}]`,
		lpPong("3"),
		`["1","4","room:1","phx_reply",{"response":{"n":3000},"status":"ok"}]`)
}

// LP-6 (CVE-2026-32689 hardening): only the first 100 lines of a POST are
// read; the rest are ignored.
func TestLongPollBatchCap(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(nil))
	c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
	c.postOK(lpJoin1)
	c.expect(lpJoined)
	lines := make([]string, 150)
	want := make([]string, 100)
	for i := range lines {
		lines[i] = lpPing(fmt.Sprint(i + 1))
		if i < 100 {
			want[i] = lpPong(fmt.Sprint(i + 1))
		}
	}
	c.postOK(lines...)
	c.expect(want...)
	// Lines 101 to 150 were never handled: the next reply is the one to a
	// later push.
	c.postOK(lpPing("after"))
	c.expect(lpPong("after"))
}

// M-1, LP-6: a frame the session cannot decode ends the session (Phoenix's
// session crashes); the POST answers {"status":408} (at once; Phoenix after
// the window), the channels terminate, and the token is dead.
func TestLongPollCrashingFrame(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line string }{
		{"not JSON", `[oops`},
		{"four elements", `["1","9","room:1","ping"]`},
		{"binary kind 9", base64.StdEncoding.EncodeToString([]byte{9, 0, 0, 0, 0})},
		{"binary truncated", base64.StdEncoding.EncodeToString([]byte{0, 1, 1, 6, 4, '1'})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, terms := roomServer(t, lpOpts(nil))
			c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
			c.postOK(lpJoin1)
			c.expect(lpJoined)
			assert.Frame(t, "POST of the bad frame", `{"status":408}`, c.post(tt.line).body)
			assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
			assert.Frame(t, "POST after the crash", `{"status":410}`, c.post(lpPing("2")).body)
			lpNewSession(t, "GET after the crash", c.get(), c.token)
		})
	}
	// A line that is neither JSON nor base64 makes the body unreadable: HTTP
	// 400 before any line is handled, and the session lives on.
	t.Run("not base64", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, lpOpts(nil))
		c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
		req := lpRequest(t, http.MethodPost, c.url(), lpPing("1")+"\n"+`{"not":"base64"}`)
		req.Header.Set("Content-Type", "application/x-ndjson")
		code, _, _ := lpSend(t, req)
		assert.Equal(t, "HTTP status", http.StatusBadRequest, code)
		c.postOK(lpJoin1)
		c.expect(lpJoined)
		terms.none(t)
	})
}

// LP-6: a POST that is not ndjson is one text frame (pre-1.7 clients), here
// with the V1 serializer those clients use.
func TestLongPollLegacyPost(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(nil))
	c := lpOpen(t, lpURL(ts), "vsn=1.0.0")
	r := c.do(http.MethodPost, "application/json", `{"topic":"room:1","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}`)
	assert.Frame(t, "POST", `{"status":200}`, r.body)
	c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`)
}

// LP-9: a session nobody polls for 1.5 windows ends; one that is polled
// lives on.
func TestLongPollInactivity(t *testing.T) {
	t.Parallel()
	t.Run("not polled", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, lpOpts(nil))
		start := time.Now()
		c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
		c.postOK(lpJoin1) // a POST is not a poll
		assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
		if lived := time.Since(start); lived < lpWindow*3/2 {
			t.Errorf("the session ended after %v, before 1.5 windows (%v)", lived, lpWindow*3/2)
		}
		assert.Frame(t, "POST", `{"status":410}`, c.post(lpPing("2")).body)
		lpNewSession(t, "GET", c.get(), c.token)
	})
	t.Run("polled", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, lpOpts(nil))
		c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
		c.postOK(lpJoin1)
		c.expect(lpJoined)
		for deadline := time.Now().Add(4 * lpWindow); time.Now().Before(deadline); {
			assert.Frame(t, "poll", lpBody(204, c.token), c.get().body)
		}
		terms.none(t)
		c.postOK(lpPing("2"))
		c.expect(lpPong("2"))
	})
}

// LP-10, W-14, T-5: Disconnect and Shutdown end a session: the poll waiting
// in it answers {"status":410}, which makes phoenix.js reconnect.
func TestLongPollEndedWhilePolling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(*testServer) error
		// after is the answer to a GET without token once the session ended.
		after int
	}{
		{"Disconnect", func(ts *testServer) error { return ts.sock.Disconnect(context.Background(), "u1") }, 410},
		{"Shutdown", func(ts *testServer) error { return ts.sock.Shutdown(context.Background()) }, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, terms := roomServer(t, lpOpts(&phx.SocketOptions{
				LongPollWindow: time.Minute, // the poll can only end with the session
				Connect: func(_ context.Context, c *phx.Conn) error {
					c.ID = c.Params.Get("user")
					return nil
				},
			}))
			c := lpOpen(t, lpURL(ts), "user=u1&vsn=2.0.0")
			c.postOK(lpJoin1)
			c.expect(lpJoined)
			bystander := lpOpen(t, lpURL(ts), "user=u2&vsn=2.0.0")
			polled := c.getAsync(ts.sock)
			assert.Success(t, tt.name, tt.end(ts))
			assert.Frame(t, "the waiting poll", `{"status":410}`, polled().body)
			assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
			if tt.after == 410 {
				lpNewSession(t, "GET with the old token", c.get(), c.token)
				bystander.postOK(lpJoin1)
				bystander.expect(lpJoined)
				return
			}
			assert.Frame(t, "GET with the old token", `{"status":500}`, c.get().body)
			assert.Frame(t, "new session", `{"status":500}`, lpDo(t, http.MethodGet, lpURL(ts)+"?vsn=2.0.0", nil, "", "").body)
			assert.Frame(t, "the other session, now gone", `{"status":410}`, bystander.post(lpJoin1).body)
			assert.Equal(t, "clients", 0, ts.sock.NumClients())
		})
	}
}

// LP-11: two nodes sharing a PubSub and a Secret serve one session without
// sticky routing: the requests can land on either node.
func TestLongPollTwoNodes(t *testing.T) {
	t.Parallel()
	ps := phx.NewLocalPubSub()
	secret := []byte("shared by the nodes")
	a, termsA := roomServer(t, lpOpts(&phx.SocketOptions{PubSub: ps, Secret: secret}))
	b, _ := roomServer(t, lpOpts(&phx.SocketOptions{PubSub: ps, Secret: secret}))

	onA := lpOpen(t, lpURL(a), "vsn=2.0.0")
	onB := onA.via(lpURL(b))
	assert.Frame(t, "empty poll through B", lpBody(204, onA.token), onB.get().body)
	onB.postOK(lpJoin1, lpPing("2"))
	onB.expect(lpJoined, lpPong("2"))
	onA.postOK(lpPing("3"))
	onB.expect(lpPong("3"))
	if err := b.sock.Broadcast(context.Background(), "room:1", "news", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	onB.postOK(lpPing("4"))
	onA.expect(`[null,null,"room:1","news",{"n":2}]`, lpPong("4"))
	assert.Equal(t, "connections on A", 1, a.sock.NumClients())
	assert.Equal(t, "connections on B", 0, b.sock.NumClients())

	// A crash relayed through B ends the session on A.
	assert.Frame(t, "bad frame through B", `{"status":408}`, onB.post(`[oops`).body)
	assert.ErrorIs(t, "Terminate reason on A", termsA.next(t).reason, phx.ErrClosed)
	assert.Frame(t, "POST through B after the crash", `{"status":410}`, onB.post(lpPing("5")).body)
	// LP-4: a session that does not answer within 2 s is no session: the
	// GET makes a new one (Phoenix's resume_session times out after
	// pubsub_timeout_ms, then new_session).
	start := time.Now()
	lpNewSession(t, "GET through B after the crash", onB.get(), onA.token)
	if took := time.Since(start); took > 2*time.Second+time.Second {
		t.Errorf("the GET for the dead session took %v; Phoenix gives up on the session after 2 s", took)
	}
}

// F-14: LongPoll carries text only; a binary frame for the client is dropped
// (phoenix.js has no way to decode it there) and the session goes on. A
// session whose client lets frames pile up is closed, as a slow WebSocket
// client is.
func TestLongPollOutbound(t *testing.T) {
	t.Parallel()
	t.Run("binary dropped", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, lpOpts(nil))
		c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
		c.postOK(lpJoin1, `["1","2","room:1","push_binary",{}]`, `["1","3","room:1","reply_binary",{}]`, lpPing("4"))
		c.expect(lpJoined, lpPong("4"))
		terms.none(t)
	})
	t.Run("buffer full", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, lpOpts(&phx.SocketOptions{OutboundQueue: 4, LongPollWindow: time.Minute}))
		c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
		c.postOK(lpJoin1)
		c.expect(lpJoined)
		lines := make([]string, 20)
		for i := range lines {
			lines[i] = lpPing(fmt.Sprint(i + 2))
		}
		// The POST may see the session end before its last lines.
		if r := c.post(lines...); r.body != `{"status":200}` && r.body != `{"status":410}` {
			t.Fatalf("POST: got %s, want {\"status\":200} or {\"status\":410}", r.body)
		}
		assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
		lpNewSession(t, "GET after the session was closed", c.get(), c.token)
	})
}
