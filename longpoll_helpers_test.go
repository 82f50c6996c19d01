package phx_test

// Raw-HTTP helpers of the LongPoll tests (longpoll_test.go). Every JSON
// answer is checked against PROTOCOL.md LP-1 on its way through lpCheck.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// lpWindow is the poll window of the LongPoll tests: short, so an empty poll
// answers 204 quickly and an unpolled session ends after 300 ms.
const lpWindow = 200 * time.Millisecond

// lpOpts turns LongPoll on in o (nil for defaults) with the window lpWindow
// unless o sets one.
func lpOpts(o *phx.SocketOptions) *phx.SocketOptions {
	if o == nil {
		o = &phx.SocketOptions{}
	}
	o.LongPoll = true
	if o.LongPollWindow == 0 {
		o.LongPollWindow = lpWindow
	}
	return o
}

// lpURL is the LongPoll endpoint of ts, without query.
func lpURL(ts *testServer) string { return ts.srv.URL + "/socket/longpoll" }

// lpResp is a LongPoll JSON answer.
type lpResp struct {
	body     string
	status   int
	token    string
	hasToken bool
	messages []string
}

// lpRequest builds a request; lpSend bounds it with the test timeout.
func lpRequest(t testing.TB, method, u, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// lpRoundTrip sends req and reads the whole answer. It does not use t, so a
// goroutine may call it.
func lpRoundTrip(req *http.Request) (int, http.Header, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b), err
}

// lpSend sends req and returns the HTTP status, headers and body.
func lpSend(t testing.TB, req *http.Request) (int, http.Header, string) {
	t.Helper()
	code, h, body, err := lpRoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return code, h, body
}

// lpCheck checks an answer as LP-1 says every protocol answer is: HTTP 200,
// the three headers, and a JSON body that is {"status":N} or
// {"messages":[strings],"status":N,"token":T}.
func lpCheck(t testing.TB, what string, code int, h http.Header, body string) lpResp {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("%s: HTTP status %d, want 200 (the real status travels in the body); body %q", what, code, body)
	}
	for _, kv := range [][2]string{
		{"Access-Control-Allow-Origin", "*"},
		{"Content-Type", "application/json; charset=utf-8"},
		{"Cache-Control", "no-store"},
	} {
		if got := h.Values(kv[0]); len(got) != 1 || got[0] != kv[1] {
			t.Fatalf("%s: header %s is %q, want %q", what, kv[0], got, kv[1])
		}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v\n%s", what, err, body)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := lpResp{body: body}
	switch strings.Join(keys, ",") {
	case "status":
	case "messages,status,token":
		r.hasToken = true
		if err := json.Unmarshal(raw["token"], &r.token); err != nil {
			t.Fatalf("%s: token is not a string: %s", what, body)
		}
		if err := json.Unmarshal(raw["messages"], &r.messages); err != nil || r.messages == nil {
			t.Fatalf("%s: messages is not an array of strings (LP-8): %s", what, body)
		}
	default:
		t.Fatalf("%s: body has keys %v, want status alone or messages, status and token: %s", what, keys, body)
	}
	if err := json.Unmarshal(raw["status"], &r.status); err != nil {
		t.Fatalf("%s: status is not an integer: %s", what, body)
	}
	return r
}

