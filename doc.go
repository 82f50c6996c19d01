// Package phx serves Phoenix Channels from any net/http server, so that the
// official phoenix.js client (and every other Phoenix client) talks to a Go
// program without noticing that it is not Phoenix.
//
// Three types carry the model:
//
//   - Socket is an http.Handler: Phoenix's UserSocket plus the endpoint's
//     `socket "/socket", ...` line. It routes topics to channels.
//   - Channel is what you implement: join, handle incoming events, and
//     optionally intercept outgoing ones (Interceptor), receive messages
//     (InfoHandler) and clean up (Terminator).
//   - Session is one connection's membership in one topic: the `socket`
//     value of every Phoenix callback, with Assigns for per-join state.
//
// # From Phoenix to Go
//
//	Phoenix                                   phx
//	socket "/socket", UserSocket              mux.Handle("/socket/", http.StripPrefix("/socket", sock))
//	channel "room:*", RoomChannel             sock.Channel("room:*", RoomChannel{})
//	connect(params, socket, connect_info)     SocketOptions.Connect(ctx, *Conn) error
//	id(socket)                                Conn.ID, set in Connect
//	join(topic, payload, socket)              Channel.Join(ctx, s, topic, payload) (reply, error)
//	{:ok, socket} / {:ok, reply, socket}      return nil, nil / return reply, nil
//	{:error, reply}                           return nil, phx.Refuse(reply)
//	handle_in(event, payload, socket)         Channel.HandleIn(ctx, s, event, payload) (Reply, error)
//	{:reply, {:ok, map}, socket}              return phx.ReplyOK(map), nil
//	{:reply, :ok, socket}                     return phx.ReplyOK(nil), nil
//	{:noreply, socket}                        return phx.NoReply, nil
//	{:stop, :normal, reply, socket}           return reply, phx.ErrStop
//	raise / no matching clause                return phx.NoReply, err (or panic)
//	intercept ["ev"] + handle_out/3           Interceptor: Intercepts() and HandleOut
//	handle_info/2, send(self(), msg)          InfoHandler.HandleInfo, Session.Send
//	terminate/2                               Terminator.Terminate(s, reason)
//	push(socket, ev, payload)                 s.Push(ev, payload)
//	broadcast / broadcast_from                s.Broadcast / s.BroadcastFrom
//	socket_ref(socket) + reply(ref, reply)    ref := s.Ref(); later ref.Reply(reply)
//	socket.assigns                            s.Assigns (copied from Conn.Assigns at join)
//	Endpoint.broadcast(topic, ev, payload)    sock.Broadcast(ctx, topic, ev, payload)
//	Endpoint.broadcast(id, "disconnect", %{}) sock.Disconnect(ctx, id)
//	Phoenix.PubSub                            PubSub (NewLocalPubSub by default)
//	endpoint drainer                          sock.Shutdown(ctx)
//
// Routing differs in one way: Phoenix tries patterns in declaration order,
// phx picks the most specific (an exact topic, then the longest prefix),
// whatever the order, as http.ServeMux does.
//
// # The wire
//
// The client picks the frame format with the vsn query parameter: 2.0.x is
// V2 (JSON arrays, plus binary frames), 1.0.x or none is V1 (JSON objects);
// anything else is refused with HTTP 403. A V2 session as the notes record it
// with wscat:
//
//	> ["1","1","ping","phx_join",{}]
//	< ["1","1","ping","phx_reply",{"response":{},"status":"ok"}]
//	> ["1","2","ping","ping",{}]
//	< ["1","2","ping","phx_reply",{"response":{"ping":"pong"},"status":"ok"}]
//
// Frames are [join_ref, ref, topic, event, payload]. Refs come back with the
// JSON type they were sent with.
//
// # Guarantees
//
// The callbacks of one Session run one at a time, in arrival order; callbacks
// of different sessions run concurrently. The join reply precedes every other
// frame of that join, and a broadcast published after the client saw the
// reply reaches it.
//
// Broadcasts are delivered at most once: a client that is not connected when
// one is published never gets it, and nothing is replayed. Broadcasts from
// one publisher reach each subscriber in the order they were published;
// broadcasts and a channel's own pushes may interleave. A broadcast that is
// not intercepted is encoded once per serializer and the same bytes go to
// every subscriber; an intercepted one goes through each subscriber's
// HandleOut.
//
// # Faults and limits
//
// Every limit is a SocketOptions field with a safe default, and every fault is
// logged; Socket.Stats counts connections, slow consumers, malformed frames
// and crashes. What the client sees:
//
//	fault or limit                          the client gets                            default
//	a callback returns an error or panics   phx_error {"reason":"channel_crash"};      -
//	                                        the socket and other channels go on
//	Join fails or panics                    error reply {"reason":"join crashed"}      -
//	a frame that cannot be decoded          close 1011 (Phoenix's answer), no frame     -
//	a frame over MaxFrameSize               close 1009                                 1 MiB
//	a client too slow to read               close 1008 "slow consumer" when its       1024 frames,
//	  (OutboundQueue, OutboundBytes)        queue overflows; broadcasts never wait     4 MiB
//	a write that takes over WriteTimeout    the connection is dropped                  10 s
//	more than MaxChannels joined            error reply {"reason":"too many            1000
//	                                        channels joined"} (Phoenix's)
//	a topic or event over MaxNameLength     error reply {"reason":"topic too long"}    1024 bytes
//	                                        or {"reason":"event too long"}
//	more than MaxConnections                HTTP 503 (LongPoll: {"status":500})        100,000
//	no frame for IdleTimeout                close 1001                                 60 s
//	a LongPoll POST over LongPollBatch      the lines past it are dropped             100 lines
//	lines
//	a LongPoll session not polled for       the session ends; its token gets 410      15 s
//	1.5 × LongPollWindow
//	a refused Origin                        HTTP 403 (LongPoll: {"status":403})        same host
//	Connect returns an error                HTTP 403 (LongPoll: {"status":403})        -
//	Disconnect(id)                          close 1001                                 -
//	Shutdown                                close 1012 after the frames already queued -
//
// The server never closes with 1000, after which phoenix.js would not
// reconnect. Auth tokens (the token parameter, the bearer subprotocol, the
// LongPoll header) and any parameter whose name contains "token" or
// "password" are never logged; Conn.Params, Header and AuthToken are cleared
// once Connect returns. A refused connection leaves no goroutine behind.
package phx
