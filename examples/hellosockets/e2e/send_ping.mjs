// Server pushes (notes: PubSub and "Receiving messages from server"). After
// joining "ping" the script prints {"ev":"ready"}; the Go test then
// broadcasts, in order, "x" on topic "other", "test" {data: "test"} on "ping",
// and the intercepted "request_ping" on "ping". The script reports every
// non-reply frame it receives, answers send_ping with a ping like the page
// does, and finishes once that ping is answered. Replies only go to the
// client that pushed: the count of reply frames received is reported too.
import {check, emit, frameFields, join, newSocket, push, run} from "./lib.mjs"

run(async url => {
  const socket = newSocket(url)
  socket.connect()
  const channel = socket.channel("ping", {})

  socket.onMessage(msg => {
    if(msg.event !== "phx_reply"){ emit("frame", frameFields(msg)) }
  })
  channel.on("test", payload => emit("message", {event: "test", payload}))
  const answered = new Promise((resolve, reject) => {
    channel.on("send_ping", payload => {
      emit("message", {event: "send_ping", payload})
      push(channel, "ping").then(resolve, reject)
    })
  })

  check((await join(channel)).status === "ok", "join ping failed")
  emit("ready")
  await answered
  const replies = socket.frames.entries.filter(f => f.event === "phx_reply" && f.topic !== "phoenix")
  emit("replies", {count: replies.length})
})
