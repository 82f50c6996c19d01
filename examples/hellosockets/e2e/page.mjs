// Runs the hellosockets page in Node as a browser would: fetches the page at
// argv[2] (e.g. http://127.0.0.1:4000/ or http://127.0.0.1:4000/?invalid),
// imports its <script type="module" src> scripts over HTTP (so phoenix.js
// comes from the server's /assets/phoenix.mjs), and reports:
//   {"ev":"page","scripts":[...]}      the module scripts found
//   {"ev":"websocket","url":...}       every WebSocket the page opens
//   {"ev":"console","level":"log"|"error","args":[...]}  every console line
// The page never finishes by itself: the script ends when the Go test closes
// stdin.
import {register} from "node:module"
import WebSocket from "ws"
import {check, emit, nextLine, run} from "./lib.mjs"

register("./http_loader.mjs", import.meta.url)

run(async pageURL => {
  const page = new URL(pageURL)
  const res = await fetch(page)
  check(res.status === 200, `GET ${page}: status ${res.status}`)
  check((res.headers.get("content-type") || "").startsWith("text/html"), `GET ${page}: not text/html`)
  const html = await res.text()
  const scripts = [...html.matchAll(/<script\b[^>]*\btype="module"[^>]*\bsrc="([^"]+)"[^>]*>/g)].map(m => m[1])
  emit("page", {scripts})
  check(scripts.length > 0, "the page has no module script")

  // The browser globals the page and phoenix.js use.
  class BrowserWebSocket extends WebSocket {
    constructor(url, protocols){
      emit("websocket", {url})
      super(url, protocols, {origin: page.origin})
    }
  }
  const location = {href: page.href, protocol: page.protocol, host: page.host, hostname: page.hostname,
    port: page.port, pathname: page.pathname, search: page.search, origin: page.origin}
  const document = {visibilityState: "visible", addEventListener(){}}
  globalThis.location = location
  globalThis.window = {location, document, WebSocket: BrowserWebSocket, addEventListener(){}}
  for(const level of ["log", "error", "warn", "info"]){
    console[level] = (...args) => emit("console", {level, args})
  }

  for(const src of scripts){ await import(new URL(src, page).href) }
  while(await nextLine() !== null){ /* the Go test closes stdin when it is done */ }
}, {timeoutMs: 30000})
