package channeltest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/channeltest"
)

func TestJoinReplyThenPushes(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)

	ch, reply, err := c.Join("room:1", map[string]string{"hello": "join"})
	if err != nil {
		t.Fatal(err)
	}
	if d := channeltest.Diff(map[string]string{"joined": "room:1"}, reply); d != "" {
		t.Fatalf("join reply %s", d)
	}
	// The push made during Join follows the reply.
	event, p, err := ch.NextPush()
	if err != nil || event != "welcome" {
		t.Fatalf("NextPush = %q, %s, %v; want welcome", event, p.Data, err)
	}
	ref := ch.Push("echo", map[string]any{"n": 1, "list": []string{"a"}, "nested": map[string]bool{"ok": true}})
	ch.AssertReply(ref, "ok", map[string]any{"n": 1.0, "list": []any{"a"}, "nested": map[string]any{"ok": true}})
	if ch.Topic() != "room:1" {
		t.Errorf("Topic() = %q", ch.Topic())
	}
}

func TestJoinRefusals(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)

	_, reply, err := c.Join("room:1", map[string]any{"refuse": map[string]string{"reason": "unauthorized"}})
	var je *channeltest.JoinError
	if !errors.As(err, &je) {
		t.Fatalf("Join error = %v, want a *JoinError", err)
	}
	if je.Status != "error" || je.Topic != "room:1" {
		t.Errorf("JoinError = %+v", je)
	}
	if d := channeltest.Diff(map[string]string{"reason": "unauthorized"}, je.Payload); d != "" {
		t.Errorf("refusal payload %s", d)
	}
	if d := channeltest.Diff(map[string]string{"reason": "unauthorized"}, reply); d != "" {
		t.Errorf("Join's reply on refusal %s", d)
	}
	want := `channeltest: join "room:1" refused: status "error", response {"reason":"unauthorized"}`
	if err.Error() != want {
		t.Errorf("Error() = %s\nwant %s", err, want)
	}

	_, _, err = c.Join("room:2", map[string]bool{"crash": true})
	if err == nil || !errors.As(err, &je) || string(je.Payload.Data) != `{"reason":"join crashed"}` {
		t.Errorf("crashed join: %v", err)
	}
	_, _, err = c.JoinOnly("nowhere", nil)
	if err == nil || !errors.As(err, &je) || string(je.Payload.Data) != `{"reason":"unmatched topic"}` {
		t.Errorf("unmatched topic: %v", err)
	}

	c.AssertJoinError("room:3", map[string]any{"refuse": map[string]any{}}, nil)
	c.AssertJoinError("room:4", map[string]bool{"crash": true}, map[string]string{"reason": "join crashed"})
	c.AssertJoinError("lobby", nil, channeltest.Any)

	// A refused topic can still be joined afterwards.
	c.MustJoin("room:1", nil)
}

