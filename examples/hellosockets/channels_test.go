package main

// Channel tests of the hello-sockets app, written with channeltest the way
// the book writes them with Phoenix.ChannelTest: every exchange of the
// notes, in memory, without a network.

import (
	"context"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/channeltest"
)

// channelClient returns a client of a fresh app, as
// socket(HelloSocketsWeb.UserSocket, nil, %{}).
func channelClient(t *testing.T, cfg appConfig) (*channeltest.Client, *app) {
	t.Helper()
	a := newApp(cfg)
	return channeltest.NewClient(t, a.Socket, "", nil), a
}

func TestChannelPing(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})

	// > ["1","1","ping","phx_join",{}]
	// < ["1","1","ping","phx_reply",{"response":{},"status":"ok"}]
	ch, reply, err := c.Join("ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := channeltest.Diff(nil, reply); d != "" {
		t.Errorf("join reply %s", d)
	}
	// > ["1","2","ping","ping",{}]
	// < ["1","2","ping","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]
	ch.AssertReply(ch.Push("ping", nil), "ok", map[string]string{"ping": "pong"})

	// "ping:*" routes to the same channel.
	wild := c.MustJoin("ping:wild", nil)
	wild.AssertReply(wild.Push("ping", nil), "ok", map[string]string{"ping": "pong"})
}

func TestChannelAckPhrase(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})
	ch := c.MustJoin("ping", nil)

	// > ["1","2","ping","ping",{"ack_phrase":"hoorays..!"}]
	// < ["1","2","ping","phx_reply",{"response":{"ping":"hoorays..!"},"status":"ok"}]
	ch.AssertReply(ch.Push("ping", map[string]string{"ack_phrase": "hoorays..!"}), "ok", map[string]string{"ping": "hoorays..!"})
	// The phrase is passed through as sent, whatever its JSON type.
	ch.AssertReply(ch.Push("ping", map[string]any{"ack_phrase": []int{1, 2}}), "ok", map[string]any{"ping": []int{1, 2}})
	// Without it, pong again.
	ch.AssertReply(ch.Push("ping", nil), "ok", map[string]string{"ping": "pong"})
}

func TestChannelPingPhrase(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})
	ch := c.MustJoin("ping", nil)

	// > ["1","2","ping","ping:flows shows",{}]
	// < ["1","2","ping","phx_reply",{"response":{"ping":"flows shows"},"status":"ok"}]
	ch.AssertReply(ch.Push("ping:flows shows", nil), "ok", map[string]string{"ping": "flows shows"})
	ch.AssertReply(ch.Push("ping:", nil), "ok", map[string]string{"ping": ""})
}

func TestChannelPongAndDing(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})
	ch := c.MustJoin("ping", nil)

	// > ["1","2","ping","pong",{}]     (no reply)
	ch.RefuteReply(ch.Push("pong", nil))

	// > ["1","3","ping","ding",{}]
	// < ["1","3","ping","phx_reply",{"response":{"msg":"shutting down"},"status":"ok"}]
	// < ["1","1","ping","phx_close",{}]
	ch.AssertReply(ch.Push("ding", nil), "ok", map[string]string{"msg": "shutting down"})
	ch.AssertClosed()

	// The topic is no longer joined.
	ch.AssertReply(ch.Push("ping", nil), "error", map[string]string{"reason": "unmatched topic"})
}

func TestChannelParamPing(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})
	ch := c.MustJoin("ping", nil)

	ch.AssertReply(ch.Push("param_ping", map[string]bool{"error": true}), "error", map[string]string{"reason": "You asked for this!"})
	ch.AssertReply(ch.Push("param_ping", map[string]any{"error": false, "arr": []int{1, 2}}), "ok", map[string]any{"error": false, "arr": []int{1, 2}})
	ch.AssertReply(ch.Push("param_ping", nil), "ok", nil)
}

func TestChannelUnknownEventCrashes(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})
	ch := c.MustJoin("ping", nil)

	// > ["1","2","ping","ping2",{}]
	// < ["1","1","ping","phx_error",{"reason":"channel_crash"}]
	ref := ch.Push("ping2", nil)
	ch.AssertCrashed()
	ch.RefuteReply(ref)
	// > ["1","3","ping","ping",{}]
	// < [null,"3","ping","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]
	ch.AssertReply(ch.Push("ping", nil), "error", map[string]string{"reason": "unmatched topic"})

	// phoenix.js rejoins, and the channel works again.
	ch = c.MustJoin("ping", nil)
	ch.AssertReply(ch.Push("ping", nil), "ok", map[string]string{"ping": "pong"})
}

