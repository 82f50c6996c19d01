package phx_test

// Limits (issue 6, PROTOCOL.md §11): each one answers on the wire as
// documented and says so in the log. socket_test.go, join_test.go and
// longpoll_test.go already check the wire side of MaxConnections (WebSocket),
// MaxFrameSize, MaxChannels, IdleTimeout and the LongPoll batch cap; this
// file adds what they do not check.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/internal/assert"
)

// rbEventually polls cond, backing off, until it holds or timeout passed.
// For states that no event announces, such as a connection count.
func rbEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; !cond(); delay = min(2*delay, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(delay)
	}
}

// rbLogged returns the records whose level is level ("" for any) and
// whose message satisfies match.
func rbLogged(t testing.TB, logs *logBuffer, level string, match func(msg string) bool) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range logs.records(t) {
		msg, _ := r["msg"].(string)
		if (level == "" || r["level"] == level) && match(msg) {
			out = append(out, r)
		}
	}
	return out
}

// rbExpectLog fails unless exactly want records match; it waits for them a
// while, since a record may be written just after the frame that the test
// saw.
func rbExpectLog(t testing.TB, logs *logBuffer, want int, what, level string, match func(msg string) bool) []map[string]any {
	t.Helper()
	got := rbLogged(t, logs, level, match)
	deadline := time.Now().Add(time.Second)
	for delay := time.Millisecond; len(got) < want && time.Now().Before(deadline); delay *= 2 {
		time.Sleep(delay)
		got = rbLogged(t, logs, level, match)
	}
	if len(got) != want {
		t.Fatalf("%d %s log record(s) %s, want %d; the log:\n%s", len(got), level, what, want, logs.String())
	}
	return got
}

func rbContains(subs ...string) func(string) bool {
	return func(msg string) bool {
		for _, s := range subs {
			if !strings.Contains(msg, s) {
				return false
			}
		}
		return true
	}
}

