package phx_test

// Origin checks on both transports (PROTOCOL.md W-12) and permessage-deflate
// (SocketOptions.Compress).

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// W-12: the same rules decide for the WebSocket (refused: HTTP 403 with an
// empty body, before the upgrade) and for LongPoll (refused: {"status":403}
// on GET and POST alike).
func TestOriginBothTransports(t *testing.T) {
	t.Parallel()
	patterns := func(p ...string) phx.SocketOptions { return phx.SocketOptions{OriginPatterns: p} }
	tests := []struct {
		name   string
		opts   phx.SocketOptions
		origin string
		ok     bool
	}{
		{"no Origin (not a browser)", phx.SocketOptions{}, "", true},
		{"same host", phx.SocketOptions{}, "http://127.0.0.1", true},
		{"same host, other scheme and port", phx.SocketOptions{}, "https://127.0.0.1:8443", true},
		{"foreign", phx.SocketOptions{}, "http://evil.example", false},
		{"foreign, same host as a subdomain", phx.SocketOptions{}, "http://127.0.0.1.evil.example", false},
		{"localhost is not 127.0.0.1", phx.SocketOptions{}, "http://localhost", false},
		{"opaque origin", phx.SocketOptions{}, "null", false},
		{"file origin", phx.SocketOptions{}, "file://", false},
		{"listed host", patterns("example.com"), "https://example.com:1234", true},
		{"listed host, subdomain", patterns("example.com"), "https://app.example.com", false},
		{"listed, own host still allowed", patterns("example.com"), "http://127.0.0.1", true},
		{"wildcard, subdomain", patterns("*.example.com"), "https://app.example.com", true},
		{"wildcard, deep subdomain", patterns("*.example.com"), "https://a.b.example.com", true},
		{"wildcard, apex", patterns("*.example.com"), "https://example.com", true},
		{"wildcard, other domain with the suffix", patterns("*.example.com"), "https://notexample.com", false},
		{"wildcard, suffix as a subdomain", patterns("*.example.com"), "https://example.com.evil.example", false},
		{"scheme, match", patterns("https://example.com"), "https://example.com", true},
		{"scheme, mismatch", patterns("https://example.com"), "http://example.com", false},
		// Phoenix parses "https://example.com" with URI.parse, which fills
		// in the scheme's port: the pattern allows port 443 only.
		{"scheme, implied port mismatch", patterns("https://example.com"), "https://example.com:8443", false},
		{"port, match", patterns("//example.com:8443"), "https://example.com:8443", true},
		{"port, any scheme", patterns("//example.com:8443"), "http://example.com:8443", true},
		{"port, default port mismatch", patterns("//example.com:8443"), "https://example.com", false},
		{"scheme and port, explicit default", patterns("https://example.com:443"), "https://example.com", true},
		{"scheme and port, wrong scheme", patterns("https://example.com:443"), "http://example.com:443", false},
		{"scheme, wildcard and port", patterns("https://*.example.com:8443"), "https://x.example.com:8443", true},
		{"scheme, wildcard and port, wrong port", patterns("https://*.example.com:8443"), "https://x.example.com", false},
		{"second pattern", patterns("one.example", "two.example"), "http://two.example", true},
		{"CheckOrigin allows", phx.SocketOptions{CheckOrigin: func(r *http.Request) bool {
			return lpNoOrigin(r) || r.Header.Get("Origin") == "http://custom.example"
		}}, "http://custom.example", true},
		{"CheckOrigin refuses the own host", phx.SocketOptions{CheckOrigin: lpNoOrigin}, "http://127.0.0.1", false},
		{"CheckOrigin wins over patterns", phx.SocketOptions{OriginPatterns: []string{"custom.example"},
			CheckOrigin: lpNoOrigin}, "http://custom.example", false},
		{"InsecureSkipOriginCheck", phx.SocketOptions{InsecureSkipOriginCheck: true}, "http://evil.example", true},
		{"InsecureSkipOriginCheck wins over CheckOrigin", phx.SocketOptions{InsecureSkipOriginCheck: true,
			CheckOrigin: func(*http.Request) bool { return false }}, "http://evil.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			ts, _ := roomServer(t, lpOpts(&opts))
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}

			// Both transports are checked before either failure stops the
			// test.
			code, _, body := lpUpgrade(t, ts, h)
			switch {
			case tt.ok && code != http.StatusSwitchingProtocols:
				t.Errorf("WebSocket handshake: HTTP %d %q, want 101", code, body)
			case !tt.ok && (code != http.StatusForbidden || body != ""):
				t.Errorf("WebSocket handshake: HTTP %d %q, want 403 with an empty body", code, body)
			}

			r := lpDo(t, http.MethodGet, lpURL(ts)+"?vsn=2.0.0", h, "", "")
			// A session made without Origin, then used from the origin.
			c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
			req := c.request(http.MethodPost, "application/x-ndjson", lpJoin1)
			req.Header = req.Header.Clone()
			for k, v := range h {
				req.Header[k] = v
			}
			code, rh, rbody := lpSend(t, req)
			post := lpCheck(t, "POST from the origin", code, rh, rbody)
			if !tt.ok {
				assert.Frame(t, "LongPoll GET", `{"status":403}`, r.body)
				assert.Frame(t, "LongPoll POST", `{"status":403}`, post.body)
				c.postOK(lpJoin1) // the refusal did not touch the session
				c.expect(lpJoined)
				return
			}
			lpNewSession(t, "LongPoll GET", r, "")
			assert.Frame(t, "LongPoll POST", `{"status":200}`, post.body)
			c.expect(lpJoined)
		})
	}
}