// lpDo sends one request and checks its answer with lpCheck.
func lpDo(t testing.TB, method, u string, h http.Header, ctype, body string) lpResp {
	t.Helper()
	req := lpRequest(t, method, u, body)
	for k, vs := range h {
		req.Header[k] = vs
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	code, rh, rbody := lpSend(t, req)
	return lpCheck(t, method+" "+u, code, rh, rbody)
}

// lpBody is the exact body Phoenix sends for status, token and messages:
// Jason's key order, each message a JSON string (LP-8).
func lpBody(status int, token string, messages ...string) string {
	var b strings.Builder
	b.WriteString(`{"messages":[`)
	for i, m := range messages {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(lpJasonString(m))
	}
	fmt.Fprintf(&b, `],"status":%d,"token":%s}`, status, lpJasonString(token))
	return b.String()
}

// lpJasonString encodes s as Jason does by default: only ", \ and control
// characters are escaped; HTML characters and non-ASCII text stay as they are.
func lpJasonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// lpNewSession checks that r starts a new session (LP-4): 410, a token
// other than old, no messages, and nothing else.
func lpNewSession(t testing.TB, what string, r lpResp, old string) {
	t.Helper()
	if r.status != 410 || !r.hasToken || r.token == "" || r.token == old {
		t.Fatalf("%s: got %s, want a new session: {\"messages\":[],\"status\":410,\"token\":<new token>}", what, r.body)
	}
	assert.Frame(t, what, lpBody(410, r.token), r.body)
}

// lpConn is one LongPoll client session.
type lpConn struct {
	t        testing.TB
	base     string // the endpoint, http://127.0.0.1:port/socket/longpoll
	query    string // e.g. "vsn=2.0.0"
	token    string
	inHeader bool // send the token in X-Phoenix-LongPoll-Token, not the query
}

// lpOpen starts a session at base with query and checks the answer.
func lpOpen(t testing.TB, base, query string) *lpConn {
	t.Helper()
	c := &lpConn{t: t, base: base, query: query}
	r := c.get()
	lpNewSession(t, "new session", r, "")
	c.token = r.token
	return c
}

// via returns the same session reached through another node's endpoint.
func (c *lpConn) via(base string) *lpConn {
	d := *c
	d.base = base
	return &d
}

func (c *lpConn) url() string {
	u := c.base + "?" + c.query
	if !c.inHeader {
		u += "&token=" + url.QueryEscape(c.token)
	}
	return u
}

func (c *lpConn) request(method, ctype, body string) *http.Request {
	req := lpRequest(c.t, method, c.url(), body)
	if c.inHeader {
		req.Header.Set("X-Phoenix-LongPoll-Token", c.token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	return req
}

// do sends one request with the session's token.
func (c *lpConn) do(method, ctype, body string) lpResp {
	c.t.Helper()
	code, h, rbody := lpSend(c.t, c.request(method, ctype, body))
	return lpCheck(c.t, method+" "+c.url(), code, h, rbody)
}

// get polls once.
func (c *lpConn) get() lpResp {
	c.t.Helper()
	return c.do(http.MethodGet, "", "")
}

// post sends lines as one ndjson batch, as phoenix.js does.
func (c *lpConn) post(lines ...string) lpResp {
	c.t.Helper()
	return c.do(http.MethodPost, "application/x-ndjson", strings.Join(lines, "\n"))
}

// postOK posts lines and expects exactly {"status":200}.
func (c *lpConn) postOK(lines ...string) {
	c.t.Helper()
	assert.Frame(c.t, "POST", `{"status":200}`, c.post(lines...).body)
}

// recv polls until n messages came, checking every answer byte for byte:
// 200 with the messages or 204, and the token echoed unchanged (LP-5).
func (c *lpConn) recv(n int) []string {
	c.t.Helper()
	var got []string
	for deadline := time.Now().Add(timeout); len(got) < n; {
		if time.Now().After(deadline) {
			c.t.Fatalf("got %d messages within %v, want %d: %q", len(got), timeout, n, got)
		}
		r := c.get()
		switch r.status {
		case 200:
			assert.Frame(c.t, "poll", lpBody(200, c.token, r.messages...), r.body)
			if len(r.messages) == 0 {
				c.t.Fatalf("poll: status 200 without messages: %s", r.body)
			}
			got = append(got, r.messages...)
		case 204:
			assert.Frame(c.t, "poll", lpBody(204, c.token), r.body)
		default:
			c.t.Fatalf("poll: got %s, want status 200 or 204", r.body)
		}
	}
	if len(got) > n {
		c.t.Fatalf("got %d messages, want %d: %q", len(got), n, got)
	}
	return got
}

// expect polls for len(frames) messages and compares them in order.
func (c *lpConn) expect(frames ...string) {
	c.t.Helper()
	got := c.recv(len(frames))
	for i, want := range frames {
		assert.Frame(c.t, fmt.Sprintf("message %d of %d", i+1, len(frames)), want, got[i])
	}
}

// getAsync sends a poll and returns once the session holds it: after that,
// whatever ends the session is seen by this poll. The returned function
// waits for the answer.
func (c *lpConn) getAsync(sock *phx.Socket) func() lpResp {
	c.t.Helper()
	type answer struct {
		code int
		h    http.Header
		body string
		err  error
	}
	before := time.Now()
	done := make(chan answer, 1)
	req := c.request(http.MethodGet, "", "")
	go func() {
		var a answer
		a.code, a.h, a.body, a.err = lpRoundTrip(req)
		done <- a
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(timeout); ; {
		if last, ok := sock.LPLastPoll(c.token); ok && last.After(before) {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the poll did not reach the session within %v", timeout)
		}
		<-tick.C
	}
	return func() lpResp {
		c.t.Helper()
		a := <-done
		if a.err != nil {
			c.t.Fatalf("GET %s: %v", req.URL, a.err)
		}
		return lpCheck(c.t, "GET "+req.URL.String(), a.code, a.h, a.body)
	}
}

// lpForge re-signs the node and session of token with secret and the
// issue time when, in the token format of longpoll.go
// (node.session.issued36.mac). TestLongPollBadToken checks, with a token
// dated now, that the format still matches.
func lpForge(t testing.TB, secret []byte, token string, when time.Time) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 4 {
		t.Fatalf("token %q is not node.session.issued.mac: lpForge needs updating", token)
	}
	body := parts[0] + "." + parts[1] + "." + strconv.FormatInt(when.Unix(), 36)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("phx-longpoll-v1" + body))
	return body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
