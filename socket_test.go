package phx_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// W-3: only GET reaches the WebSocket endpoint; anything else, and a GET
// that is no upgrade, is HTTP 400 with an empty body for the other methods.
func TestHandshakeMethod(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			req, err := http.NewRequest(method, ts.srv.URL+"/socket/websocket?vsn=2.0.0", strings.NewReader("x"))
			assert.Success(t, "request", err)
			resp, err := ts.srv.Client().Do(req)
			assert.Success(t, method, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, "status", http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "body", "", string(body))
		})
	}
	t.Run("GET without upgrade", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		resp, err := ts.srv.Client().Get(ts.srv.URL + "/socket/websocket?vsn=2.0.0")
		assert.Success(t, "GET", err)
		resp.Body.Close()
		assert.Equal(t, "status", http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("other path", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		resp, err := ts.srv.Client().Get(ts.srv.URL + "/socket/elsewhere")
		assert.Success(t, "GET", err)
		resp.Body.Close()
		assert.Equal(t, "status", http.StatusNotFound, resp.StatusCode)
	})
}

// W-5, F-7, F-8: vsn picks the serializer; a missing vsn is 1.0.0; a vsn
// that matches neither ~> 1.0.0 nor ~> 2.0.0 is HTTP 403 before the upgrade.
func TestVsn(t *testing.T) {
	t.Parallel()
	const (
		v1Reply = `{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`
		v2Reply = `["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`
	)
	tests := []struct {
		query  string
		status int    // 0: accepted
		reply  string // the reply to a join sent in the serializer's format
	}{
		{"", 0, v1Reply},
		{"vsn=1.0.0", 0, v1Reply},
		{"vsn=1.0.7", 0, v1Reply},
		{"vsn=2.0.0", 0, v2Reply},
		{"vsn=2.0.3", 0, v2Reply},
		{"token=undefined&vsn=2.0.0", 0, v2Reply},
		{"vsn=2.1.0", http.StatusForbidden, ""},
		{"vsn=1.1.0", http.StatusForbidden, ""},
		{"vsn=3.0.0", http.StatusForbidden, ""},
		{"vsn=abc", http.StatusForbidden, ""},
		{"vsn=2.0", http.StatusForbidden, ""},
		{"vsn=", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run("query="+tt.query, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			if tt.status != 0 {
				assert.Equal(t, "status", tt.status, ts.status(t, tt.query, nil))
				return
			}
			c := ts.dial(t, tt.query)
			if tt.reply == v2Reply {
				c.send(`["1","1","room:1","phx_join",{}]`)
			} else {
				// join_ref is accepted inbound but never sent back in V1.
				c.send(`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}`)
			}
			c.expect(tt.reply)
			c.roundTrip()
		})
	}
}

// W-4, W-6: Connect sees the query exactly as sent, vsn and "undefined"
// included, and refuses with HTTP 403 and an empty body.
func TestConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  url.Values
	}{
		{"token=undefined&vsn=2.0.0", url.Values{"token": {"undefined"}, "vsn": {"2.0.0"}}},
		{"vsn=2.0.0&a=1&a=2&empty=&user%5Bname%5D=jo%20e", url.Values{
			"vsn": {"2.0.0"}, "a": {"1", "2"}, "empty": {""}, "user[name]": {"jo e"},
		}},
		{"", url.Values{}},
	}
	for _, tt := range tests {
		t.Run("query="+tt.query, func(t *testing.T) {
			t.Parallel()
			conns := make(chan phx.Conn, 1)
			ts, _ := roomServer(t, &phx.SocketOptions{
				Connect: func(_ context.Context, c *phx.Conn) error {
					conns <- snapshot(c) // the Conn is Connect's only
					return nil
				},
			})
			ts.dial(t, tt.query)
			c := <-conns
			assert.Equal(t, "params", tt.want, c.Params)
			assert.Equal(t, "transport", "websocket", c.Transport)
			assert.True(t, "remote address "+c.RemoteAddr, strings.HasPrefix(c.RemoteAddr, "127.0.0.1:"))
			assert.Equal(t, "auth token", "", c.AuthToken)
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, &phx.SocketOptions{
			Connect: func(context.Context, *phx.Conn) error { return errors.New("no") },
		})
		_, resp, err := ts.dialOpts(t, "vsn=2.0.0", nil)
		if err == nil {
			t.Fatal("handshake succeeded, want 403")
		}
		body, _ := io.ReadAll(resp.Body)
		assert.Equal(t, "status", http.StatusForbidden, resp.StatusCode)
		assert.Equal(t, "body", "", string(body))
	})
}

// snapshot copies what Connect sees.
func snapshot(c *phx.Conn) phx.Conn {
	cp := *c
	cp.Params = maps.Clone(c.Params)
	cp.Header = c.Header.Clone()
	return cp
}

