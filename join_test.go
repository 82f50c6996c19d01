package phx_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// H-1: the socket answers heartbeats itself, joined or not, echoing the ref
// with join_ref null.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		vsn   string
		join  bool
		send  string
		reply string
	}{
		{"v2 without joins", "2.0.0", false,
			`[null,"7","phoenix","heartbeat",{}]`,
			`[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]`},
		{"v2 with a join", "2.0.0", true,
			`[null,"7","phoenix","heartbeat",{}]`,
			`[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]`},
		{"v2 numeric ref", "2.0.0", false,
			`[null,7,"phoenix","heartbeat",{}]`,
			`[null,7,"phoenix","phx_reply",{"response":{},"status":"ok"}]`},
		{"v2 heartbeat carrying a join_ref", "2.0.0", true,
			`["1","8","phoenix","heartbeat",{}]`,
			`[null,"8","phoenix","phx_reply",{"response":{},"status":"ok"}]`},
		{"v1 without joins", "1.0.0", false,
			`{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"7"}`,
			`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"7","topic":"phoenix"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn="+tt.vsn)
			if tt.join {
				c.join("room:1", `"1"`)
			}
			c.send(tt.send)
			c.expect(tt.reply)
			c.send(tt.send) // and again: the socket stays open
			c.expect(tt.reply)
		})
	}
}

// J-2, J-16: a join of an unrouted topic, or any event on a topic not
// joined, is answered "unmatched topic" with join_ref null; the socket stays
// open.
func TestUnmatchedTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, vsn, send, reply string
	}{
		{"join of an unrouted topic", "2.0.0",
			`["7","7","nope","phx_join",{}]`,
			`[null,"7","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`},
		{"event on a routed topic not joined", "2.0.0",
			`["3","4","room:1","ping",{}]`,
			`[null,"4","room:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`},
		{"event on an unrouted topic", "2.0.0",
			`[null,"4","nope","ping",{}]`,
			`[null,"4","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`},
		{"v1 join of an unrouted topic", "1.0.0",
			`{"topic":"nope","event":"phx_join","payload":{},"ref":"7","join_ref":"7"}`,
			`{"event":"phx_reply","payload":{"response":{"reason":"unmatched topic"},"status":"error"},"ref":"7","topic":"nope"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn="+tt.vsn)
			c.send(tt.send)
			c.expect(tt.reply)
			c.roundTrip()
		})
	}
}

// J-3: the join past MaxChannels is refused with the client's refs; a
// duplicate join does not count twice, and a leave frees a slot.
func TestMaxChannels(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, &phx.SocketOptions{MaxChannels: 2})
	c := ts.dial(t, "vsn=2.0.0")
	c.join("room:1", `"1"`)
	c.join("room:2", `"2"`)
	c.send(`["3","3","room:3","phx_join",{}]`)
	c.expect(`["3","3","room:3","phx_reply",{"response":{"reason":"too many channels joined"},"status":"error"}]`)
	c.send(`["3","4","room:3","ping",{}]`)
	c.expect(`[null,"4","room:3","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)

	c.send(`["5","5","room:1","phx_join",{}]`) // duplicate join at the cap
	c.expect(`["5","5","room:1","phx_reply",{"response":{},"status":"ok"}]`,
		`["1","1","room:1","phx_close",{}]`)

	c.send(`["2","6","room:2","phx_leave",{}]`)
	c.expect(`["2","6","room:2","phx_reply",{"response":{},"status":"ok"}]`,
		`["2","2","room:2","phx_close",{}]`)
	c.join("room:3", `"7"`)
}

// J-4: every outcome of Join, and whether the topic is joined afterwards.
func TestJoinOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode     string
		response string
		status   string
		joined   bool
	}{
		{"ok", `{}`, "ok", true},
		{"reply", `{"hello":"world"}`, "ok", true},
		{"refuse", `{"reason":"unauthorized"}`, "error", false},
		{"refuse_nil", `{}`, "error", false},
		{"error", `{"reason":"join crashed"}`, "error", false},
		{"panic", `{"reason":"join crashed"}`, "error", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			ts, terms := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.send(`["1","1","room:1","phx_join",{"mode":"` + tt.mode + `"}]`)
			c.expect(`["1","1","room:1","phx_reply",{"response":` + tt.response + `,"status":"` + tt.status + `"}]`)
			c.send(`["1","2","room:1","ping",{}]`)
			if tt.joined {
				c.expect(`["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
			} else {
				c.expect(`[null,"2","room:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
				c.roundTrip()
				terms.none(t) // Terminate is not called for a refused join
			}
		})
	}
}

// J-5: the join reply is the first frame of a join, before pushes made in
// Join, the after_join idiom, and racing broadcasts.
func TestJoinReplyComesFirst(t *testing.T) {
	t.Parallel()
	t.Run("pushes from Join and HandleInfo", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.send(`["1","1","room:1","phx_join",{"mode":"push"}]`)
		c.expect(`["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["1",null,"room:1","in_join",{"n":1}]`)
		c.expectAnyOrder(`[null,null,"room:1","user_entered",{"user":null}]`,
			`["1",null,"room:1","joined",{"status":"connected"}]`)
		c.settle("room:1", `"1"`)
	})
	t.Run("racing broadcasts", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		for i := range 20 {
			topic := fmt.Sprintf("room:race:%d", i)
			jr := fmt.Sprintf(`"%d"`, i+1)
			var wg sync.WaitGroup
			wg.Go(func() {
				for range 200 {
					_ = ts.sock.Broadcast(context.Background(), topic, "tick", map[string]int{})
				}
			})
			c.send(`[` + jr + `,` + jr + `,"` + topic + `","phx_join",{}]`)
			assert.Frame(t, "first frame of the join",
				`[`+jr+`,`+jr+`,"`+topic+`","phx_reply",{"response":{},"status":"ok"}]`, c.read())
			wg.Wait()
			// Every tick is queued by now; a ping through the session
			// follows them, and proves the join (and subscription) done.
			c.send(`[` + jr + `,"sync","` + topic + `","ping",{}]`)
			for {
				f := c.read()
				if f == `[`+jr+`,"sync","`+topic+`","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]` {
					break
				}
				assert.Frame(t, "frame after the join reply", `[null,null,"`+topic+`","tick",{}]`, f)
			}
		}
	})
	t.Run("subscribed before the reply", func(t *testing.T) {
		// Phoenix subscribes before it replies: a broadcast made once the
		// client has the ok reply must reach the client.
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		for i := range 200 {
			topic := fmt.Sprintf("room:after:%d", i)
			c.join(topic, fmt.Sprintf(`"%d"`, i+1))
			if err := ts.sock.Broadcast(context.Background(), topic, "news", map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
			c.send(`[null,"hb","phoenix","heartbeat",{}]`)
			c.expect(fmt.Sprintf(`[null,null,"%s","news",{"i":%d}]`, topic, i),
				`[null,"hb","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
		}
	})
}

// J-7: Conn.Assigns set by Connect are copied into each Session.Assigns.
func TestAssignsCopiedFromConn(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, &phx.SocketOptions{
		Connect: func(_ context.Context, c *phx.Conn) error {
			c.ID = "user:" + c.Params.Get("user")
			c.Assigns = map[string]any{"user_id": c.Params.Get("user")}
			return nil
		},
	})
	c := ts.dial(t, "user=42&vsn=2.0.0")
	c.join("room:1", `"1"`)
	c.join("room:2", `"2"`)
	c.send(`["1","3","room:1","set_assign",{}]`)
	c.expect(`["1","3","room:1","phx_reply",{"response":{},"status":"ok"}]`)
	c.send(`["1","4","room:1","assigns",{}]`)
	c.expect(`["1","4","room:1","phx_reply",{"response":{"scratch":"room:1","user_id":"42"},"status":"ok"}]`)
	c.send(`["2","5","room:2","assigns",{}]`) // a copy: room:1's change is not seen
	c.expect(`["2","5","room:2","phx_reply",{"response":{"user_id":"42"},"status":"ok"}]`)
	c.send(`["2","6","room:2","conn",{}]`)
	c.expect(`["2","6","room:2","phx_reply",{"response":{"id":"user:42","topic":"room:2"},"status":"ok"}]`)

	other := ts.dial(t, "user=7&vsn=2.0.0")
	other.join("room:1", `"1"`)
	other.send(`["1","2","room:1","assigns",{}]`)
	other.expect(`["1","2","room:1","phx_reply",{"response":{"user_id":"7"},"status":"ok"}]`)
}

// J-9, J-10: a duplicate join gets its own reply first, then phx_close
// with the OLD join_ref; the old session ends without Terminate.
func TestDuplicateJoin(t *testing.T) {
	t.Parallel()
	t.Run("v2", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:1", `"1"`)
		c.send(`["9","9","room:1","phx_join",{}]`)
		c.expect(`["9","9","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["1","1","room:1","phx_close",{}]`)
		c.send(`["9","10","room:1","ping",{}]`)
		c.expect(`["9","10","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
		// One subscription only: the old session left the topic.
		if err := ts.sock.Broadcast(context.Background(), "room:1", "news", nil); err != nil {
			t.Fatal(err)
		}
		c.expect(`[null,null,"room:1","news",{}]`)
		c.roundTrip()
		terms.none(t)
	})
	t.Run("refused rejoin", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:1", `"1"`)
		c.send(`["9","9","room:1","phx_join",{"mode":"refuse"}]`)
		c.expect(`["9","9","room:1","phx_reply",{"response":{"reason":"unauthorized"},"status":"error"}]`,
			`["1","1","room:1","phx_close",{}]`)
		c.send(`["9","10","room:1","ping",{}]`)
		c.expect(`[null,"10","room:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
	})
	t.Run("v1", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=1.0.0")
		c.joinVsn("1.0.0")
		c.send(`{"topic":"room:1","event":"phx_join","payload":{},"ref":"9"}`)
		c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"9","topic":"room:1"}`,
			`{"event":"phx_close","payload":{},"ref":"1","topic":"room:1"}`)
	})
}

// J-12, F-3, F-12: a message carrying another join_ref than the channel's
// is dropped silently; a null join_ref is accepted. Equality is by JSON
// type and value.
func TestStaleJoinRef(t *testing.T) {
	t.Parallel()
	const pong = `["9","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`
	tests := []struct {
		name   string
		send   func(c *wsClient)
		frames []string // nil: nothing
	}{
		{"older join_ref", func(c *wsClient) { c.send(`["1","2","room:1","ping",{}]`) }, nil},
		{"same digits as a number", func(c *wsClient) { c.send(`[9,"2","room:1","ping",{}]`) }, nil},
		{"stale leave", func(c *wsClient) { c.send(`["1","2","room:1","phx_leave",{}]`) }, nil},
		{"binary push with empty join_ref", func(c *wsClient) {
			c.sendBinary([]byte("\x00\x00\x01\x06\x04" + "2" + "room:1" + "ping"))
		}, nil},
		{"null join_ref", func(c *wsClient) { c.send(`[null,"2","room:1","ping",{}]`) }, []string{pong}},
		{"current join_ref", func(c *wsClient) { c.send(`["9","2","room:1","ping",{}]`) }, []string{pong}},
		{"null join_ref leave", func(c *wsClient) { c.send(`[null,"2","room:1","phx_leave",{}]`) }, []string{
			`["9","2","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["9","9","room:1","phx_close",{}]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.join("room:1", `"9"`)
			tt.send(c)
			c.expect(tt.frames...)
			c.roundTrip()
			if tt.frames == nil { // still joined
				c.send(`["9","3","room:1","ping",{}]`)
				c.expect(`["9","3","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
			}
		})
	}
}

// F-3, R-3: refs come back with the JSON type and value they were sent
// with; with a null join_ref the join's ref becomes the channel's join_ref.
func TestRefsRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, jr        string // jr: the channel's join_ref
		join, joinReply string
		ping, pingReply string
		stop, close     string
	}{
		{"strings", `"1"`,
			`["1","1","room:1","phx_join",{}]`, `["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["1","2","room:1","ping",{}]`, `["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`,
			`["1","3","room:1","stop",{}]`, `["1","1","room:1","phx_close",{}]`},
		{"numbers", `1`,
			`[1,1,"room:1","phx_join",{}]`, `[1,1,"room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`[1,2,"room:1","ping",{}]`, `[1,2,"room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`,
			`[1,3,"room:1","stop",{}]`, `[1,1,"room:1","phx_close",{}]`},
		{"big numbers", `12345678901234567890`,
			`[12345678901234567890,98765432109876543210,"room:1","phx_join",{}]`,
			`[12345678901234567890,98765432109876543210,"room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`[12345678901234567890,2,"room:1","ping",{}]`,
			`[12345678901234567890,2,"room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`,
			`[null,3,"room:1","stop",{}]`, `[12345678901234567890,12345678901234567890,"room:1","phx_close",{}]`},
		{"null join_ref", `"1"`,
			`[null,"1","room:1","phx_join",{}]`, `[null,"1","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`[null,"2","room:1","ping",{}]`, `["1","2","room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`,
			`["1","3","room:1","stop",{}]`, `["1","1","room:1","phx_close",{}]`},
		{"null ref on an event", `"1"`,
			`["1","1","room:1","phx_join",{}]`, `["1","1","room:1","phx_reply",{"response":{},"status":"ok"}]`,
			`["1",null,"room:1","ping",{}]`, `["1",null,"room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`,
			`["1","3","room:1","stop",{}]`, `["1","1","room:1","phx_close",{}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := roomServer(t, nil)
			c := ts.dial(t, "vsn=2.0.0")
			c.send(tt.join)
			c.expect(tt.joinReply)
			c.send(tt.ping)
			// Another event right behind, through the same session: a
			// missing reply fails at once instead of timing out.
			c.send(`[null,"next","room:1","status_only",{}]`)
			c.expect(tt.pingReply, `[`+tt.jr+`,"next","room:1","phx_reply",{"response":{},"status":"ok"}]`)
			c.send(tt.stop)
			c.expect(tt.close)
		})
	}
}
