// Module hooks (node:module register) that load ES modules over HTTP the way
// a browser loads <script type="module">: relative and absolute-path imports
// resolve against the importing module's URL, bare specifiers are refused, and
// a response must be 200 with a JavaScript Content-Type.

const JS_TYPES = ["text/javascript", "application/javascript", "application/x-javascript", "text/ecmascript", "application/ecmascript"]

const isHTTP = url => /^https?:\/\//.test(url)

export async function resolve(specifier, context, nextResolve){
  const parent = context.parentURL
  if(isHTTP(specifier)){ return {url: specifier, shortCircuit: true} }
  if(parent && isHTTP(parent)){
    if(!/^(\/|\.\/|\.\.\/)/.test(specifier)){
      throw new TypeError(`bare specifier "${specifier}" imported from ${parent}: a browser cannot resolve it without an import map`)
    }
    return {url: new URL(specifier, parent).href, shortCircuit: true}
  }
  return nextResolve(specifier, context)
}

export async function load(url, context, nextLoad){
  if(!isHTTP(url)){ return nextLoad(url, context) }
  const res = await fetch(url)
  if(res.status !== 200){ throw new Error(`GET ${url}: status ${res.status}`) }
  const type = (res.headers.get("content-type") || "").split(";")[0].trim().toLowerCase()
  if(!JS_TYPES.includes(type)){
    throw new Error(`GET ${url}: Content-Type "${type}" is not JavaScript, a browser refuses it as a module script`)
  }
  return {format: "module", source: await res.text(), shortCircuit: true}
}
