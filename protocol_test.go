package phx_test

import (
	"context"
	"errors"
	"testing"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

const (
	closed1 = `["1","1","room:1","phx_close",{}]`
	error1  = `["1","1","room:1","phx_error",{"reason":"channel_crash"}]`
)

// J-13, J-14: every outcome of HandleIn, and whether the topic is still
// joined afterwards.
func TestHandleInOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event   string
		payload string
		frames  []string
		joined  bool // false: the channel ended and the topic is unmatched
	}{
		{"ping", `{}`, []string{`["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`}, true},
		{"status_only", `{}`, []string{`["1","2","room:1","phx_reply",{"response":{},"status":"ok"}]`}, true},
		{"unauthorized", `{}`, []string{`["1","2","room:1","phx_reply",{"response":{"reason":"nope"},"status":"unauthorized"}]`}, true},
		{"error_reply", `{}`, []string{`["1","2","room:1","phx_reply",{"response":{"reason":"invalid"},"status":"error"}]`}, true},
		{"echo", `{"a":[1,2.5,null],"b":"<&>é"}`, []string{`["1","2","room:1","phx_reply",{"response":{"a":[1,2.5,null],"b":"<&>é"},"status":"ok"}]`}, true},
		{"noreply", `{}`, nil, true},
		{"stop", `{}`, []string{closed1}, false},
		{"stop_reply", `{}`, []string{`["1","2","room:1","phx_reply",{"response":{"msg":"shutting down"},"status":"ok"}]`, closed1}, false},
		{"error", `{}`, []string{error1}, false},
		{"panic", `{}`, []string{error1}, false},
		{"no_such_event", `{}`, []string{error1}, false},
		{"reply_error", `{}`, []string{`["1","2","room:1","phx_reply",{"response":{"partial":true},"status":"ok"}]`, error1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.join("room:1", `"1"`)
			c.send(`["1","2","room:1","` + tt.event + `",` + tt.payload + `]`)
			c.expect(tt.frames...)
			c.send(`["1","3","room:1","ping",{}]`)
			if tt.joined {
				c.expect(`["1","3","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
				return
			}
			c.expect(`[null,"3","room:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
			c.join("room:1", `"4"`) // J-14: joinable again
		})
	}
}

// J-15: a crashing channel takes down neither its socket, nor the other
// channels of that socket, nor other sockets on the topic.
func TestCrashIsolation(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, nil)
	a := ts.dial(t, "vsn=2.0.0")
	b := ts.dial(t, "vsn=2.0.0")
	a.join("room:1", `"1"`)
	a.join("room:2", `"2"`)
	b.join("room:1", `"1"`)

	a.send(`["1","3","room:1","panic",{}]`)
	a.expect(error1)

	a.send(`["2","4","room:2","ping",{}]`)
	a.expect(`["2","4","room:2","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
	b.send(`["1","2","room:1","ping",{}]`)
	b.expect(`["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)

	// The crashed session left the topic; the other socket is still on it.
	if err := ts.sock.Broadcast(context.Background(), "room:1", "news", nil); err != nil {
		t.Fatal(err)
	}
	b.expect(`[null,null,"room:1","news",{}]`)
	a.roundTrip()
}

// J-17: a leave is answered ok, then phx_close with the join_ref as both
// refs; Terminate runs with ErrLeft and what it pushes follows phx_close.
func TestLeave(t *testing.T) {
	t.Parallel()
	ts, terms := roomServer(t, nil)
	c := ts.dial(t, "vsn=2.0.0")
	c.send(`["1","1","room:1","phx_join",{"terminate_push":true}]`)
	c.expect(`["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`)
	c.send(`["1","2","room:1","phx_leave",{}]`)
	c.expect(`["1","2","room:1","phx_reply",{"response":{},"status":"ok"}]`,
		closed1,
		`["1",null,"room:1","terminated",{"reason":"left"}]`)
	term := terms.next(t)
	assert.Equal(t, "terminated topic", "room:1", term.topic)
	assert.ErrorIs(t, "Terminate reason", term.reason, phx.ErrLeft)
	c.send(`["1","3","room:1","ping",{}]`)
	c.expect(`[null,"3","room:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
}

// J-18: leaving a topic that is not joined is answered ok with the leave's
// own join_ref, and nothing else.
func TestLeaveNotJoined(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, send, reply string }{
		{"routed topic", `["5","6","room:9","phx_leave",{}]`, `["5","6","room:9","phx_reply",{"response":{},"status":"ok"}]`},
		{"null join_ref", `[null,"6","room:9","phx_leave",{}]`, `[null,"6","room:9","phx_reply",{"response":{},"status":"ok"}]`},
		{"unrouted topic", `["5","6","nope","phx_leave",{}]`, `["5","6","nope","phx_reply",{"response":{},"status":"ok"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.send(tt.send)
			c.expect(tt.reply)
			c.roundTrip()
		})
	}
}

// J-20, F-8: a push is [join_ref, null, topic, event, payload] in V2 and an
// object with ref null in V1; a payload that is not an object is refused.
func TestPush(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, vsn, jr, join, joinReply, push, frame string }{
		{"v2", "2.0.0", `"1"`,
			`["1","1","room:1","phx_join",{}]`, `["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["1","2","room:1","push",{"a":1}]`, `["1",null,"room:1","pushed",{"a":1}]`},
		{"v2 numeric join_ref", "2.0.0", `7`,
			`[7,7,"room:1","phx_join",{}]`, `[7,7,"room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`[7,8,"room:1","push",{"a":1}]`, `[7,null,"room:1","pushed",{"a":1}]`},
		{"v1", "1.0.0", "",
			`{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`,
			`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`,
			`{"topic":"room:1","event":"push","payload":{"a":1},"ref":"2"}`,
			`{"event":"pushed","payload":{"a":1},"ref":null,"topic":"room:1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn="+tt.vsn)
			c.send(tt.join)
			c.expect(tt.joinReply)
			c.send(tt.push)
			c.expect(tt.frame)
			c.settle("room:1", tt.jr) // and no reply to the push
		})
	}
	t.Run("not an object", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:1", `"1"`)
		c.send(`["1","2","room:1","push_not_object",{}]`)
		c.expect(`["1","2","room:1","phx_reply",{"response":{"not_object":true},"status":"ok"}]`)
	})
}

// J-21: a reply taken with Session.Ref and sent from another goroutine
// carries the ref of the message it answers.
func TestAsyncReply(t *testing.T) {
	t.Parallel()
	t.Run("from another goroutine", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:1", `"1"`)
		c.send(`["1","2","room:1","async",{}]`)
		c.expect(`["1","2","room:1","phx_reply",{"response":{"async":true,"empty_status_refused":true},"status":"ok"}]`)
	})
	t.Run("zero ReplyRef", func(t *testing.T) {
		t.Parallel()
		if err := (phx.ReplyRef{}).Reply(phx.ReplyOK(nil)); err == nil {
			t.Fatal("Reply on a zero ReplyRef succeeded, want an error")
		}
	})
}