func TestConnect(t *testing.T) {
	t.Parallel()
	errBadToken := errors.New("bad token")
	sock, _ := newSocket(&phx.SocketOptions{
		Connect: func(ctx context.Context, c *phx.Conn) error {
			if c.Params.Get("token") != "secret" {
				return errBadToken
			}
			if c.Params.Get("vsn") != "2.0.0" {
				return fmt.Errorf("vsn %q", c.Params.Get("vsn"))
			}
			// Params and headers are Connect's to read (phx clears them
			// afterwards); what channels need goes into Assigns.
			c.ID = "user:7"
			c.Assigns = map[string]any{"user_id": 7, "header": c.Header.Get("X-Test"), "addr": c.RemoteAddr}
			return nil
		},
	})

	if _, err := channeltest.Connect(t, sock, map[string]string{"token": "wrong"}, nil); !errors.Is(err, errBadToken) {
		t.Fatalf("Connect with a bad token: err = %v, want %v", err, errBadToken)
	}
	c, err := channeltest.Connect(t, sock, map[string]string{"token": "secret"}, http.Header{"X-Test": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	ch := c.MustJoin("room:1", nil)
	ref := ch.Push("whoami", nil)
	ch.AssertReply(ref, "ok", map[string]any{
		"id": "user:7", "assigns": map[string]any{"user_id": 7, "header": "yes", "addr": "192.0.2.1:1"},
	})

	// socket/3: id and assigns without Connect.
	c2 := channeltest.NewClient(t, sock, "user:8", map[string]any{"role": "admin"})
	ch2 := c2.MustJoin("room:1", nil)
	ch2.AssertReply(ch2.Push("whoami", nil), "ok", map[string]any{
		"id": "user:8", "assigns": map[string]string{"role": "admin"},
	})
}

func TestReplies(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)
	ch := c.MustJoin("room:1", nil)

	ch.AssertReply(ch.Push("refuse", map[string]int{"code": 42}), "error", map[string]int{"code": 42})
	ch.AssertReply(ch.Push("echo", nil), "ok", nil) // nil is {}
	ch.AssertReply(ch.Push("echo", map[string]int{"x": 1}), "ok", channeltest.Any)
	ch.AssertReply(ch.Push("echo", json.RawMessage(`{"x":[1,2]}`)), "ok", json.RawMessage(`{"x": [1, 2]}`))
	type point struct {
		X int `json:"x"`
	}
	ch.AssertReply(ch.Push("echo", point{X: 3}), "ok", map[string]int{"x": 3})
	// A func is a pattern with a guard.
	ch.AssertReply(ch.Push("echo", map[string]int{"counter": 5}), "ok", func(p phx.Payload) error {
		var in struct{ Counter int }
		if err := p.Decode(&in); err != nil || in.Counter <= 0 {
			return fmt.Errorf("counter %d, want > 0 (%v)", in.Counter, err)
		}
		return nil
	})

	// Reply is the primitive.
	status, p, err := ch.Reply(ch.Push("echo", map[string]string{"a": "b"}))
	if err != nil || status != "ok" || string(p.Data) != `{"a":"b"}` {
		t.Errorf("Reply = %q, %s, %v", status, p.Data, err)
	}
	// noreply: nothing comes back.
	ch.RefuteReply(ch.Push("noreply", nil))
}

func TestRoutingKeepsOtherFramesQueued(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)
	a := c.MustJoin("room:a", nil)
	b := c.MustJoin("room:b", nil)

	refA := a.Push("count", map[string]int{"n": 3})
	refB := b.Push("push", map[string]string{"from": "b"})
	ra := a.Push("echo", map[string]string{"to": "a"})
	// Asserting on b first must not consume a's frames, and vice versa.
	b.AssertPush("pushed", map[string]string{"from": "b"})
	b.AssertReply(refB, "ok", nil)
	a.RefuteReply(refA) // count does not reply
	a.AssertReply(ra, "ok", map[string]string{"to": "a"})
	// Selective receive: the third push can be asserted before the first.
	a.AssertPush("n", map[string]int{"n": 3})
	// The welcome pushes and n 1, n 2 stayed queued, in order.
	for _, want := range []string{"welcome", "n", "n"} {
		ev, _, err := a.NextPush()
		if err != nil || ev != want {
			t.Fatalf("a.NextPush = %q, %v; want %q", ev, err, want)
		}
	}
	ev, _, err := b.NextPush()
	if err != nil || ev != "welcome" {
		t.Fatalf("b.NextPush = %q, %v; want welcome", ev, err)
	}
	a.RefutePush("n")
}

