// The notes' ping channel flows, in order: a ping pushed before the join
// reply (buffered by the client), ack_phrase, "ping:<phrase>", pong (no reply:
// times out), param_ping error and ok, then ding (reply, then phx_close: the
// channel is closed for good, the socket stays up).
import {check, emit, frameFields, join, newSocket, push, rawPush, run} from "./lib.mjs"

const PONG_TIMEOUT_MS = 300

run(async url => {
  const socket = newSocket(url)
  socket.connect()
  const channel = socket.channel("ping", {})

  // "send ping" before "Joined ping": the push waits in the channel's buffer.
  const joined = join(channel)
  emit("push", {event: "ping", state: channel.state})
  const firstPing = push(channel, "ping")
  check((await joined).status === "ok", "join ping failed")
  await firstPing
  const joinRef = channel.joinRef()

  await push(channel, "ping", {ack_phrase: "hoorays..!"})
  await push(channel, "ping")
  await push(channel, "ping:flows shows")

  // pong is {:noreply, socket}: only the client's timeout ends it. Any reply
  // frame for its ref would be seen by the time the next reply arrives,
  // as the channel handles messages in order.
  const pong = await push(channel, "pong", {}, PONG_TIMEOUT_MS)
  await push(channel, "param_ping", {error: true})
  await push(channel, "param_ping", {error: false, arr: [1, 2]})
  const pongFrames = socket.frames.entries.filter(f => f.topic === "ping" && f.ref === pong.ref)
  emit("frames_for_ref", {event: "pong", frames: pongFrames.map(frameFields)})

  // ding: {:stop, :shutdown, {:ok, %{msg: "shutting down"}}, socket}.
  const closed = new Promise(resolve => channel.onClose(payload => resolve(payload)))
  const closeFrame = socket.frames.wait(f => f.topic === "ping" && f.event === "phx_close")
  await push(channel, "ding")
  const closePayload = await closed
  emit("close", {topic: "ping", payload: closePayload, state: channel.state, frame: frameFields(await closeFrame), join_ref: joinRef})

  // The server no longer knows the channel: a message with the old join_ref
  // is answered with "unmatched topic", like the notes' wscat session.
  const reply = await rawPush(socket, {topic: "ping", event: "ping", join_ref: joinRef})
  emit("raw_reply", {frame: frameFields(reply), connected: socket.isConnected(), channels: socket.channels.length})
})
