// The notes' topic patterns: "ping:*" routes "ping:wild" to the ping channel,
// and "wild:a:b" joins only when b == 2a (WildcardChannel); a refused join
// gets status "error" with the channel's reply {}.
import {emit, join, newSocket, push, run} from "./lib.mjs"

run(async url => {
  const socket = newSocket(url)
  socket.connect()

  for(const topic of ["ping:wild", "wild:1:2", "wild:1:3", "wild:20:40", "wild:2:4:6"]){
    const channel = socket.channel(topic, {})
    const {status} = await join(channel)
    if(status === "ok"){
      await push(channel, "ping")
    } else {
      // A refused channel would retry its join with the rejoin backoff; stop it.
      channel.leave()
      emit("left", {topic, channels: socket.channels.filter(c => c.topic === topic).length})
    }
  }
})
