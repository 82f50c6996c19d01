// Reconnect and rejoin after a server restart. The script joins "ping",
// pings, and prints {"ev":"ready"}; the Go test then shuts the server down
// (1012 Service Restart) and later starts a new one on the same address. The
// client reconnects (reconnectAfterMs 50) and rejoins (rejoinAfterMs 50) by
// itself; the script finishes after a ping on the new connection.
import {check, emit, join, newSocket, push, run} from "./lib.mjs"

run(async url => {
  const socket = newSocket(url, {reconnectAfterMs: () => 50, rejoinAfterMs: () => 50})
  let opens = 0
  let open = false
  socket.onOpen(() => { opens++; open = true; emit("socket_open", {n: opens}) })
  socket.onClose(event => {
    // Only the close of an open connection is reported; the attempts made
    // while no server listens fail before opening.
    if(open){ emit("socket_close", {code: event.code, reason: event.reason}) }
    open = false
  })
  socket.connect()

  const channel = socket.channel("ping", {})
  channel.onError(reason => emit("channel_error", {topic: "ping", payload: reason}))
  channel.onClose(payload => emit("channel_close", {topic: "ping", payload}))
  let joins = 0
  const rejoined = new Promise(resolve => channel.joinPush.receive("ok", () => { if(++joins === 2){ resolve() } }))
  check((await join(channel)).status === "ok", "join ping failed")
  const firstJoinRef = channel.joinRef()
  await push(channel, "ping")
  emit("ready", {join_ref: firstJoinRef})

  await rejoined
  await push(channel, "ping")
  emit("socket", {opens, first_join_ref: firstJoinRef, join_ref: channel.joinRef(), connected: socket.isConnected()})
}, {timeoutMs: 20000})