// W-8, W-9, G-11, G-16: the bearer subprotocol carries the auth token in
// base64 (standard or URL-safe alphabet, padded or not); the server selects
// "phoenix"; a token that is not base64 is HTTP 403.
func TestAuthTokenSubprotocol(t *testing.T) {
	t.Parallel()
	const token = "SFMyNTY.g3QAAAAB>>?~~?" // encodes with + and / in std base64
	std := base64.RawStdEncoding.EncodeToString([]byte(token))
	urlSafe := base64.RawURLEncoding.EncodeToString([]byte(token))
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(urlSafe, "-_") {
		t.Fatalf("test token encodes as %q and %q; it must exercise both alphabets", std, urlSafe)
	}
	tests := []struct {
		name      string
		protocols []string
		status    int // 0: accepted
		token     string
		selected  string
	}{
		{"standard alphabet", []string{"phoenix", "base64url.bearer.phx." + std}, 0, token, "phoenix"},
		{"url-safe alphabet", []string{"phoenix", "base64url.bearer.phx." + urlSafe}, 0, token, "phoenix"},
		{"padded", []string{"phoenix", "base64url.bearer.phx." + base64.StdEncoding.EncodeToString([]byte("ab"))}, 0, "ab", "phoenix"},
		{"phoenix only", []string{"phoenix"}, 0, "", "phoenix"},
		{"none", nil, 0, "", ""},
		{"not base64", []string{"phoenix", "base64url.bearer.phx.!!!"}, http.StatusForbidden, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conns := make(chan phx.Conn, 1)
			ts, _ := roomServer(t, &phx.SocketOptions{
				Connect: func(_ context.Context, c *phx.Conn) error {
					conns <- snapshot(c)
					return nil
				},
			})
			o := &websocket.DialOptions{Subprotocols: tt.protocols}
			if tt.status != 0 {
				assert.Equal(t, "status", tt.status, ts.status(t, "vsn=2.0.0", o))
				return
			}
			c, resp, err := ts.dialOpts(t, "vsn=2.0.0", o)
			assert.Success(t, "dial", err)
			assert.Equal(t, "Sec-WebSocket-Protocol", tt.selected, resp.Header.Get("Sec-WebSocket-Protocol"))
			assert.Equal(t, "negotiated subprotocol", tt.selected, c.ws.Subprotocol())
			assert.Equal(t, "Conn.AuthToken", tt.token, (<-conns).AuthToken)
		})
	}
}

// W-12: a browser Origin must be the server's own host or match
// OriginPatterns; a handshake without Origin is allowed.
func TestOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   phx.SocketOptions
		origin string
		ok     bool
	}{
		{"no origin", phx.SocketOptions{}, "", true},
		{"same host", phx.SocketOptions{}, "http://127.0.0.1", true},
		{"same host other port and scheme", phx.SocketOptions{}, "https://127.0.0.1:9", true},
		{"foreign", phx.SocketOptions{}, "http://evil.example", false},
		{"foreign with the host as subdomain", phx.SocketOptions{}, "http://127.0.0.1.evil.example", false},
		{"wildcard subdomain", phx.SocketOptions{OriginPatterns: []string{"*.example.com"}}, "https://app.example.com", true},
		{"wildcard apex", phx.SocketOptions{OriginPatterns: []string{"*.example.com"}}, "https://example.com", true},
		{"wildcard other domain", phx.SocketOptions{OriginPatterns: []string{"*.example.com"}}, "https://notexample.com", false},
		{"scheme match", phx.SocketOptions{OriginPatterns: []string{"https://example.com"}}, "https://example.com", true},
		{"scheme mismatch", phx.SocketOptions{OriginPatterns: []string{"https://example.com"}}, "http://example.com", false},
		{"port match", phx.SocketOptions{OriginPatterns: []string{"//example.com:8443"}}, "https://example.com:8443", true},
		{"port mismatch", phx.SocketOptions{OriginPatterns: []string{"//example.com:8443"}}, "https://example.com", false},
		{"check disabled", phx.SocketOptions{InsecureSkipOriginCheck: true}, "http://evil.example", true},
		{"CheckOrigin", phx.SocketOptions{CheckOrigin: func(r *http.Request) bool {
			return r.Header.Get("Origin") == "http://custom.example"
		}}, "http://custom.example", true},
		{"CheckOrigin refusing", phx.SocketOptions{CheckOrigin: func(*http.Request) bool { return false }}, "http://127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			ts, _ := roomServer(t, &opts)
			o := &websocket.DialOptions{HTTPHeader: http.Header{}}
			if tt.origin != "" {
				o.HTTPHeader.Set("Origin", tt.origin)
			}
			if !tt.ok {
				assert.Equal(t, "status", http.StatusForbidden, ts.status(t, "vsn=2.0.0", o))
				return
			}
			c, _, err := ts.dialOpts(t, "vsn=2.0.0", o)
			assert.Success(t, "dial", err)
			c.roundTrip()
		})
	}
}