// MaxNameLength: a topic or event name longer than the limit gets the error
// reply {"reason":"topic too long"} or {"reason":"event too long"} (join_ref
// null, the message's ref) and is not handled; a name at the limit is
// served. Each refusal is a warning in the log.
func TestMaxNameLength(t *testing.T) {
	t.Parallel()
	t.Run("configured", func(t *testing.T) {
		t.Parallel()
		ts, terms := roomServer(t, &phx.SocketOptions{MaxNameLength: 11})
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:123456", `"1"`) // 11 bytes: served
		c.send(`["2","2","room:1234567","phx_join",{}]`)
		c.expect(`[null,"2","room:1234567","phx_reply",{"response":{"reason":"topic too long"},"status":"error"}]`)
		// Not joined: a push to it is refused the same way, not routed.
		c.send(`["2","3","room:1234567","ping",{}]`)
		c.expect(`[null,"3","room:1234567","phx_reply",{"response":{"reason":"topic too long"},"status":"error"}]`)

		c.send(`["1","4","room:123456","status_only",{}]`) // an 11-byte event: served
		c.expect(`["1","4","room:123456","phx_reply",{"response":{},"status":"ok"}]`)
		// roomChannel crashes on an event it does not know: had the long
		// event reached it, phx_error would come before the heartbeat reply.
		c.send(`["1","5","room:123456","status_only!",{}]`)
		c.expect(`[null,"5","room:123456","phx_reply",{"response":{"reason":"event too long"},"status":"error"}]`)
		c.roundTrip()
		terms.none(t)

		rec := rbExpectLog(t, ts.logs, 2, "about the long topic", "WARN", rbContains("topic too long"))
		assert.Equal[any](t, "max in the log", float64(11), rec[0]["max"])
		rbExpectLog(t, ts.logs, 1, "about the long event", "WARN", rbContains("event too long"))
	})
	t.Run("default 1024", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, nil)
		c := ts.dial(t, "vsn=1.0.0")
		ok := "room:" + strings.Repeat("a", 1024-5)
		long := ok + "a"
		c.send(`{"topic":"` + ok + `","event":"phx_join","payload":{},"ref":"1"}`)
		c.expect(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"` + ok + `"}`)
		c.send(`{"topic":"` + long + `","event":"phx_join","payload":{},"ref":"2"}`)
		c.expect(`{"event":"phx_reply","payload":{"response":{"reason":"topic too long"},"status":"error"},"ref":"2","topic":"` + long + `"}`)
		rbExpectLog(t, ts.logs, 1, "about the long topic", "WARN", rbContains("topic too long"))
	})
}

// MaxConnections: past the cap, a WebSocket handshake gets HTTP 503 before
// the upgrade and a new LongPoll session {"status":500}, which phoenix.js
// retries; both are warnings in the log; a closed connection frees its slot.
func TestMaxConnectionsBothTransports(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(&phx.SocketOptions{MaxConnections: 1}))
	c := ts.dial(t, "vsn=2.0.0")
	c.roundTrip()
	assert.Equal(t, "WebSocket handshake", 503, ts.status(t, "vsn=2.0.0", nil))
	rbExpectLog(t, ts.logs, 1, "about the WebSocket refused", "WARN", rbContains("MaxConnections"))
	r := lpDo(t, "GET", lpURL(ts)+"?vsn=2.0.0", nil, "", "")
	assert.Frame(t, "LongPoll GET", `{"status":500}`, r.body)
	rbExpectLog(t, ts.logs, 2, "about the WebSocket and the LongPoll session refused", "WARN", rbContains("MaxConnections"))

	// Closing the WebSocket frees the slot, which a LongPoll session takes.
	assert.Success(t, "close", c.ws.Close(websocket.StatusNormalClosure, ""))
	rbEventually(t, "the closed connection leaves", func() bool { return ts.sock.Stats().Connections == 0 })
	lp := lpOpen(t, lpURL(ts), "vsn=2.0.0")
	assert.Equal(t, "WebSocket handshake while the LongPoll session is open", 503, ts.status(t, "vsn=2.0.0", nil))
	lp.postOK(lpJoin1)
	lp.expect(lpJoined)
}

// LP-6: past 100 lines, a POST's lines are ignored (as Phoenix does); the
// server says so in a warning, since the client's messages are lost. The
// record must be a WARN whose message names LongPoll and the lines or batch.
func TestLongPollBatchCapLogged(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, lpOpts(nil))
	c := lpOpen(t, lpURL(ts), "vsn=2.0.0")
	c.postOK(lpJoin1)
	c.expect(lpJoined)
	lines := make([]string, 101)
	for i := range lines {
		lines[i] = lpPing(fmt.Sprint(i + 1))
	}
	c.postOK(lines...)
	rbExpectLog(t, ts.logs, 1, "about the line past 100 that was dropped", "WARN", func(msg string) bool {
		return strings.Contains(msg, "LongPoll") && (strings.Contains(msg, "line") || strings.Contains(msg, "batch"))
	})
}

// §6, §11: a frame over MaxFrameSize closes the connection with 1009, and
// the log says why: a WARN record whose message names the code, as the
// other closes do ("(code 1009)").
func TestMaxFrameSizeLogged(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, &phx.SocketOptions{MaxFrameSize: 1024})
	c := ts.dial(t, "vsn=2.0.0")
	c.join("room:1", `"1"`)
	frame, _ := frameOfSize(1025)
	c.send(frame)
	c.expectClose(websocket.StatusMessageTooBig)
	rbExpectLog(t, ts.logs, 1, "about the frame over MaxFrameSize", "WARN", rbContains("1009"))
}

// MaxChannels: the refused join is a warning in the log with the cap.
func TestMaxChannelsLogged(t *testing.T) {
	t.Parallel()
	ts, _ := roomServer(t, &phx.SocketOptions{MaxChannels: 1})
	c := ts.dial(t, "vsn=2.0.0")
	c.join("room:1", `"1"`)
	c.send(`["2","2","room:2","phx_join",{}]`)
	c.expect(`["2","2","room:2","phx_reply",{"response":{"reason":"too many channels joined"},"status":"error"}]`)
	rec := rbExpectLog(t, ts.logs, 1, "about the join past MaxChannels", "WARN", rbContains("too many channels joined"))
	assert.Equal[any](t, "max in the log", float64(1), rec[0]["max"])
}

// T-2b, §6: a client that never sends a heartbeat, nor anything else, not
// even a first frame, is closed with 1001 after IdleTimeout, and the log
// says so; a client that pushes events but sends no heartbeat is not idle.
func TestHeartbeatlessClients(t *testing.T) {
	t.Parallel()
	const idle = 200 * time.Millisecond
	t.Run("silent from the start", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, &phx.SocketOptions{IdleTimeout: idle})
		c := ts.dial(t, "vsn=2.0.0")
		start := time.Now()
		c.expectClose(websocket.StatusGoingAway)
		if since := time.Since(start); since < idle/2 {
			t.Errorf("closed after %v, before the idle timeout of %v", since, idle)
		}
		rbExpectLog(t, ts.logs, 1, "about the idle connection", "", rbContains("idle", "1001"))
	})
	t.Run("pushes without heartbeats", func(t *testing.T) {
		t.Parallel()
		ts, _ := roomServer(t, &phx.SocketOptions{IdleTimeout: idle})
		c := ts.dial(t, "vsn=2.0.0")
		c.join("room:1", `"1"`)
		tick := time.NewTicker(idle / 4)
		defer tick.Stop()
		for i := 0; i < 12; i++ { // 3 idle timeouts
			<-tick.C
			ref := fmt.Sprintf(`"p%d"`, i)
			c.send(`["1",` + ref + `,"room:1","ping",{}]`)
			c.expect(`["1",` + ref + `,"room:1","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]`)
		}
		rbExpectLog(t, ts.logs, 0, "about an idle connection", "", rbContains("idle", "1001"))
	})
}
