package phx_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// W-11, §11: the CONNECTED line names the socket, the time Connect took,
// the transport, the serializer and the params, with secret values masked;
// no secret reaches the log anywhere.
func TestConnectLog(t *testing.T) {
	t.Parallel()
	const (
		queryToken = "s3cr3t-query-token"
		password   = "hunter2-password"
		bearer     = "b3ar3r-s3cr3t"
		joinSecret = "j0in-s3cr3t"
	)
	tests := []struct {
		name, opt, vsn, serializer string
	}{
		{"v2", "", "2.0.0", "Phoenix.Socket.V2.JSONSerializer"},
		{"v1 named", "UserSocket", "1.0.0", "Phoenix.Socket.V1.JSONSerializer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, &phx.SocketOptions{Name: tt.opt})
			q := "token=" + queryToken + "&password=" + password + "&user_password=" + password + "2&user=jo&vsn=" + tt.vsn
			o := &websocket.DialOptions{Subprotocols: []string{"phoenix", "base64url.bearer.phx." + base64.RawStdEncoding.EncodeToString([]byte(bearer))}}
			c, _, err := ts.dialOpts(t, q, o)
			assert.Success(t, "dial", err)
			if tt.vsn == "2.0.0" {
				c.send(`["1","1","room:1","phx_join",{"token":"` + joinSecret + `"}]`)
				c.expect(`["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`)
			} else {
				c.send(`{"topic":"room:1","event":"phx_join","payload":{"token":"` + joinSecret + `"},"ref":"1"}`)
				c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`)
			}
			c.settle("room:1", `"1"`) // the JOINED line is written by now

			name := tt.opt
			if name == "" {
				name = "phx.Socket"
			}
			re := regexp.MustCompile(`^CONNECTED TO ` + regexp.QuoteMeta(name) + ` in \d+(µs|ms)$`)
			rec := ts.logs.find(t, "CONNECTED TO "+name, re.MatchString)
			assert.Equal[any](t, "level", "INFO", rec["level"])
			assert.Equal[any](t, "transport", "websocket", rec["transport"])
			assert.Equal[any](t, "serializer", tt.serializer, rec["serializer"])
			assert.Equal[any](t, "params", map[string]any{
				"token": "[FILTERED]", "password": "[FILTERED]", "user_password": "[FILTERED]", "user": "jo", "vsn": tt.vsn,
			}, rec["params"])

			joined := ts.logs.find(t, "JOINED room:1", func(m string) bool { return m == "JOINED room:1" })
			assert.Equal[any](t, "join params", map[string]any{"token": "[FILTERED]"}, joined["params"])

			all := ts.logs.String()
			for _, secret := range []string{queryToken, password, bearer, joinSecret} {
				assert.NotContains(t, "log", all, secret)
			}
		})
	}
}

// W-6, W-11: a refused connection is logged without the secrets the
// Connect error quotes.
func TestRefusedConnectLog(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-token"
	ts, _ := roomServer(t, &phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			return fmt.Errorf("invalid token %q (auth %q)", c.Params.Get("token"), c.AuthToken)
		},
	})
	o := &websocket.DialOptions{Subprotocols: []string{"phoenix", "base64url.bearer.phx." + base64.RawStdEncoding.EncodeToString([]byte(token+"-bearer"))}}
	_, resp, err := ts.dialOpts(t, "token="+token+"&vsn=2.0.0", o)
	if err == nil {
		t.Fatal("handshake succeeded, want 403")
	}
	assert.Equal(t, "status", 403, resp.StatusCode)
	rec := ts.logs.find(t, "REFUSED CONNECTION", func(m string) bool { return strings.HasPrefix(m, "REFUSED CONNECTION TO phx.Socket in ") })
	assert.Contains(t, "error", fmt.Sprint(rec["error"]), "[FILTERED]")
	assert.NotContains(t, "log", ts.logs.String(), token)
}

// J-13, J-4: a crash is logged at ERROR with the error and, for a panic,
// the stack of the panicking callback.
func TestCrashLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, send, reply, msg, err, stack string
	}{
		{"HandleIn panic", `["1","2","room:1","panic",{}]`, error1,
			"phx: channel crashed", "boom", "(*roomChannel).HandleIn"},
		{"HandleIn error", `["1","2","room:1","error",{}]`, error1,
			"phx: channel crashed", "boom", ""},
		{"Join panic", `["3","3","room:2","phx_join",{"mode":"panic"}]`,
			`["3","3","room:2","phx_reply",{"response":{"reason":"join crashed"},"status":"error"}]`,
			"phx: join crashed", "join exploded", "(*roomChannel).Join"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.join("room:1", `"1"`)
			c.send(tt.send)
			c.expect(tt.reply)
			rec := ts.logs.find(t, tt.msg, func(m string) bool { return m == tt.msg })
			assert.Equal[any](t, "level", "ERROR", rec["level"])
			assert.Contains(t, "error", fmt.Sprint(rec["error"]), tt.err)
			stack, _ := rec["stack"].(string)
			if tt.stack == "" {
				return
			}
			assert.Contains(t, "stack", stack, tt.stack)
			assert.Contains(t, "stack", stack, "panic(")
		})
	}
}

// J-2: a join of an unrouted topic is logged as a warning.
func TestUnmatchedTopicLog(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, nil)
	c := ts.dial(t, "vsn=2.0.0")
	c.send(`["7","7","nope","phx_join",{}]`)
	c.expect(`[null,"7","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
	rec := ts.logs.find(t, "about the unmatched topic", func(m string) bool { return strings.Contains(m, `"nope"`) })
	assert.Equal[any](t, "level", "WARN", rec["level"])
}
