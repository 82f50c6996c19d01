package channeltest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/channeltest"
)

// Room is the channel `mix phx.gen.channel Room` generates, in Go.
type Room struct{}

func (Room) Join(ctx context.Context, s *phx.Session, topic string, p phx.Payload) (any, error) {
	var in struct{ Token string }
	if err := p.Decode(&in); err != nil || in.Token == "bad" {
		return nil, phx.Refuse(map[string]string{"reason": "unauthorized"})
	}
	return nil, nil
}

func (Room) HandleIn(ctx context.Context, s *phx.Session, event string, p phx.Payload) (phx.Reply, error) {
	switch event {
	case "ping":
		return phx.ReplyOK(p), nil
	case "shout":
		return phx.NoReply, s.Broadcast(ctx, "shout", p)
	case "whoami":
		return phx.ReplyOK(map[string]any{"user_id": s.Assigns["user_id"]}), nil
	case "tick":
		return phx.NoReply, s.Push("tock", map[string]int{"n": 1})
	}
	return phx.NoReply, fmt.Errorf("unknown event %q", event)
}

// userSocket is the app's UserSocket: room:* goes to Room, and Connect
// accepts the token "secret".
func userSocket() *phx.Socket {
	sock := phx.NewSocket(&phx.SocketOptions{
		Logger: slog.New(slog.DiscardHandler),
		Connect: func(ctx context.Context, c *phx.Conn) error {
			if c.Params.Get("token") != "secret" {
				return errors.New("invalid token")
			}
			c.ID, c.Assigns = "user:42", map[string]any{"user_id": 42}
			return nil
		},
	})
	sock.Channel("room:*", Room{})
	return sock
}

// The ChannelCase test that `mix phx.gen.channel Room` generates, ported.
func Example() {
	test(func(t testing.TB) {
		// setup: socket(UserSocket, "user_id", %{some: :assign})
		//        |> subscribe_and_join(RoomChannel, "room:lobby")
		c := channeltest.NewClient(t, userSocket(), "user_id", map[string]any{"some": "assign"})
		ch := c.MustJoin("room:lobby", nil)

		// test "ping replies with status ok"
		ref := ch.Push("ping", map[string]string{"hello": "there"})
		ch.AssertReply(ref, "ok", map[string]string{"hello": "there"})

		// test "shout broadcasts to room:lobby"
		ch.Push("shout", map[string]string{"hello": "all"})
		ch.AssertBroadcast("shout", map[string]string{"hello": "all"})

		// test "broadcasts are pushed to the client"
		ch.BroadcastFrom("broadcast", map[string]string{"some": "data"})
		ch.AssertPush("broadcast", map[string]string{"some": "data"})
		fmt.Println("ok")
	})
	// Output: ok
}

// socket(UserSocket, id, assigns): a client that skips Connect.
func ExampleNewClient() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "user:7", map[string]any{"user_id": 7})
		ch := c.MustJoin("room:lobby", nil)
		ch.AssertReply(ch.Push("whoami", nil), "ok", map[string]int{"user_id": 7})
		fmt.Println("user 7")
	})
	// Output: user 7
}

// connect(UserSocket, params, connect_info: ...): runs the socket's Connect.
func ExampleConnect() {
	test(func(t testing.TB) {
		// assert :error = connect(UserSocket, %{"token" => "nope"})
		_, err := channeltest.Connect(t, userSocket(), map[string]string{"token": "nope"}, nil)
		fmt.Println(err)

		// {:ok, socket} = connect(UserSocket, %{"token" => "secret"})
		c, err := channeltest.Connect(t, userSocket(), map[string]string{"token": "secret"}, http.Header{"User-Agent": {"test"}})
		if err != nil {
			t.Fatal(err)
		}
		ch := c.MustJoin("room:lobby", nil)
		ch.AssertReply(ch.Push("whoami", nil), "ok", map[string]int{"user_id": 42})
		fmt.Println("connected as user 42")
	})
	// Output:
	// invalid token
	// connected as user 42
}

