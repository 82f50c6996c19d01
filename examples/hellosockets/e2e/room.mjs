// The generated RoomChannel: "room:lobby" joins, "ping" echoes its payload,
// "shout" is broadcast to every subscriber of the topic (here two sockets,
// sender included), and any other room is refused.
import {check, emit, join, newSocket, push, run} from "./lib.mjs"

run(async url => {
  const alice = newSocket(url)
  const bob = newSocket(url)
  alice.connect()
  bob.connect()

  const aliceLobby = alice.channel("room:lobby", {})
  const bobLobby = bob.channel("room:lobby", {})
  const shouts = []
  const heard = new Promise(resolve => {
    for(const [who, channel] of [["alice", aliceLobby], ["bob", bobLobby]]){
      channel.on("shout", payload => {
        shouts.push({who, payload})
        if(shouts.length === 2){ resolve() }
      })
    }
  })
  check((await join(aliceLobby)).status === "ok", "alice: join room:lobby failed")
  check((await join(bobLobby)).status === "ok", "bob: join room:lobby failed")

  await push(aliceLobby, "ping", {hello: "world", n: [1, {deep: true}]})
  emit("push", {event: "shout"})
  aliceLobby.push("shout", {body: "hi all", from: "alice"})
  await heard
  // Nothing else arrives: a ping round trip on each socket flushes any
  // duplicate shout the server would have sent.
  await push(aliceLobby, "ping", {})
  await push(bobLobby, "ping", {})
  // The two sockets receive in either order: report them sorted.
  emit("shouts", {received: shouts.sort((a, b) => a.who.localeCompare(b.who))})

  const other = alice.channel("room:other", {})
  const {status} = await join(other)
  if(status !== "ok"){ other.leave() }
})
