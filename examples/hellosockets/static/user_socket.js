// The client side of the hello_sockets notes, run by the official phoenix.js
// client (served by the Go server from the npm package at /assets/phoenix.mjs).
import {Socket} from "/assets/phoenix.mjs"

// The page sets no window.userToken, so the socket URL carries token=undefined,
// as in the notes: /socket/websocket?token=undefined&vsn=2.0.0.
// longPollFallbackMs: where the WebSocket fails or does not open within 2.5 s
// (a proxy that breaks WebSockets), phoenix.js falls back to LongPoll at
// /socket/longpoll, which the server enables, and remembers the choice for
// the tab's session.
let socket = new Socket("/socket", {params: {token: window.userToken}, longPollFallbackMs: 2500})
socket.connect()

// Connect to topic ping.
let channel = socket.channel("ping", {})
channel.join()
  .receive("ok", resp => { console.log("Joined ping", resp) })
  .receive("error", resp => { console.log("Unable to join ping", resp) })

// Sending message. It is sent before the join reply comes in: the client
// buffers it until the channel has joined.
console.log("send ping")
channel
  .push("ping")
  .receive("ok", resp => console.log("receive", resp.ping))

// Send pong. The server does not reply, so this times out (after the default
// 10 s push timeout).
console.log("send pong")
channel
  .push("pong")
  .receive("ok", resp => console.log("won't happen"))
  .receive("error", resp => console.error("won't happen yet"))
  .receive("timeout", resp => console.error("pong message timeout", resp))

channel
  .push("param_ping", {error: true})
  .receive("error", resp => console.error("param_ping error: ", resp))

channel
  .push("param_ping", {error: false, arr: [1, 2]})
  .receive("ok", resp => console.log("param_ping ok: ", resp))

// Listener to listen send_ping event.
channel.on("send_ping", payload => {
  console.log("ping requested", payload)
  channel.push("ping")
    .receive("ok", resp => console.log("ping: ", resp.ping))
})

// Send invalid event (open the page as /?invalid). The channel crashes on the
// server, the push times out, and the client rejoins the channel by itself.
if(new URLSearchParams(window.location.search).has("invalid")){
  channel
    .push("invalid")
    .receive("ok", resp => console.log("won't happen"))
    .receive("error", resp => console.error("won't happen yet"))
    .receive("timeout", resp => console.error("invalid event timeout", resp))
}

// For debugging from the console.
window.socket = socket

export default socket