// subscribe_and_join(socket, topic, payload) returning {:ok, reply, socket}
// or {:error, reply}.
func ExampleClient_Join() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "", nil)

		ch, reply, err := c.Join("room:lobby", map[string]string{"token": "good"})
		fmt.Println(ch.Topic(), string(reply.Data), err)

		_, _, err = c.Join("room:lobby", map[string]string{"token": "bad"})
		var refused *channeltest.JoinError
		if errors.As(err, &refused) {
			fmt.Println("refused:", string(refused.Payload.Data))
		}
		_, _, err = c.Join("lobby", nil)
		fmt.Println(err)
	})
	// Output:
	// room:lobby {} <nil>
	// refused: {"reason":"unauthorized"}
	// channeltest: join "lobby" refused: status "error", response {"reason":"unmatched topic"}
}

// assert {:error, %{reason: "unauthorized"}} = subscribe_and_join(...)
func ExampleClient_AssertJoinError() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "", nil)
		c.AssertJoinError("room:lobby", map[string]string{"token": "bad"}, map[string]string{"reason": "unauthorized"})
		fmt.Println("refused")
	})
	// Output: refused
}

// join(socket, topic, payload): joins without subscribing the test, so
// only what reaches the client can be asserted.
func ExampleClient_JoinOnly() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "", nil)
		ch, _, err := c.JoinOnly("room:lobby", nil)
		if err != nil {
			t.Fatal(err)
		}
		ch.Push("shout", map[string]string{"hello": "all"})
		ch.AssertPush("shout", map[string]string{"hello": "all"}) // the fastlane push
		_, _, err = ch.NextBroadcast()
		fmt.Println(err != nil)
	})
	// Output: true
}

// assert_reply with a pattern and a guard: %{"hello" => h} when h != "".
func ExampleChannel_AssertReply() {
	test(func(t testing.TB) {
		ch := channeltest.NewClient(t, userSocket(), "", nil).MustJoin("room:lobby", nil)

		ref := ch.Push("ping", map[string]any{"hello": "there", "at": 1712})
		ch.AssertReply(ref, "ok", func(p phx.Payload) error {
			var in struct{ Hello string }
			if err := p.Decode(&in); err != nil || in.Hello == "" {
				return fmt.Errorf("want a non-empty hello, got %s", p.Data)
			}
			return nil
		})
		// assert_reply ref, :ok (any payload)
		ch.AssertReply(ch.Push("ping", nil), "ok", channeltest.Any)
		// refute_reply: shout does not reply
		ch.RefuteReply(ch.Push("shout", nil))
		fmt.Println("ok")
	})
	// Output: ok
}

// Reply and NextPush are the primitives under AssertReply and AssertPush.
func ExampleChannel_Reply() {
	test(func(t testing.TB) {
		ch := channeltest.NewClient(t, userSocket(), "", nil).MustJoin("room:lobby", nil)
		status, payload, err := ch.Reply(ch.Push("ping", map[string]int{"n": 1}))
		fmt.Println(status, string(payload.Data), err)

		ch.Push("tick", nil)
		event, payload, err := ch.NextPush()
		fmt.Println(event, string(payload.Data), err)
	})
	// Output:
	// ok {"n":1} <nil>
	// tock {"n":1} <nil>
}

// assert_push and refute_push.
func ExampleChannel_AssertPush() {
	test(func(t testing.TB) {
		ch := channeltest.NewClient(t, userSocket(), "", nil).MustJoin("room:lobby", nil)
		ch.Push("tick", nil)
		ch.AssertPush("tock", map[string]int{"n": 1})
		ch.RefutePush("tock")
		fmt.Println("pushed once")
	})
	// Output: pushed once
}

// broadcast_from(socket, event, payload), then assert_push (the channel
// forwards it) and refute_broadcast (the test does not get its own).
func ExampleChannel_BroadcastFrom() {
	test(func(t testing.TB) {
		ch := channeltest.NewClient(t, userSocket(), "", nil).MustJoin("room:lobby", nil)
		if err := ch.BroadcastFrom("new_msg", map[string]string{"body": "hi"}); err != nil {
			t.Fatal(err)
		}
		ch.AssertPush("new_msg", map[string]string{"body": "hi"})
		ch.RefuteBroadcast("new_msg")
		fmt.Println("forwarded")
	})
	// Output: forwarded
}

