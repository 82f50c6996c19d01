// Heartbeats: with heartbeatIntervalMs 100 the client sends
// [null,ref,"phoenix","heartbeat",{}] every 100 ms and reconnects when a reply
// does not come within the interval. The socket must stay on its first
// connection across several heartbeats, and socket.ping must get its reply.
import {check, emit, frameFields, join, newSocket, push, run} from "./lib.mjs"

const HEARTBEATS = 5

run(async url => {
  const socket = newSocket(url, {heartbeatIntervalMs: 100})
  let opens = 0
  let closes = 0
  let errors = 0
  socket.onOpen(() => opens++)
  socket.onClose(() => closes++)
  socket.onError(() => errors++)
  // Records the ref of every heartbeat the client sends.
  const sent = []
  const origPush = socket.push.bind(socket)
  socket.push = (data, ch) => {
    if(data.topic === "phoenix" && data.event === "heartbeat"){ sent.push(data.ref) }
    return origPush(data, ch)
  }
  socket.connect()
  const channel = socket.channel("ping", {})
  check((await join(channel)).status === "ok", "join ping failed")

  let from = socket.frames.mark()
  for(let i = 0; i < HEARTBEATS; i++){
    const reply = await socket.frames.wait(f => f.topic === "phoenix", from)
    from = socket.frames.entries.indexOf(reply) + 1
    emit("heartbeat", {frame: frameFields(reply), sent_ref_matches: sent.includes(reply.ref)})
  }

  const rtt = await new Promise(resolve => check(socket.ping(resolve), "socket.ping: not connected"))
  emit("ping_rtt", {ok: typeof rtt === "number" && rtt >= 0})
  await push(channel, "ping")
  emit("socket", {opens, closes, errors, connected: socket.isConnected(), heartbeats_sent: sent.length >= HEARTBEATS})
})
