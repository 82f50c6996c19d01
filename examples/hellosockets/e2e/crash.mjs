// The notes' fault-tolerance flow: an event the channel has no handler for
// crashes the channel on the server. The client sees phx_error, its push
// times out, and it rejoins by itself (default rejoin backoff: 1 s) with a new
// join_ref, after which the channel works again. The socket stays connected.
import {check, emit, frameFields, join, newSocket, push, rawPush, run} from "./lib.mjs"

const INVALID_TIMEOUT_MS = 500

run(async url => {
  const socket = newSocket(url)
  let opens = 0
  let closes = 0
  socket.onOpen(() => opens++)
  socket.onClose(() => closes++)
  socket.connect()

  const channel = socket.channel("ping", {})
  // Emits every join outcome, including the automatic rejoin.
  const rejoined = new Promise(resolve => {
    let n = 0
    channel.joinPush.receive("ok", () => { if(++n === 2){ resolve() } })
  })
  check((await join(channel)).status === "ok", "join ping failed")
  const firstJoinRef = channel.joinRef()

  let erroredAt = 0
  const errored = new Promise(resolve => channel.onError(reason => {
    erroredAt = Date.now()
    resolve(reason)
  }))
  const errorFrame = socket.frames.wait(f => f.topic === "ping" && f.event === "phx_error")
  const invalid = push(channel, "invalid", {}, INVALID_TIMEOUT_MS)
  const reason = await errored
  emit("channel_error", {topic: "ping", payload: reason, state: channel.state, frame: frameFields(await errorFrame), join_ref: firstJoinRef})

  // While the channel is errored the server has no channel for the topic: a
  // raw message with the old join_ref gets "unmatched topic", as in the notes.
  const raw = await rawPush(socket, {topic: "ping", event: "ping", join_ref: firstJoinRef})
  emit("raw_reply", {frame: frameFields(raw)})

  // A push made while errored is buffered and sent after the rejoin.
  emit("push", {event: "ping", state: channel.state})
  const buffered = push(channel, "ping")
  await invalid
  await rejoined
  emit("rejoin_delay", {ms: Date.now() - erroredAt})
  await buffered
  await push(channel, "ping:again")
  emit("socket", {opens, closes, connected: socket.isConnected(), first_join_ref: firstJoinRef, join_ref: channel.joinRef()})
})
