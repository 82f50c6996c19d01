package phx_test

// Secrets (issue 6, PROTOCOL.md W-11, §11): auth tokens never reach a log
// line or an answer, and a refused connection costs no lasting goroutine or
// memory.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

const (
	rbQueryToken  = "qtok-S3CR3T-query-0001"
	rbBearerToken = "btok-S3CR3T-bearer-0002"
	rbLPToken     = "ltok-S3CR3T-header-0003"
	rbPassword    = "pw-S3CR3T-0004"
	rbJoinToken   = "jtok-S3CR3T-join-0005"
)

// rbConnChannel answers "conn" with what the session's Conn still holds of
// the handshake: nothing of it may linger past Connect.
type rbConnChannel struct{}

func (rbConnChannel) Join(context.Context, *phx.Session, string, phx.Payload) (any, error) {
	return nil, nil
}

func (rbConnChannel) HandleIn(_ context.Context, s *phx.Session, event string, _ phx.Payload) (phx.Reply, error) {
	switch event {
	case "conn":
		c := s.Conn()
		return phx.ReplyOK(map[string]any{"auth_token": c.AuthToken, "params": len(c.Params), "header": len(c.Header)}), nil
	}
	return phx.NoReply, fmt.Errorf("no handler for %q", event)
}

// rbRefusingConnect refuses a connection whose "refuse" parameter is 1 with
// an error that quotes every secret it got, as careless apps do.
func rbRefusingConnect(_ context.Context, c *phx.Conn) error {
	if c.Params.Get("refuse") == "1" {
		return fmt.Errorf("bad credentials: token=%q auth=%q password=%q", c.Params.Get("token"), c.AuthToken, c.Params.Get("password"))
	}
	c.ID = "user-1"
	return nil
}

// W-11: tokens in the query, in the bearer subprotocol and in the LongPoll
// X-Phoenix-AuthToken header, and a password parameter, appear in no log
// record (at Debug level) and no answer, whether Connect accepts, refuses
// with an error quoting them, or the handshake fails for another reason;
// after Connect the Conn keeps none of them.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var httpErrs logBuffer
	ts := rbServer(t, lpOpts(&phx.SocketOptions{Connect: rbRefusingConnect}), func(s *phx.Socket) {
		s.Channel("room:*", rbConnChannel{})
	}, rbServerOpts{httpErrors: &httpErrs})
	bearer := base64.RawURLEncoding.EncodeToString([]byte(rbBearerToken))
	secrets := []string{rbQueryToken, rbBearerToken, bearer, rbLPToken, rbPassword, rbJoinToken}
	var answers []string // every HTTP answer body and handshake error
	q := "token=" + rbQueryToken + "&password=" + rbPassword + "&vsn=2.0.0"
	proto := &websocket.DialOptions{Subprotocols: []string{"phoenix", "base64url.bearer.phx." + bearer}}

	t.Run("websocket accepted", func(t *testing.T) {
		c, _, err := ts.dialOpts(t, q, proto)
		assert.Success(t, "dial", err)
		c.send(`["1","1","room:1","phx_join",{"token":"` + rbJoinToken + `"}]`)
		c.expect(`["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`)
		c.send(`["1","2","room:1","conn",{}]`)
		c.expect(`["1","2","room:1","phx_reply",{"response":{"auth_token":"","header":0,"params":0},"status":"ok"}]`)
		c.send(`["1","3","room:1","nope",{"token":"` + rbJoinToken + `"}]`) // a crash with a secret in the payload
		c.expect(`["1","1","room:1","phx_error",{"reason":"channel_crash"}]`)
		c.send(`["1","4","room:1",` + `{"token":"` + rbJoinToken + `"}`) // malformed, quoting a secret
		c.expectClose(websocket.StatusInternalError)
	})
	for _, tt := range []struct {
		name  string
		query string
		opts  *websocket.DialOptions
	}{
		{"websocket refused by Connect", "refuse=1&" + q, proto},
		{"websocket with a bearer that is not base64", q, &websocket.DialOptions{Subprotocols: []string{"phoenix", "base64url.bearer.phx.!" + rbBearerToken}}},
		{"websocket with an unsupported vsn", "token=" + rbQueryToken + "&password=" + rbPassword + "&vsn=9.0.0", proto},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := ts.dialOpts(t, tt.query, tt.opts)
			if err == nil || resp == nil {
				t.Fatalf("handshake: %v, want HTTP 403", err)
			}
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, "status", 403, resp.StatusCode)
			answers = append(answers, err.Error(), string(body))
		})
	}
	lpHeader := http.Header{"X-Phoenix-Authtoken": {rbLPToken}}
	t.Run("longpoll accepted", func(t *testing.T) {
		r := lpDo(t, "GET", lpURL(ts)+"?password="+rbPassword+"&vsn=2.0.0", lpHeader, "", "")
		lpNewSession(t, "GET", r, "")
		answers = append(answers, r.body)
		c := &lpConn{t: t, base: lpURL(ts), query: "vsn=2.0.0", token: r.token}
		c.postOK(`["1","1","room:1","phx_join",{"token":"`+rbJoinToken+`"}]`, `["1","2","room:1","conn",{}]`)
		c.expect(`["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["1","2","room:1","phx_reply",{"response":{"auth_token":"","header":0,"params":0},"status":"ok"}]`)
		r = c.post(`["1","3","room:1",{"token":"` + rbJoinToken + `"}]`) // malformed
		assert.Frame(t, "malformed POST", `{"status":408}`, r.body)
	})
	t.Run("longpoll refused by Connect", func(t *testing.T) {
		r := lpDo(t, "GET", lpURL(ts)+"?refuse=1&password="+rbPassword+"&vsn=2.0.0", lpHeader, "", "")
		assert.Frame(t, "GET", `{"status":403}`, r.body)
		answers = append(answers, r.body)
	})

	// The refusals were logged, with the secrets masked.
	refused := rbLogged(t, ts.logs, "", rbContains("REFUSED CONNECTION"))
	if len(refused) != 2 {
		t.Fatalf("%d REFUSED CONNECTION records, want 2 (WebSocket, LongPoll); the log:\n%s", len(refused), ts.logs.String())
	}
	for _, r := range refused {
		assert.Contains(t, "error in the log", fmt.Sprint(r["error"]), "bad credentials: token=")
	}
	all := ts.logs.String() + httpErrs.String() + strings.Join(answers, "\n")
	for _, s := range secrets {
		assert.NotContains(t, "the logs and answers", all, s)
	}
}

