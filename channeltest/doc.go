// Package channeltest tests phx channels the way Phoenix developers test
// theirs with Phoenix.ChannelTest (ChannelCase), in the shape of
// net/http/httptest.
//
// A Client is an in-memory connection to a *phx.Socket. It goes through the
// socket's real connection code, router and V2 serializer, without a
// network, so a test sees exactly the frames phoenix.js would, payloads make
// a real JSON round trip (no atom-versus-string-key surprises), binary
// payloads work, tests can run in parallel, and inside a testing/synctest
// bubble heartbeats and timeouts cost no real time.
//
//	func TestRoom(t *testing.T) {
//		t.Parallel()
//		c := channeltest.NewClient(t, app.Socket, "user:1", map[string]any{"user_id": 1})
//		ch := c.MustJoin("room:lobby", nil)
//
//		ref := ch.Push("ping", map[string]string{"hello": "there"})
//		ch.AssertReply(ref, "ok", map[string]string{"hello": "there"})
//
//		ch.Push("shout", map[string]string{"hello": "all"})
//		ch.AssertBroadcast("shout", map[string]string{"hello": "all"})
//	}
//
// The API has two layers, as testing/slogtest does: primitives that return
// values and errors (Client.Join, Channel.Reply, Channel.NextPush,
// Channel.NextBroadcast, Channel.Ended, Client.NextFrame, Diff) and thin
// Assert*/Refute* wrappers that fail the test through t.Fatalf with a diff
// of the expected and received payloads (go-cmp), reported at the test's
// own line.
//
// # From Phoenix.ChannelTest
//
//	Phoenix.ChannelTest                          channeltest
//	socket(UserSocket, id, assigns)              c := channeltest.NewClient(t, sock, id, assigns)
//	socket(UserSocket)                           c := channeltest.NewClient(t, sock, "", nil)
//	connect(UserSocket, params, connect_info: i) c, err := channeltest.Connect(t, sock, params, header)
//	subscribe_and_join(socket, topic, payload)   ch, reply, err := c.Join(topic, payload)
//	subscribe_and_join(socket, Chan, topic, p)   register Chan for topic on sock, then c.Join(topic, p)
//	subscribe_and_join!(socket, topic, payload)  ch := c.MustJoin(topic, payload)
//	{:error, reply} = subscribe_and_join(...)    c.AssertJoinError(topic, payload, reply)
//	join(socket, [Chan,] topic, payload)         ch, reply, err := c.JoinOnly(topic, payload)
//	push(socket, event, payload)                 ref := ch.Push(event, payload)
//	leave(socket)                                ref := ch.Leave()
//	close(socket) / close(socket, timeout)       c.Close()
//	broadcast_from(socket, event, payload)       err := ch.BroadcastFrom(event, payload)
//	broadcast_from!(socket, event, payload)      if err := ch.BroadcastFrom(event, payload); err != nil { t.Fatal(err) }
//	assert_push event, payload                   ch.AssertPush(event, payload)
//	refute_push event, _                         ch.RefutePush(event)
//	assert_reply ref, :ok, payload               ch.AssertReply(ref, "ok", payload)
//	assert_reply ref, :ok                        ch.AssertReply(ref, "ok", channeltest.Any)
//	refute_reply ref, :ok                        ch.RefuteReply(ref)
//	assert_broadcast event, payload              ch.AssertBroadcast(event, payload)
//	refute_broadcast event, _                    ch.RefuteBroadcast(event)
//	a pattern with a guard, %{"n" => n} when n>0 a func(phx.Payload) error as the want
//	the timeout argument of assert_*             c.Timeout (default 1s)
//	the timeout argument of refute_*             c.RefuteTimeout (default 100ms)
//	monitor channel_pid, assert :DOWN :normal    ch.AssertClosed() (the client got phx_close)
//	monitor channel_pid, assert :DOWN crash      ch.AssertCrashed() (the client got phx_error)
//	(not covered by ChannelTest)                 wire mode: c.SendFrame, c.NextFrame, c.AssertFrame, c.AssertClosedWith
//
// Differences worth knowing:
//
//   - The channel is found through the socket's router, as in production;
//     to join a specific channel, register it on a socket made for the test
//     (phx.NewSocket(nil) and Socket.Channel).
//   - Payloads are compared after a JSON round trip (see Diff): write the
//     expected reply as a map, a struct or json.RawMessage; a nil want is
//     {}, and Any accepts every payload, which is what assert_reply's
//     default %{} pattern does.
//   - assert_push and refute_push also see broadcasts the channel forwards
//     to its client (the fastlane), as ChannelTest does; so do AssertPush
//     and RefutePush.
//   - Leaving or closing never kills the test: there is no process link to
//     undo with Process.unlink.
//   - close/2 waits for the channel to terminate; Close does not wait for
//     Terminate to finish. Inside a synctest bubble, synctest.Wait() does.
//
// # Assert the reply before checking side effects
//
// As the ChannelTest docs advise: a push is handled asynchronously, so a
// test that checks a side effect right after Push races with the channel.
// Make the channel reply, and assert the reply first; when AssertReply
// returns, HandleIn has run:
//
//	ref := ch.Push("publish", map[string]int{"id": 3})
//	ch.AssertReply(ref, "ok", channeltest.Any)
//	if !posts.Published(3) { t.Fatal("post 3 not published") }
//
// # Routing and ordering
//
// Every frame the server sends is queued on the Client. Assertions take the
// first frame that matches them and leave the others queued, like a
// selective receive: replies are matched by ref, pushes and the
// phx_close/phx_error of a channel by topic and join ref, so asserting on
// one Channel never consumes another's frames. NextPush and NextFrame take
// the oldest queued frame, to check order.
//
// # Wire mode
//
// ChannelTest never exercises the socket itself. Client.SendFrame and
// Client.SendBinary send raw frames through the real decoder, and
// NextFrame, AssertFrame and AssertClosedWith check what comes back, byte
// for byte: heartbeats, unmatched topics, duplicate joins, the channel
// limit, stale join refs, malformed frames (close 1011), idle timeouts
// (close 1001) and Socket.Disconnect.
//
//	c.SendFrame(`[null,"w1","phoenix","heartbeat",{}]`)
//	c.AssertFrame(`[null,"w1","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
//
// # Time
//
// Waits use timers and channels only, so inside testing/synctest the fake
// clock runs them instantly. Set c.Timeout above the server timeout under
// test:
//
//	synctest.Test(t, func(t *testing.T) {
//		sock := phx.NewSocket(&phx.SocketOptions{IdleTimeout: time.Minute})
//		c := channeltest.NewClient(t, sock, "", nil)
//		c.Timeout = 2 * time.Minute
//		c.AssertClosedWith(1001) // after a fake minute
//	})
//
// Make the Socket inside the bubble, as above: its goroutines come from a
// pool the Socket owns, and a bubble may only use its own. Everything a
// Client starts ends when the test does (t.Cleanup calls Close), so
// synctest's check for leftover goroutines passes.
package channeltest
