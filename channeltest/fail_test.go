package channeltest_test

// Every assertion must fail when it should: each case runs an assertion
// against a fake testing.TB and checks that it failed with a useful message.
// The cases run in a synctest bubble, so timeouts cost no real time.

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/phxgo/phx/channeltest"
)

// fakeTB records failures instead of failing the test. Fatalf ends the
// goroutine, as testing.T's does; everything else goes to the real TB.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msg    string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed, f.msg = true, f.msg+fmt.Sprintf(format, args...)
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// run runs fn on its own goroutine, like a test, and returns whether it
// failed and with what message.
func (f *fakeTB) run(fn func()) (failed bool, msg string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	failed, msg = f.failed, f.msg
	f.failed, f.msg = false, ""
	return failed, msg
}

func TestAssertionsFail(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sock, _ := newSocket(nil)
		tb := &fakeTB{TB: t}
		c := channeltest.NewClient(tb, sock, "", nil)
		w := channeltest.NewClient(tb, sock, "", nil) // for wire mode
		var ch, only *channeltest.Channel
		if failed, msg := tb.run(func() {
			ch = c.MustJoin("room:1", nil)
			only, _, _ = c.JoinOnly("room:only", nil)
		}); failed || only == nil {
			t.Fatalf("setup failed: %s", msg)
		}

		for _, tc := range []struct {
			name string
			fn   func()
			want []string
		}{
			{"AssertReply payload", func() {
				ch.AssertReply(ch.Push("echo", map[string]string{"ping": "ping"}), "ok", map[string]string{"ping": "pong"})
			}, []string{`AssertReply: reply to ref`, `on "room:1"`, "different response (-want +got)", `-`, `"pong"`, `+`, `"ping"`}},
			{"AssertReply status", func() {
				ch.AssertReply(ch.Push("refuse", map[string]int{"code": 1}), "ok", channeltest.Any)
			}, []string{`has status "error", want "ok"`, `{"code":1}`}},
			{"AssertReply timeout", func() {
				ch.AssertReply(ch.Push("noreply", nil), "ok", nil)
			}, []string{"timed out", "no reply to ref", "within 1s", "unconsumed frames on the topic"}},
			{"AssertReply binary vs JSON", func() {
				ch.AssertReply(ch.Push("binary", nil), "ok", map[string]int{"a": 1})
			}, []string{"got a binary payload of 3 bytes (01 02 03)", `want the JSON value {"a":1}`}},
			{"RefuteReply", func() {
				ch.RefuteReply(ch.Push("echo", map[string]int{"n": 1}))
			}, []string{"RefuteReply: got a reply to ref", `status "ok", response {"n":1}`}},
			{"AssertPush payload", func() {
				ch.Push("push", map[string]int{"a": 1})
				ch.AssertPush("pushed", map[string]int{"a": 2})
			}, []string{`AssertPush: no push "pushed" on "room:1" matching {"a":2} within 1s`, `push "pushed" #1 differs (-want +got)`, "-", "2", "+", "1", `"pushed",{"a":1}`}},
			{"AssertPush none", func() {
				ch.AssertPush("never", nil)
			}, []string{`no push "never" on "room:1" matching {} within 1s`}},
			{"RefutePush", func() {
				ch.Push("push", map[string]int{"b": 1})
				ch.RefutePush("pushed")
			}, []string{`RefutePush: got push "pushed" on "room:1" with payload`}},
			{"AssertBroadcast payload", func() {
				ch.Push("shout", map[string]int{"a": 1})
				ch.AssertBroadcast("shout", map[string]int{"a": 2})
			}, []string{`AssertBroadcast "shout" matching {"a":2}`, "timed out", `broadcast "shout" differs (-want +got)`}},
			{"RefuteBroadcast", func() {
				ch.Push("shout", map[string]int{"c": 1})
				ch.RefuteBroadcast("shout")
			}, []string{`RefuteBroadcast: got broadcast "shout" on "room:1"`}},
			{"AssertBroadcast after JoinOnly", func() {
				only.AssertBroadcast("shout", nil)
			}, []string{"joined with JoinOnly", "use Join"}},
			{"AssertClosed still open", func() {
				ch.AssertClosed()
			}, []string{`AssertClosed`, `channel "room:1" still open after 1s`}},
			{"MustJoin refused", func() {
				c.MustJoin("room:x", map[string]bool{"crash": true})
			}, []string{"could not join channel", `join "room:x" refused`, "join crashed"}},
			{"AssertJoinError joined", func() {
				c.AssertJoinError("room:y", nil, channeltest.Any)
			}, []string{`join "room:y" succeeded with response {"joined":"room:y"}, want an error reply <any>`}},
			{"AssertJoinError payload", func() {
				c.AssertJoinError("room:z", map[string]any{"refuse": map[string]string{"reason": "no"}}, map[string]string{"reason": "yes"})
			}, []string{`join "room:z" refused with a different response (-want +got)`, `"yes"`, `"no"`}},
			{"Push unencodable", func() {
				ch.Push("echo", map[string]any{"f": func() {}})
			}, []string{`Push("echo"): encoding the payload`}},
			{"AssertFrame", func() {
				w.SendFrame(`[null,"w1","phoenix","heartbeat",{}]`)
				w.AssertFrame(`[null,"w1","phoenix","phx_reply",{"response":{},"status":"error"}]`)
			}, []string{"AssertFrame: frame mismatch", `want [null,"w1","phoenix","phx_reply",{"response":{},"status":"error"}]`, `got [null,"w1","phoenix","phx_reply",{"response":{},"status":"ok"}]`}},
			{"AssertClosedWith open", func() {
				w.AssertClosedWith(1011)
			}, []string{"AssertClosedWith(1011): the connection is still open after 1s; unconsumed frames: none"}},
		} {
			if failed, msg := tb.run(tc.fn); !failed {
				t.Errorf("%s: the assertion passed, want a failure", tc.name)
			} else {
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("%s: failure message lacks %q:\n%s", tc.name, w, msg)
					}
				}
			}
		}

		// The ends of a channel are told apart.
		var stop, crash *channeltest.Channel
		tb.run(func() {
			stop = c.MustJoin("room:stop", nil)
			stop.Push("stop", nil)
			crash = c.MustJoin("room:crash", nil)
			crash.Push("crash", nil)
		})
		if failed, msg := tb.run(stop.AssertCrashed); !failed || !strings.Contains(msg, `AssertCrashed: channel "room:stop" ended with phx_close, want phx_error`) {
			t.Errorf("AssertCrashed on a stopped channel: failed=%v %s", failed, msg)
		}
		if failed, msg := tb.run(crash.AssertClosed); !failed || !strings.Contains(msg, `AssertClosed: channel "room:crash" ended with phx_error, want phx_close`) {
			t.Errorf("AssertClosed on a crashed channel: failed=%v %s", failed, msg)
		}

		// A close code other than the expected one.
		c.SendFrame("not a frame")
		if failed, msg := tb.run(func() { c.AssertClosedWith(1001) }); !failed || !strings.Contains(msg, "closed with code 1011") {
			t.Errorf("AssertClosedWith(1001) after a malformed frame: failed=%v %s", failed, msg)
		}
		if failed, msg := tb.run(func() { ch.AssertPush("anything", nil) }); !failed || !strings.Contains(msg, "before the connection ended") || !strings.Contains(msg, "code 1011") {
			t.Errorf("AssertPush on a closed connection: failed=%v %s", failed, msg)
		}
	})
}