// T-3 and §5.8: the reason Terminate gets for each way a session ends.
func TestTerminateReasons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		end   func(c *wsClient)
		check func(t *testing.T, reason error)
	}{
		{"leave", func(c *wsClient) { c.send(`["1","2","room:1","phx_leave",{}]`) },
			func(t *testing.T, r error) { assert.ErrorIs(t, "reason", r, phx.ErrLeft) }},
		{"connection closed", func(c *wsClient) { _ = c.ws.Close(websocket.StatusGoingAway, "") },
			func(t *testing.T, r error) { assert.ErrorIs(t, "reason", r, phx.ErrClosed) }},
		{"stop", func(c *wsClient) { c.send(`["1","2","room:1","stop_reply",{}]`) },
			func(t *testing.T, r error) { assert.ErrorIs(t, "reason", r, phx.ErrStop) }},
		{"error", func(c *wsClient) { c.send(`["1","2","room:1","error",{}]`) },
			func(t *testing.T, r error) { assert.ErrorIs(t, "reason", r, errBoom) }},
		{"panic", func(c *wsClient) { c.send(`["1","2","room:1","panic",{}]`) },
			func(t *testing.T, r error) {
				var pe *phx.PanicError
				if !errors.As(r, &pe) {
					t.Fatalf("reason %v (%T), want a *phx.PanicError", r, r)
				}
				assert.Equal[any](t, "panic value", "boom", pe.Value)
				assert.Contains(t, "panic stack", string(pe.Stack), "(*roomChannel).HandleIn")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, terms := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.join("room:1", `"1"`)
			tt.end(c)
			term := terms.next(t)
			assert.Equal(t, "terminated topic", "room:1", term.topic)
			tt.check(t, term.reason)
			terms.none(t)
		})
	}
}

