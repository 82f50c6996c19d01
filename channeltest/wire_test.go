package channeltest_test

// Wire mode: socket-level behaviour that ChannelTest never reaches, driven
// with raw frames through the real socket and serializer.

import (
	"context"
	"errors"
	"testing"

	"github.com/phxgo/phx"
	"github.com/phxgo/phx/channeltest"
)

func TestWireSocketBehaviour(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)

	// Heartbeat (H-1), echoing the ref.
	c.SendFrame(`[null,"7","phoenix","heartbeat",{}]`)
	c.AssertFrame(`[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]`)

	// Unmatched topic on join (J-2) and push before join (J-16).
	c.SendFrame(`["1","1","nope","phx_join",{}]`)
	c.AssertFrame(`[null,"1","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
	c.SendFrame(`["2","3","room:1","echo",{}]`)
	c.AssertFrame(`[null,"3","room:1","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)

	// Join, then a duplicate join (J-9): the new reply, then phx_close
	// for the old join_ref.
	c.SendFrame(`["4","4","room:1","phx_join",{"quiet":true}]`)
	c.AssertFrame(`["4","4","room:1","phx_reply",{"response":{},"status":"ok"}]`)
	c.SendFrame(`["5","5","room:1","phx_join",{"quiet":true}]`)
	c.AssertFrame(`["5","5","room:1","phx_reply",{"response":{},"status":"ok"}]`)
	c.AssertFrame(`["4","4","room:1","phx_close",{}]`)

	// A message with the old join_ref is dropped silently (J-12): the next
	// frame is the heartbeat's reply.
	c.SendFrame(`["4","6","room:1","echo",{"stale":true}]`)
	c.SendFrame(`[null,"7","phoenix","heartbeat",{}]`)
	c.AssertFrame(`[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
	c.SendFrame(`["5","8","room:1","echo",{"fresh":true}]`)
	c.AssertFrame(`["5","8","room:1","phx_reply",{"response":{"fresh":true},"status":"ok"}]`)

	// Leave (J-17): reply, then phx_close.
	c.SendFrame(`["5","9","room:1","phx_leave",{}]`)
	c.AssertFrame(`["5","9","room:1","phx_reply",{"response":{},"status":"ok"}]`)
	c.AssertFrame(`["5","5","room:1","phx_close",{}]`)

	// A binary push (kind 0 with a ref) gets a JSON or binary reply.
	c.SendFrame(`["10","10","room:2","phx_join",{"quiet":true}]`)
	c.AssertFrame(`["10","10","room:2","phx_reply",{"response":{},"status":"ok"}]`)
	push := append([]byte{0, 2, 2, 6, 4}, "1011room:2echo\x01\x02"...)
	if err := c.SendBinary(push); err != nil {
		t.Fatal(err)
	}
	data, binary, err := c.NextFrame()
	want := append([]byte{1, 2, 2, 6, 2}, "1011room:2ok\x01\x02"...)
	if err != nil || !binary || string(data) != string(want) {
		t.Fatalf("binary reply = % x (binary %v, %v), want % x", data, binary, err, want)
	}

	// A frame the server cannot decode closes the connection with 1011 (M-1).
	if err := c.SendFrame(`{"not":"an array"}`); err == nil {
		t.Error("SendFrame of a malformed frame: no error")
	}
	c.AssertClosedWith(1011)
	var ce *channeltest.CloseError
	if err := c.SendFrame(`[null,"7","phoenix","heartbeat",{}]`); !errors.As(err, &ce) || ce.Code != 1011 {
		t.Errorf("SendFrame after the close: %v", err)
	}
	if _, _, err := c.NextFrame(); !errors.As(err, &ce) || ce.Code != 1011 {
		t.Errorf("NextFrame after the close: %v", err)
	}
}

func TestWireChannelLimit(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(&phx.SocketOptions{MaxChannels: 1})
	c := channeltest.NewClient(t, sock, "", nil)
	ch := c.MustJoin("room:1", nil)
	// The welcome push comes from the session's goroutine: take it first, as
	// its order against the socket's own replies is not defined.
	ch.AssertPush("welcome", map[string]string{"topic": "room:1"})
	c.AssertJoinError("room:2", nil, map[string]string{"reason": "too many channels joined"})
	c.SendFrame(`["w","w","room:3","phx_join",{}]`)
	c.AssertFrame(`["w","w","room:3","phx_reply",{"response":{"reason":"too many channels joined"},"status":"error"}]`)
}

func TestWireMalformedBinary(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c := channeltest.NewClient(t, sock, "", nil)
	ch := c.MustJoin("room:1", nil)
	if err := c.SendBinary([]byte{2, 0, 0}); err == nil { // kind 2 is server-only
		t.Error("SendBinary of a server-only kind: no error")
	}
	c.AssertClosedWith(1011)
	// Waits on the channel report the close instead of timing out.
	var ce *channeltest.CloseError
	if _, err := ch.Ended(); !errors.As(err, &ce) || ce.Code != 1011 {
		t.Errorf("Ended after a 1011 close: %v", err)
	}
}

func TestWireDisconnectAndShutdown(t *testing.T) {
	t.Parallel()
	sock, rc := newSocket(nil)
	c := channeltest.NewClient(t, sock, "user:1", nil)
	other := channeltest.NewClient(t, sock, "user:2", nil)
	ch := c.MustJoin("room:1", nil)
	if err := sock.Disconnect(context.Background(), "user:1"); err != nil {
		t.Fatal(err)
	}
	c.AssertClosedWith(1001)
	if err := rc.waitTerminate(t); !errors.Is(err, phx.ErrClosed) {
		t.Errorf("Terminate after Disconnect: %v", err)
	}
	var ce *channeltest.CloseError
	if _, _, err := ch.NextPush(); err != nil {
		t.Errorf("the welcome push sent before the close: %v", err)
	}
	if _, _, err := ch.NextPush(); !errors.As(err, &ce) || ce.Code != 1001 || ce.Reason != "disconnect" {
		t.Errorf("NextPush after Disconnect: %v", err)
	}
	// The other connection is untouched until the socket shuts down.
	other.SendFrame(`[null,"1","phoenix","heartbeat",{}]`)
	other.AssertFrame(`[null,"1","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
	if err := sock.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	other.AssertClosedWith(1012)
}

func TestWireV1(t *testing.T) {
	t.Parallel()
	sock, _ := newSocket(nil)
	c, err := channeltest.Connect(t, sock, map[string]string{"vsn": "1.0.0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SendFrame(`{"topic":"room:1","event":"phx_join","payload":{"quiet":true},"ref":"1"}`)
	c.AssertFrame(`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:1"}`)
	c.SendFrame(`{"topic":"room:1","event":"echo","payload":{"v":1},"ref":"2"}`)
	c.AssertFrame(`{"event":"phx_reply","payload":{"response":{"v":1},"status":"ok"},"ref":"2","topic":"room:1"}`)
}