// TestAssertionsPass is the control for TestAssertionsFail: the same fake
// TB records no failure when the assertions hold.
func TestAssertionsPass(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sock, _ := newSocket(nil)
		tb := &fakeTB{TB: t}
		c := channeltest.NewClient(tb, sock, "", nil)
		failed, msg := tb.run(func() {
			ch := c.MustJoin("room:1", nil)
			ch.AssertPush("welcome", map[string]string{"topic": "room:1"})
			ch.AssertReply(ch.Push("echo", map[string]string{"ping": "pong"}), "ok", map[string]string{"ping": "pong"})
			ch.RefuteReply(ch.Push("noreply", nil))
			ch.Push("push", map[string]int{"a": 1})
			ch.AssertPush("pushed", map[string]int{"a": 1})
			ch.RefutePush("pushed")
			ch.Push("shout", map[string]int{"a": 1})
			ch.AssertBroadcast("shout", map[string]int{"a": 1})
			ch.RefuteBroadcast("shout")
			c.AssertJoinError("room:x", map[string]bool{"crash": true}, map[string]string{"reason": "join crashed"})
			ch.Push("stop", nil)
			ch.AssertClosed()
			// Frames no assertion consumed stay queued, oldest first: the
			// reply to "push" (ref 4), the fastlane shout, the reply to shout.
			c.AssertFrame(`["1","4","room:1","phx_reply",{"response":{},"status":"ok"}]`)
			c.AssertFrame(`[null,null,"room:1","shout",{"a":1}]`)
			c.AssertFrame(`["1","5","room:1","phx_reply",{"response":{},"status":"ok"}]`)
		})
		if failed {
			t.Fatalf("assertions failed: %s", msg)
		}
	})
}