// W-14: Disconnect closes every connection with that socket id with 1001,
// ends their sessions with ErrClosed, and leaves the others alone.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	ts, terms := roomServer(t, &phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			c.ID = c.Params.Get("user")
			return nil
		},
	})
	a1 := ts.dial(t, "user=a&vsn=2.0.0")
	a2 := ts.dial(t, "user=a&vsn=1.0.0")
	b := ts.dial(t, "user=b&vsn=2.0.0")
	anon := ts.dial(t, "vsn=2.0.0")
	a1.join("room:1", `"1"`)
	b.join("room:1", `"1"`)

	assert.Success(t, "Disconnect", ts.sock.Disconnect(context.Background(), "a"))
	a1.expectClose(websocket.StatusGoingAway)
	a2.expectClose(websocket.StatusGoingAway)
	assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
	b.roundTrip()
	anon.roundTrip()
	b.send(`["1","2","room:1","ping",{}]`)
	b.expect(`["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)

	// Other events on the id topic are ignored.
	assert.Success(t, "Broadcast", ts.sock.Broadcast(context.Background(), "b", "other", nil))
	b.roundTrip()

	if err := ts.sock.Disconnect(context.Background(), ""); err == nil {
		t.Error(`Disconnect("") succeeded, want an error: anonymous connections have no id`)
	}
}

// T-2b: a connection that sends nothing for IdleTimeout is closed with
// 1001; heartbeats keep it open.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	t.Run("quiet client", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, &phx.SocketOptions{IdleTimeout: idle})
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:1", `"1"`)
		start := time.Now()
		c.expectClose(websocket.StatusGoingAway)
		if since := time.Since(start); since < idle/2 {
			t.Errorf("closed after %v, before the idle timeout of %v", since, idle)
		}
		assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
	})
	t.Run("heartbeats keep it open", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, &phx.SocketOptions{IdleTimeout: idle})
		c := ts.dial(t, "vsn=2.0.0")
		tick := time.NewTicker(idle / 4)
		defer tick.Stop()
		for end := time.Now().Add(3 * idle); time.Now().Before(end); {
			<-tick.C
			c.roundTrip()
		}
		c.expectClose(websocket.StatusGoingAway) // and once they stop, it closes
	})
}

// T-5, §6: Shutdown closes every connection with 1012, refuses new ones
// with 503, and returns once they are gone.
func TestShutdown(t *testing.T) {
	t.Parallel()
	t.Run("drains", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, nil)
		a := ts.dial(t, "vsn=2.0.0")
		b := ts.dial(t, "vsn=1.0.0")
		a.join("room:1", `"1"`)
		a.roundTrip()
		b.roundTrip()
		assert.Equal(t, "clients before Shutdown", 2, ts.sock.NumClients())
		done := make(chan error, 1)
		go func() { done <- ts.sock.Shutdown(context.Background()) }()
		a.expectClose(websocket.StatusServiceRestart)
		b.expectClose(websocket.StatusServiceRestart)
		select {
		case err := <-done:
			assert.Success(t, "Shutdown", err)
		case <-time.After(timeout):
			t.Fatal("Shutdown did not return once every connection was closed")
		}
		assert.Equal(t, "clients after Shutdown", 0, ts.sock.NumClients())
		assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
		assert.Equal(t, "status of a new handshake", http.StatusServiceUnavailable, ts.status(t, "vsn=2.0.0", nil))
	})
	t.Run("context ends first", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.roundTrip()
		// The client does not read, so it never answers the close: the
		// connection cannot end before the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		assert.ErrorIs(t, "Shutdown", ts.sock.Shutdown(ctx), context.DeadlineExceeded)
	})
}

// MaxConnections: a handshake past the cap gets 503.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, &phx.SocketOptions{MaxConnections: 1})
	c := ts.dial(t, "vsn=2.0.0")
	c.roundTrip()
	assert.Equal(t, "status", http.StatusServiceUnavailable, ts.status(t, "vsn=2.0.0", nil))
}

// §11: frames up to MaxFrameSize (default 1 MiB, far above coder's own
// 32 KiB default) are read; a larger one closes the connection with 1009.
func TestMaxFrameSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		max  int64
		size int
		ok   bool
	}{
		{"default, 1 MiB", 0, 1 << 20, true},
		{"default, 1 MiB + 1", 0, 1<<20 + 1, false},
		{"configured, at the limit", 1024, 1024, true},
		{"configured, over the limit", 1024, 1025, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, &phx.SocketOptions{MaxFrameSize: tt.max})
			c := ts.dial(t, "vsn=2.0.0")
			c.join("room:1", `"1"`)
			frame, payload := frameOfSize(tt.size)
			c.send(frame)
			if !tt.ok {
				c.expectClose(websocket.StatusMessageTooBig)
				return
			}
			c.expect(`["1","2","room:1","phx_reply",{"response":{"n":` + strconv.Itoa(payload) + `},"status":"ok"}]`)
		})
	}
}

// frameOfSize returns a "size" event frame of exactly n bytes and the
// length of its payload.
func frameOfSize(n int) (string, int) {
	const head, tail = `["1","2","room:1","size",{"d":"`, `"}]`
	pad := n - len(head) - len(tail)
	return head + strings.Repeat("x", pad) + tail, len(`{"d":""}`) + pad
}
