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
// # Guarantees and limits
//
// The callbacks of one Session run one at a time, in arrival order; callbacks
// of different sessions run concurrently. A panic or error in a callback ends
// only that session: the client gets phx_error and rejoins; the connection
// and the other channels go on. A frame that cannot be decoded closes the
// connection with 1011, as in Phoenix.
//
// Broadcasts are delivered at most once, in publish order per publisher. A
// broadcast that is not intercepted is encoded once per serializer and the
// same bytes go to every subscriber. The join reply always precedes every
// other frame of that join.
//
// Each connection has a bounded outbound queue (SocketOptions.OutboundQueue
// frames). A client that does not read fast enough is closed with code 1008
// instead of growing memory or delaying anyone else; phoenix.js reconnects.
// Phoenix has no such limit. Other limits: frame size (1 MiB, close 1009),
// channels per connection (1000, Phoenix's "too many channels joined"
// reply), idle connections (60s without a frame, close 1001). The server
// never closes with 1000, after which phoenix.js would not reconnect.
package phx