func TestBroadcasts(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	alice := channeltest.NewClient(t, sock, "alice", nil)
	bob := channeltest.NewClient(t, sock, "bob", nil)
	a := alice.MustJoin("room:lobby", nil)
	b := bob.MustJoin("room:lobby", nil)

	// A channel's broadcast reaches the test's subscription and, as a
	// fastlane push, every client joined to the topic, its sender included.
	a.AssertReply(a.Push("shout", map[string]string{"body": "hi"}), "ok", nil)
	a.AssertBroadcast("shout", map[string]string{"body": "hi"})
	a.AssertPush("shout", map[string]string{"body": "hi"})
	b.AssertPush("shout", map[string]string{"body": "hi"})
	b.AssertBroadcast("shout", map[string]string{"body": "hi"})

	// The channel's BroadcastFrom skips its own client.
	a.AssertReply(a.Push("whisper", map[string]string{"body": "psst"}), "ok", nil)
	b.AssertPush("whisper", map[string]string{"body": "psst"})
	a.AssertBroadcast("whisper", channeltest.Any)
	a.RefutePush("whisper")

	// The test's BroadcastFrom reaches every channel but not the test's own
	// subscription; other clients' subscriptions see it.
	if err := a.BroadcastFrom("news", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	a.AssertPush("news", map[string]int{"n": 1})
	b.AssertPush("news", map[string]int{"n": 1})
	b.AssertBroadcast("news", map[string]int{"n": 1})
	a.RefuteBroadcast("news")

	// An intercepted event goes through HandleOut.
	if err := a.BroadcastFrom("intercepted", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	a.AssertPush("rewritten", map[string]any{"n": 2, "seen_by": "HandleOut"})
	a.RefutePush("intercepted")

	// A server broadcast reaches all.
	if err := sock.Broadcast(context.Background(), "room:lobby", "server", nil); err != nil {
		t.Fatal(err)
	}
	a.AssertBroadcast("server", nil)
	b.AssertPush("server", nil)
	ev, p, err := b.NextBroadcast()
	if err != nil || ev != "whisper" || string(p.Data) != `{"body":"psst"}` {
		t.Errorf("NextBroadcast = %q %s %v", ev, p.Data, err)
	}

	// JoinOnly does not subscribe the test.
	c := channeltest.NewClient(t, sock, "carol", nil)
	only, _, err := c.JoinOnly("room:lobby", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := only.NextBroadcast(); err == nil {
		t.Error("NextBroadcast on a JoinOnly channel succeeded")
	}
	if err := b.BroadcastFrom("late", nil); err != nil {
		t.Fatal(err)
	}
	only.AssertPush("late", nil)
	if err := b.BroadcastFrom("bad", []int{1}); !errors.Is(err, phx.ErrNotObject) {
		t.Errorf("BroadcastFrom with an array: %v, want ErrNotObject", err)
	}
}

func TestChannelEnds(t *testing.T) {
	t.Parallel()
	sock, rc := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)

	stop := c.MustJoin("room:stop", nil)
	stop.AssertReply(stop.Push("stop", nil), "ok", map[string]bool{"bye": true})
	stop.AssertClosed()
	if err := rc.waitTerminate(t); !errors.Is(err, phx.ErrStop) {
		t.Errorf("Terminate after stop: %v", err)
	}

	crash := c.MustJoin("room:crash", nil)
	ref := crash.Push("crash", nil)
	crash.AssertCrashed()
	crash.RefuteReply(ref)
	// The topic is no longer joined: the server answers "unmatched topic".
	crash.AssertReply(crash.Push("echo", nil), "error", map[string]string{"reason": "unmatched topic"})
	rc.waitTerminate(t)

	pnc := c.MustJoin("room:panic", nil)
	pnc.Push("panic", nil)
	if ev, err := pnc.Ended(); ev != "phx_error" || err != nil {
		t.Errorf("Ended after a panic = %q, %v", ev, err)
	}
	rc.waitTerminate(t)

	leave := c.MustJoin("room:leave", nil)
	leave.AssertReply(leave.Leave(), "ok", nil)
	leave.AssertClosed()
	if err := rc.waitTerminate(t); !errors.Is(err, phx.ErrLeft) {
		t.Errorf("Terminate after leave: %v", err)
	}

	// Rejoining a topic gives a new channel; the old one gets phx_close.
	first := c.MustJoin("room:dup", nil)
	second := c.MustJoin("room:dup", nil)
	first.AssertClosed()
	second.AssertReply(second.Push("echo", nil), "ok", nil)

	// Close is the transport going away: Terminate sees ErrClosed, and
	// waiting on the client reports it is closed.
	c.Close()
	if err := rc.waitTerminate(t); !errors.Is(err, phx.ErrClosed) {
		t.Errorf("Terminate after Close: %v", err)
	}
	if _, _, err := second.Reply(second.Push("echo", nil)); err == nil {
		t.Error("Reply after Close succeeded")
	}
	c.Close() // idempotent
}

func TestBinaryPayloads(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)
	ch := c.MustJoin("room:bin", nil)

	ch.AssertReply(ch.Push("binary", nil), "ok", phx.Binary{1, 2, 3})
	ch.AssertPush("bin", []byte{4, 5})
	// A binary push reaches HandleIn as raw bytes; echo replies with them.
	ref := ch.Push("echo", phx.Binary{0, 255, 'x'})
	status, p, err := ch.Reply(ref)
	if err != nil || status != "ok" || !p.Binary || string(p.Data) != "\x00\xffx" {
		t.Fatalf("binary echo: %q %+v %v", status, p, err)
	}
	if err := ch.BroadcastFrom("blob", phx.Binary("raw")); err != nil {
		t.Fatal(err)
	}
	ch.AssertPush("blob", phx.Binary("raw"))
}

func TestDiff(t *testing.T) {
	t.Parallel()
	js := func(s string) phx.Payload { return phx.Payload{Data: []byte(s)} }
	bin := func(s string) phx.Payload { return phx.Payload{Data: []byte(s), Binary: true} }
	for _, tc := range []struct {
		name  string
		want  any
		got   phx.Payload
		match bool
	}{
		{"string map", map[string]string{"ping": "pong"}, js(`{"ping":"pong"}`), true},
		{"any map", map[string]any{"n": 1}, js(`{"n":1.0}`), true},
		{"struct", struct {
			N int `json:"n"`
		}{1}, js(`{"n":1}`), true},
		{"raw", json.RawMessage(`{"a":[1, {"b":null}]}`), js(`{"a":[1,{"b":null}]}`), true},
		{"nil is {}", nil, js(`{}`), true},
		{"nil vs empty data", nil, phx.Payload{}, true},
		{"nil is not a non-empty map", nil, js(`{"a":1}`), false},
		{"Any", channeltest.Any, js(`{"a":1}`), true},
		{"Any binary", channeltest.Any, bin("x"), true},
		{"value", map[string]string{"ping": "pong"}, js(`{"ping":"ping"}`), false},
		{"extra key", map[string]string{"a": "1"}, js(`{"a":"1","b":"2"}`), false},
		{"number vs string", map[string]any{"n": 1}, js(`{"n":"1"}`), false},
		{"binary", phx.Binary("ab"), bin("ab"), true},
		{"binary bytes", []byte("ab"), bin("ab"), true},
		{"binary payload", phx.Payload{Data: []byte("ab"), Binary: true}, bin("ab"), true},
		{"json payload", phx.Payload{Data: []byte(`{"a":1}`)}, js(`{"a": 1}`), true},
		{"binary differs", phx.Binary("ab"), bin("ac"), false},
		{"binary vs json", phx.Binary("ab"), js(`{}`), false},
		{"json vs binary", map[string]any{}, bin("ab"), false},
		{"unencodable want", map[string]any{"f": func() {}}, js(`{}`), false},
	} {
		d := channeltest.Diff(tc.want, tc.got)
		if (d == "") != tc.match {
			t.Errorf("%s: Diff = %q, want match=%v", tc.name, d, tc.match)
		}
	}
	d := channeltest.Diff(map[string]string{"ping": "pong"}, js(`{"ping":"ping"}`))
	for _, s := range []string{"-want +got", `-`, `"pong"`, `+`, `"ping"`} {
		if !strings.Contains(d, s) {
			t.Errorf("Diff output lacks %q:\n%s", s, d)
		}
	}
}