// assert_broadcast: what the channel broadcast, seen by the test's
// subscription.
func ExampleChannel_AssertBroadcast() {
	test(func(t testing.TB) {
		sock := userSocket()
		alice := channeltest.NewClient(t, sock, "alice", nil).MustJoin("room:lobby", nil)
		bob := channeltest.NewClient(t, sock, "bob", nil).MustJoin("room:lobby", nil)

		alice.Push("shout", map[string]string{"body": "hello bob"})
		alice.AssertBroadcast("shout", map[string]string{"body": "hello bob"})
		bob.AssertPush("shout", map[string]string{"body": "hello bob"})
		fmt.Println("bob heard alice")
	})
	// Output: bob heard alice
}

// leave(socket): the reply, then phx_close. A crash shows as phx_error.
func ExampleChannel_Leave() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "", nil)
		ch := c.MustJoin("room:lobby", nil)
		ch.AssertReply(ch.Leave(), "ok", nil)
		ch.AssertClosed()

		ch = c.MustJoin("room:lobby", nil)
		ch.Push("no such event", nil)
		ch.AssertCrashed()
		fmt.Println("left, then crashed")
	})
	// Output: left, then crashed
}

// close(socket): the transport goes away; waits end with an error.
func ExampleClient_Close() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "", nil)
		ch := c.MustJoin("room:lobby", nil)
		c.Close()
		_, _, err := ch.Reply(ch.Push("ping", nil))
		fmt.Println(err)
	})
	// Output: no reply to ref "2" on "room:lobby": channeltest: the client was closed (Client.Close)
}

// Wire mode: raw frames through the real socket and serializer.
func ExampleClient_SendFrame() {
	test(func(t testing.TB) {
		c := channeltest.NewClient(t, userSocket(), "", nil)
		c.SendFrame(`[null,"1","phoenix","heartbeat",{}]`)
		c.AssertFrame(`[null,"1","phoenix","phx_reply",{"response":{},"status":"ok"}]`)

		c.SendFrame(`["2","2","room:lobby","phx_join",{}]`)
		frame, _, _ := c.NextFrame()
		fmt.Println(string(frame))

		c.SendFrame(`not json`)
		c.AssertClosedWith(1011)
		fmt.Println("closed with 1011")
	})
	// Output:
	// ["2","2","room:lobby","phx_reply",{"response":{},"status":"ok"}]
	// closed with 1011
}

// Diff is the comparison behind every Assert: a JSON round trip of both
// sides, so Go values compare with what a client receives.
func ExampleDiff() {
	got := phx.Payload{Data: []byte(`{"ping":"pong","n":1}`)}
	fmt.Println(channeltest.Diff(map[string]any{"ping": "pong", "n": 1}, got) == "")
	fmt.Println(channeltest.Diff(struct {
		Ping string `json:"ping"`
		N    int64  `json:"n"`
	}{"pong", 1}, got) == "")
	fmt.Println(channeltest.Diff(nil, phx.Payload{Data: []byte(`{}`)}) == "")
	fmt.Println(channeltest.Diff(phx.Binary{1, 2}, phx.Payload{Data: []byte{1, 2}, Binary: true}) == "")
	fmt.Println(channeltest.Diff(map[string]string{"ping": "pong"}, got) == "")
	// Output:
	// true
	// true
	// true
	// true
	// false
}

// exampleT stands in for the *testing.T a real test gets, so the examples
// can run under go test: it runs cleanups at the end and prints failures.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()          {}
func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
}
func (t *exampleT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}
func (t *exampleT) Fatal(args ...any) {
	fmt.Println(append([]any{"FAIL:"}, args...)...)
	runtime.Goexit()
}

// test runs body the way go test runs a test function.
func test(body func(t testing.TB)) {
	t := &exampleT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(t.cleanups) - 1; i >= 0; i-- {
				t.cleanups[i]()
			}
		}()
		body(t)
	}()
	<-done
}
