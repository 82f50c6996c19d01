// The official phoenix.js client over its LongPoll transport, in Node (whose
// fetch and AbortController phoenix.js's Ajax uses when there is no
// XMLHttpRequest). Usage: node e2e/longpoll.mjs ws://HOST:PORT/socket FLOW,
// where FLOW is one of:
//   ping       the notes' ping channel: a ping pushed before the join reply,
//              ack_phrase, ping:<phrase>, pong (times out), param_ping error
//              and ok, a burst of 250 pushes (phoenix.js posts them in
//              batches of at most 100 lines); then {"ev":"ready"}, and the Go
//              test broadcasts request_ping: the channel gets send_ping and
//              answers with a ping.
//   params     socket params {token: "user-token"}, as Phoenix's generated
//              user_socket.js has: phoenix.js 1.8 then polls
//              ?token=user-token&vsn=2.0.0&token=<session token>.
//   room       two sockets in room:lobby: a shout reaches both.
//   reconnect  {"ev":"ready"} once joined; the Go test restarts the server on
//              the same address; the client reconnects and rejoins by itself.
// Every flow ends with {"ev":"transport",...}: what the client sent, seen by
// a wrapper around fetch, to prove that LongPoll carried it all.
import {LongPoll} from "phoenix"
import {check, emit, join, newSocket, push, run, shoutBetween} from "./lib.mjs"

// Every request phoenix.js makes goes through this fetch.
const requests = []
const realFetch = globalThis.fetch
globalThis.fetch = (url, opts = {}) => {
  const u = new URL(String(url))
  const body = typeof opts.body === "string" ? opts.body : ""
  requests.push({method: opts.method || "GET", path: u.pathname, token: u.searchParams.has("token"), lines: body ? body.split("\n").length : 0})
  return realFetch(url, opts)
}

/** A phoenix.js Socket on the LongPoll transport (see lib.mjs newSocket). */
function longPollSocket(url, opts = {}){
  return newSocket(url, {transport: LongPoll, ...opts})
}

/** What the client sent, for {"ev":"transport"}. */
function transportReport(sockets){
  const uniq = xs => [...new Set(xs)].sort()
  return {
    transports: uniq(sockets.map(s => s.transportName(s.transport))),
    connections: uniq(sockets.map(s => s.conn && s.conn.constructor.name)),
    paths: uniq(requests.map(r => r.path)),
    methods: uniq(requests.map(r => r.method)),
    // phoenix.js 1.8 sends the session token in the query of every request
    // but the first GET of a session (PROTOCOL.md LP-3).
    token_in_query: requests.filter(r => r.token).length > 0,
    max_lines: Math.max(0, ...requests.map(r => r.lines)),
  }
}

async function pingFlow(url){
  const socket = longPollSocket(url)
  socket.connect()
  const channel = socket.channel("ping", {})
  const sendPing = new Promise(resolve => channel.on("send_ping", resolve))

  const joined = join(channel)
  emit("push", {event: "ping", state: channel.state})
  const firstPing = push(channel, "ping")
  check((await joined).status === "ok", "join ping failed")
  await firstPing
  await push(channel, "ping", {ack_phrase: "hoorays..!"})
  await push(channel, "ping:flows shows")
  await push(channel, "pong", {}, 300)
  await push(channel, "param_ping", {error: true})
  await push(channel, "param_ping", {error: false, arr: [1, 2]})

  // 250 pushes in one tick: phoenix.js sends them in POSTs of at most 100
  // lines, and the server handles every line of each.
  const burst = await Promise.all(Array.from({length: 250}, (_, i) => new Promise(resolve => {
    channel.push(`ping:${i}`, {})
      .receive("ok", resp => resolve(resp.ping === String(i)))
      .receive("error", () => resolve(false))
      .receive("timeout", () => resolve(false))
  })))
  emit("burst", {ok: burst.filter(Boolean).length})

  emit("ready")
  emit("message", {event: "send_ping", payload: await sendPing})
  await push(channel, "ping")
  emit("transport", transportReport([socket]))
}

async function paramsFlow(url){
  const socket = longPollSocket(url, {params: {token: "user-token"}})
  let opens = 0
  socket.onOpen(() => opens++)
  socket.connect()
  const channel = socket.channel("ping", {})
  check((await join(channel)).status === "ok", "join ping failed")
  await push(channel, "ping")
  emit("socket", {opens, connected: socket.isConnected()})
  emit("transport", transportReport([socket]))
}

async function roomFlow(url){
  const {alice, bob} = await shoutBetween(() => longPollSocket(url), {hello: "world"})
  emit("transport", transportReport([alice, bob]))
}

async function reconnectFlow(url){
  const socket = longPollSocket(url, {reconnectAfterMs: () => 50, rejoinAfterMs: () => 50})
  let opens = 0
  let open = false
  socket.onOpen(() => { opens++; open = true; emit("socket_open", {n: opens}) })
  socket.onClose(event => {
    // Only the close of an open connection is reported, not the attempts
    // that fail while no server listens.
    if(open){ emit("socket_close", {code: event.code}) }
    open = false
  })
  socket.connect()
  const channel = socket.channel("ping", {})
  let joins = 0
  const rejoined = new Promise(resolve => channel.joinPush.receive("ok", () => { if(++joins === 2){ resolve() } }))
  check((await join(channel)).status === "ok", "join ping failed")
  const firstJoinRef = channel.joinRef()
  await push(channel, "ping")
  emit("ready", {join_ref: firstJoinRef})

  await rejoined
  await push(channel, "ping")
  emit("socket", {opens, first_join_ref: firstJoinRef, join_ref: channel.joinRef(), connected: socket.isConnected()})
  emit("transport", transportReport([socket]))
}

const flows = {ping: pingFlow, params: paramsFlow, room: roomFlow, reconnect: reconnectFlow}

run(async (url, [flow]) => {
  check(flows[flow], `unknown flow ${flow}: want one of ${Object.keys(flows).join(", ")}`)
  await flows[flow](url)
}, {timeoutMs: 30000})