// M-1: a frame that cannot be decoded closes the connection with 1011, no
// frame first, and ends its sessions.
func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		vsn    string
		binary bool
		frame  string
	}{
		{"not JSON", "2.0.0", false, `crash`},
		{"empty frame", "2.0.0", false, ``},
		{"four elements", "2.0.0", false, `["1","1","room:1","phx_join"]`},
		{"object instead of array", "2.0.0", false, `{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}`},
		{"string", "2.0.0", false, `"hello"`},
		{"null", "2.0.0", false, `null`},
		{"truncated JSON", "2.0.0", false, `["1","1","room:1","phx_join",{}`},
		{"v1 missing ref", "1.0.0", false, `{"topic":"room:1","event":"phx_join","payload":{}}`},
		{"v1 missing payload", "1.0.0", false, `{"topic":"room:1","event":"phx_join","ref":"1"}`},
		{"v1 array", "1.0.0", false, `["1","1","room:1","phx_join",{}]`},
		{"v1 binary frame", "1.0.0", true, "\x00\x01\x01\x06\x08" + "11room:1phx_join"},
		{"binary short header", "2.0.0", true, "\x00\x01\x01"},
		{"binary empty", "2.0.0", true, ""},
		{"binary kind 1", "2.0.0", true, "\x01\x00\x00\x06\x04room:1ping"},
		{"binary kind 2", "2.0.0", true, "\x02\x00\x00\x06\x04room:1ping"},
		{"binary truncated fields", "2.0.0", true, "\x00\x05\x00\x00\x00ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, terms := roomServer(t, nil)
			c := ts.dial(t, "vsn="+tt.vsn)
			c.joinVsn(tt.vsn)
			if tt.binary {
				c.sendBinary([]byte(tt.frame))
			} else {
				c.send(tt.frame)
			}
			c.expectClose(websocket.StatusInternalError)
			assert.ErrorIs(t, "Terminate reason", terms.next(t).reason, phx.ErrClosed)
		})
	}
}

// M-2: a well-formed frame whose topic is not a string is not malformed:
// Phoenix routes it like any unknown topic and answers "unmatched topic",
// echoing the topic as it came; the connection stays open.
func TestOddTypesAreUnmatched(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, send, reply string }{
		{"join with a numeric topic", `["1","1",1,"phx_join",{}]`,
			`[null,"1",1,"phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`},
		{"event with a null topic", `["1","2",null,"ping",{}]`,
			`[null,"2",null,"phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.send(tt.send)
			typ, b, err := c.next()
			if err != nil {
				t.Fatalf("got %v (close status %d), want the frame %s", err, websocket.CloseStatus(err), tt.reply)
			}
			assert.Equal(t, "frame type", websocket.MessageText, typ)
			assert.Frame(t, "reply", tt.reply, string(b))
			c.roundTrip()
		})
	}
}
