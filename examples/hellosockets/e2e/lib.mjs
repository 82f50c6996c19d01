// Shared helpers for the end-to-end scripts. Each script drives the official
// phoenix.js client (npm package "phoenix", with "ws" as its WebSocket) against
// a running hellosockets server and reports what it observes as JSON lines on
// stdout, one object per event, always with an "ev" field. The Go tests in
// e2e_node_test.go read those lines and assert on them.
//
// Protocol with the Go test:
//   - argv[2] is the socket endpoint, e.g. ws://127.0.0.1:4000/socket
//     (page.mjs takes the page URL instead, e.g. http://127.0.0.1:4000/)
//   - stdout: one JSON object per line; the last line is {"ev":"done"}
//   - stdin: lines sent by the Go test when a script has to wait for it
//     (see nextLine); closing stdin ends a script that waits for it
//   - exit status 0 when the flow completed, 1 with a message on stderr when
//     it failed or did not complete within its overall timeout.

import {createInterface} from "node:readline"
import WebSocket from "ws"
import {Socket} from "phoenix"

/** Writes one event line to stdout. */
export function emit(ev, fields = {}){
  process.stdout.write(JSON.stringify({ev, ...fields}) + "\n")
}

/** Ends the script with a failure message on stderr. */
export function fail(message){
  process.stderr.write(`e2e: ${message}\n`)
  process.exit(1)
}

/**
 * Runs flow(url) with an overall timeout and exits: 0 with {"ev":"done"} when
 * the flow resolves, 1 when it rejects or takes longer than timeoutMs.
 */
export function run(flow, {timeoutMs = 15000} = {}){
  const url = process.argv[2]
  if(!url){ fail(`usage: node ${process.argv[1]} ws://HOST:PORT/socket`) }
  setTimeout(() => fail(`flow did not complete within ${timeoutMs} ms`), timeoutMs).unref()
  flow(url, process.argv.slice(3)).then(
    () => { emit("done"); process.exit(0) },
    err => fail(err && err.stack || String(err)))
}

/** Throws when cond is false, failing the flow. */
export function check(cond, message){
  if(!cond){ throw new Error(message) }
}

let stdinLines = null
let stdinWaiters = []
let stdinClosed = false

/** Resolves with the next line the Go test writes on stdin (null once stdin is closed). */
export function nextLine(){
  if(!stdinLines){
    stdinLines = []
    const rl = createInterface({input: process.stdin})
    rl.on("line", line => {
      const waiter = stdinWaiters.shift()
      if(waiter){ waiter(line) } else { stdinLines.push(line) }
    })
    rl.on("close", () => {
      stdinClosed = true
      stdinWaiters.splice(0).forEach(waiter => waiter(null))
    })
  }
  if(stdinLines.length > 0){ return Promise.resolve(stdinLines.shift()) }
  if(stdinClosed){ return Promise.resolve(null) }
  return new Promise(resolve => stdinWaiters.push(resolve))
}

/**
 * A recorder of things seen, which flows can wait on. Every entry stays in
 * the history; wait looks at entries from index `from` on.
 */
export class Seen {
  constructor(){
    this.entries = []
    this.waiters = []
  }

  add(entry){
    this.entries.push(entry)
    this.waiters = this.waiters.filter(({pred, from, resolve}) => {
      if(this.entries.length - 1 >= from && pred(entry)){ resolve(entry); return false }
      return true
    })
  }

  /** Index to pass as `from` to only wait for entries added after now. */
  mark(){ return this.entries.length }

  /** Resolves with the first entry at index >= from that matches pred. */
  wait(pred, from = 0){
    const found = this.entries.slice(from).find(pred)
    if(found){ return Promise.resolve(found) }
    return new Promise(resolve => this.waiters.push({pred, from, resolve}))
  }
}

/**
 * Creates a phoenix.js Socket that uses ws as its transport. Every decoded
 * message the socket receives is recorded in socket.frames (a Seen) as
 * {join_ref, ref, topic, event, payload}, so flows can check the raw frames
 * behind the client callbacks.
 */
export function newSocket(url, opts = {}){
  const socket = new Socket(url, {transport: WebSocket, ...opts})
  socket.frames = new Seen()
  socket.onMessage(msg => socket.frames.add(msg))
  return socket
}

/**
 * Joins channel and returns a promise of the first join result,
 * {status: "ok"|"error"|"timeout", resp}. When emitAs is given, every join
 * result (including the ones of automatic rejoins) is emitted as soon as the
 * client sees it, as {"ev": emitAs, topic, status, resp, join_ref}.
 */
export function join(channel, emitAs = "join"){
  return new Promise(resolve => {
    const report = status => resp => {
      if(emitAs){ emit(emitAs, {topic: channel.topic, status, resp, join_ref: channel.joinRef()}) }
      resolve({status, resp})
    }
    channel.join()
      .receive("ok", report("ok"))
      .receive("error", report("error"))
      .receive("timeout", report("timeout"))
  })
}

/**
 * Pushes event and returns a promise of {status, resp, ref} for the first
 * outcome (ok, error or timeout); the outcome is also emitted right away as
 * {"ev":"reply", topic, event, status, resp}. `ref` is the ref of the message
 * as last sent (a buffered push gets a fresh ref when it is sent).
 */
export function push(channel, event, payload = {}, timeout = undefined){
  const p = channel.push(event, payload, timeout)
  return new Promise(resolve => {
    const report = status => resp => {
      emit("reply", {topic: channel.topic, event, status, resp})
      resolve({status, resp, ref: p.ref})
    }
    p.receive("ok", report("ok"))
      .receive("error", report("error"))
      .receive("timeout", report("timeout"))
  })
}

/**
 * Sends a raw message on the socket, bypassing the channel state machine
 * (as wscat does in the notes), and resolves with the phx_reply frame that
 * answers it: {join_ref, ref, topic, event, payload}.
 */
export function rawPush(socket, {topic, event, payload = {}, join_ref = null}){
  const ref = socket.makeRef()
  const from = socket.frames.mark()
  socket.push({topic, event, payload, ref, join_ref})
  return socket.frames.wait(f => f.ref === ref && f.event === "phx_reply", from)
}

/** The frame as reported in events: the five fields of the V2 array. */
export function frameFields(f){
  return {join_ref: f.join_ref ?? null, ref: f.ref ?? null, topic: f.topic, event: f.event, payload: f.payload}
}

// shoutBetween joins "room:lobby" on two sockets made by makeSocket,
// checks a ping on the first, has it shout, waits for both sockets to hear
// the shout, flushes any duplicate with a ping round trip on each, and
// emits the shouts heard, sorted (the two sockets receive in either order).
// It returns the sockets and their lobby channels.
export async function shoutBetween(makeSocket, pingPayload){
  const alice = makeSocket()
  const bob = makeSocket()
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
  await push(aliceLobby, "ping", pingPayload)
  emit("push", {event: "shout"})
  aliceLobby.push("shout", {body: "hi all", from: "alice"})
  await heard
  await push(aliceLobby, "ping", {})
  await push(bobLobby, "ping", {})
  emit("shouts", {received: shouts.sort((a, b) => a.who.localeCompare(b.who))})
  return {alice, bob, aliceLobby, bobLobby}
}