// lpNoOrigin is a CheckOrigin that allows requests without an Origin only
// (the test's own LongPoll session is made without one).
func lpNoOrigin(r *http.Request) bool { return r.Header.Get("Origin") == "" }

// lpUpgrade sends a WebSocket handshake for vsn 2.0.0 with the headers h and
// returns the answer; a 101's connection is closed at once.
func lpUpgrade(t testing.TB, ts *testServer, h http.Header) (int, http.Header, string) {
	t.Helper()
	req := lpRequest(t, http.MethodGet, ts.srv.URL+"/socket/websocket?vsn=2.0.0", "")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for k, v := range h {
		req.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return res.StatusCode, res.Header, ""
	}
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, res.Header, b.String()
}

// Compress: permessage-deflate is negotiated only when the Socket enables it
// and the client offers it, without context takeover on the server side;
// a compressed connection carries frames both ways.
func TestCompressNegotiation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		compress bool
		offer    string // Sec-WebSocket-Extensions of the handshake
		want     bool
	}{
		{"on, browser offer", true, "permessage-deflate; client_max_window_bits", true},
		{"on, no offer", true, "", false},
		{"off, browser offer", false, "permessage-deflate; client_max_window_bits", false},
		{"off by default", false, "permessage-deflate", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, &phx.SocketOptions{Compress: tt.compress})
			h := http.Header{}
			if tt.offer != "" {
				h.Set("Sec-WebSocket-Extensions", tt.offer)
			}
			code, rh, _ := lpUpgrade(t, ts, h)
			assert.Equal(t, "handshake status", http.StatusSwitchingProtocols, code)
			ext := rh.Get("Sec-WebSocket-Extensions")
			if !tt.want {
				assert.Equal(t, "Sec-WebSocket-Extensions", "", ext)
				return
			}
			assert.Contains(t, "Sec-WebSocket-Extensions", ext, "permessage-deflate")
			assert.Contains(t, "Sec-WebSocket-Extensions", ext, "server_no_context_takeover")
		})
	}
	for _, mode := range []websocket.CompressionMode{websocket.CompressionContextTakeover, websocket.CompressionNoContextTakeover} {
		for _, compress := range []bool{true, false} {
			name := map[websocket.CompressionMode]string{websocket.CompressionContextTakeover: "client with takeover",
				websocket.CompressionNoContextTakeover: "client without takeover"}[mode]
			name += map[bool]string{true: ", Compress", false: ", no Compress"}[compress]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ts, _ := roomServer(t, &phx.SocketOptions{Compress: compress})
				c, resp, err := ts.dialOpts(t, "vsn=2.0.0", &websocket.DialOptions{CompressionMode: mode})
				assert.Success(t, "dial", err)
				ext := resp.Header.Get("Sec-WebSocket-Extensions")
				assert.Equal(t, "permessage-deflate negotiated ("+ext+")", compress, strings.HasPrefix(ext, "permessage-deflate"))
				c.join("room:1", `"1"`)
				big := strings.Repeat("phoenix channels ", 2000)
				for i := range 3 {
					ref := `"e` + string(rune('0'+i)) + `"`
					c.send(`["1",` + ref + `,"room:1","echo",{"big":"` + big + `"}]`)
					c.expect(`["1",` + ref + `,"room:1","phx_reply",{"response":{"big":"` + big + `"},"status":"ok"}]`)
				}
				c.roundTrip()
			})
		}
	}
}