// A refused connection leaves nothing behind: after 1,000 refusals (half
// WebSocket handshakes, half new LongPoll sessions, each quoting its token
// in Connect's error), as many goroutines run as before, and the live heap
// has not grown by more than 256 KiB (a lasting cost of even 256 bytes per
// refusal would exceed it).
func TestRefusedConnectionsCostNothing(t *testing.T) {
	const (
		n     = 1000
		bound = 256 << 10
	)
	ts := rbServer(t, lpOpts(&phx.SocketOptions{Connect: rbRefusingConnect}), func(s *phx.Socket) {
		s.Channel("room:*", rbConnChannel{})
	}, rbServerOpts{quiet: true})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer hc.CloseIdleConnections()
	refuse := func(i int) error {
		var req *http.Request
		if i%2 == 0 {
			req, _ = http.NewRequest("GET", ts.srv.URL+"/socket/websocket?refuse=1&token="+rbQueryToken+"&vsn=2.0.0", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			req.Header.Set("Sec-WebSocket-Protocol", "phoenix, base64url.bearer.phx."+base64.RawURLEncoding.EncodeToString([]byte(rbBearerToken)))
		} else {
			req, _ = http.NewRequest("GET", lpURL(ts)+"?refuse=1&vsn=2.0.0", nil)
			req.Header.Set("X-Phoenix-AuthToken", rbLPToken)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case i%2 == 0 && resp.StatusCode != 403:
			return fmt.Errorf("WebSocket handshake: HTTP %d, want 403", resp.StatusCode)
		case i%2 == 1 && string(body) != `{"status":403}`:
			return fmt.Errorf("LongPoll GET: %s, want {\"status\":403}", body)
		}
		return nil
	}
	run := func(count int) {
		t.Helper()
		var errs rbErrs
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < count; i += 8 {
					errs.add(refuse(i))
				}
			}()
		}
		wg.Wait()
		errs.check(t, "refusals")
		hc.CloseIdleConnections()
	}
	run(64) // warm up: pools, buffers, the first connections
	before := runtime.NumGoroutine()
	heap0 := rbHeap()
	start := time.Now()
	run(n)
	took := time.Since(start)
	after := rbSettleGoroutines(before, timeout)
	heap1 := rbHeap()
	growth := int64(heap1) - int64(heap0)
	t.Logf("%d refusals in %v; goroutines %d before, %d after; live heap %s before, %s after (growth %d bytes, bound %d)",
		n, took.Round(time.Millisecond), before, after, rbMB(int64(heap0)), rbMB(int64(heap1)), growth, bound)
	if after > before {
		t.Errorf("%d goroutines after the refusals, %d before:\n%.32000s", after, before, rbStacks())
	}
	if growth > bound {
		t.Errorf("the live heap grew by %d bytes over %d refusals, more than %d", growth, n, bound)
	}
	if c := ts.sock.Stats().Connections; c != 0 {
		t.Errorf("Stats().Connections = %d after refusals only", c)
	}
}