func TestChannelRequestPing(t *testing.T) {
	t.Parallel()
	c, a := channelClient(t, appConfig{})
	ch := c.MustJoin("ping", nil)

	// request_ping is intercepted: HandleOut pushes send_ping instead.
	if err := ch.BroadcastFrom("request_ping", map[string]string{"from": "test"}); err != nil {
		t.Fatal(err)
	}
	ch.AssertPush("send_ping", map[string]string{"from": "test", "from_node": "nonode@nohost"})
	ch.RefutePush("request_ping")

	// From the server (the notes' iex Endpoint.broadcast): the test's
	// subscription sees the broadcast, the client gets send_ping.
	if err := a.Socket.Broadcast(context.Background(), "ping", "request_ping", nil); err != nil {
		t.Fatal(err)
	}
	ch.AssertBroadcast("request_ping", nil)
	ch.AssertPush("send_ping", map[string]string{"from_node": "nonode@nohost"})

	// A broadcast that is not intercepted reaches the client as is:
	// < [null,null,"ping","test",{"data":"test"}]
	if err := a.Socket.Broadcast(context.Background(), "ping", "test", map[string]string{"data": "test"}); err != nil {
		t.Fatal(err)
	}
	ch.AssertPush("test", map[string]string{"data": "test"})
	ch.AssertBroadcast("test", map[string]string{"data": "test"})

	// The node name is configurable.
	c2, _ := channelClient(t, appConfig{Node: "hello@host"})
	ch2 := c2.MustJoin("ping:node", nil)
	ch2.BroadcastFrom("request_ping", nil)
	ch2.AssertPush("send_ping", map[string]string{"from_node": "hello@host"})
}

func TestChannelWildcard(t *testing.T) {
	t.Parallel()
	c, _ := channelClient(t, appConfig{})

	// > ["1","1","wild:1:2","phx_join",{}]       < ok
	// > ["1","2","wild:1:2","ping",{}]           < {"ping":"pong"}
	ch := c.MustJoin("wild:1:2", nil)
	ch.AssertReply(ch.Push("ping", nil), "ok", map[string]string{"ping": "pong"})
	// > ["1","4","wild:20:40","phx_join",{}]     < ok
	c.MustJoin("wild:20:40", nil)
	c.MustJoin("wild:100000000000000000000:200000000000000000000", nil)
	// > ["1","3","wild:1:3","phx_join",{}]       < {"response":{},"status":"error"}
	c.AssertJoinError("wild:1:3", nil, nil)
	// > ["1","5","wild:2:4:6","phx_join",{}]     < {"response":{},"status":"error"}
	c.AssertJoinError("wild:2:4:6", nil, nil)
	// Not numbers: String.to_integer raises, the join crashes.
	c.AssertJoinError("wild:a:b", nil, map[string]string{"reason": "join crashed"})

	// Any other event crashes the channel.
	ch.Push("pong", nil)
	ch.AssertCrashed()
}

func TestChannelRoom(t *testing.T) {
	t.Parallel()
	c, a := channelClient(t, appConfig{})
	other := channeltest.NewClient(t, a.Socket, "", nil)
	ch := c.MustJoin("room:lobby", nil)
	och := other.MustJoin("room:lobby", nil)

	// ping echoes its payload.
	ch.AssertReply(ch.Push("ping", map[string]string{"hello": "there"}), "ok", map[string]string{"hello": "there"})
	ch.AssertReply(ch.Push("ping", phx.Binary{0xca, 0xfe}), "ok", phx.Binary{0xca, 0xfe})

	// shout is broadcast to everyone in the room, the shouter included.
	ch.Push("shout", map[string]string{"body": "hi all"})
	ch.AssertBroadcast("shout", map[string]string{"body": "hi all"})
	ch.AssertPush("shout", map[string]string{"body": "hi all"})
	och.AssertPush("shout", map[string]string{"body": "hi all"})
	och.AssertBroadcast("shout", map[string]string{"body": "hi all"})

	// The generated channel joins room:lobby only.
	c.AssertJoinError("room:other", nil, map[string]string{"reason": "join crashed"})
}
