// The generated RoomChannel: "room:lobby" joins, "ping" echoes its payload,
// "shout" is broadcast to every subscriber of the topic (here two sockets,
// sender included), and any other room is refused.
import {join, newSocket, run, shoutBetween} from "./lib.mjs"

run(async url => {
  const {alice} = await shoutBetween(() => newSocket(url), {hello: "world", n: [1, {deep: true}]})

  const other = alice.channel("room:other", {})
  const {status} = await join(other)
  if(status !== "ok"){ other.leave() }
})
