/**
 * Source of the script the snapshot-safety check runs in a child Node process (written to a
 * temporary `probe.cjs`; a string so the single binary, which has no files of its own, carries it).
 *
 * It installs the traps, evaluates the SDK's module-init code, and writes one JSON report
 * (`{version, entry, mode, outcome, findings}`) to the file named in its config argument. It never
 * prints the report on stdout: the code under test may print there itself.
 *
 * Keep it free of backticks and dollar-brace: it is a String.raw template.
 *
 * size: one file because it is one program: the child runs it as a single script whose traps
 * share state (findings, pending timers, fds, promises); pieces in separate TypeScript strings
 * would only be concatenated back, and would hide which names each piece relies on.
 */
export const PROBE_SOURCE = String.raw`'use strict'
// agentos-toolchain snapshot-safety probe. Run as: node probe.cjs <config-json>
// config: {root, entry, mode: 'module' | 'script', report, deadlineMs}
const fs = require('node:fs')
const path = require('node:path')
const url = require('node:url')
const asyncHooks = require('node:async_hooks')
const Module = require('node:module')
const crypto = require('node:crypto')

const config = JSON.parse(process.argv[2])
const ROOT = config.root
const PROBE = __filename
const orig = {
  setTimeout: global.setTimeout,
  exit: process.exit,
  writeFileSync: fs.writeFileSync,
  readdirSync: fs.readdirSync,
  readlinkSync: fs.readlinkSync,
  fstatSync: fs.fstatSync,
  captureStackTrace: Error.captureStackTrace,
}
const findings = []
const seen = new Set()
const pendingPromises = new Map()
const timers = []
const opens = []
let active = false
let finished = false

// Reads Node makes to decide its own behaviour on the package's behalf (module loading, console
// colours, terminal detection in tty and readline, debuglog) are not the package baking in state.
const INCIDENTAL =
  /^node:internal\/(modules\/|deps\/|console\/|util\/colors|util\/debuglog|tty|readline\/|process\/warning|errors)|^node:(tty|readline)$/
const LOADER = /^node:internal\/modules\//

function callsites(skip) {
  const prepare = Error.prepareStackTrace
  const limit = Error.stackTraceLimit
  Error.prepareStackTrace = (_, sites) => sites
  Error.stackTraceLimit = 80
  const holder = {}
  try {
    orig.captureStackTrace(holder, skip)
    return Array.isArray(holder.stack) ? holder.stack : []
  } catch {
    return []
  } finally {
    Error.prepareStackTrace = prepare
    Error.stackTraceLimit = limit
  }
}

function fileOf(site) {
  let file
  try {
    file = site.getFileName() || site.getScriptNameOrSourceURL()
    if (!file && site.isEval()) file = site.getEvalOrigin()
  } catch {
    return undefined
  }
  if (typeof file !== 'string') return undefined
  if (file.startsWith('file:')) {
    try {
      return url.fileURLToPath(file)
    } catch {
      return file
    }
  }
  return file
}

function inPackage(file) {
  return typeof file === 'string' && (file === ROOT || file.startsWith(ROOT + path.sep))
}

function rel(file) {
  return path.relative(ROOT, file).split(path.sep).join('/')
}

function describe(site, file) {
  let fn
  try {
    fn = site.getFunctionName() || site.getMethodName() || undefined
  } catch {
    fn = undefined
  }
  return {file: rel(file), line: site.getLineNumber() || 0, column: site.getColumnNumber() || 0, fn}
}

function frameText(frame) {
  return frame.file + ':' + frame.line + ':' + frame.column + (frame.fn ? ' (' + frame.fn + ')' : '')
}

// The package frame responsible for a call, or null when the call is the probe's own or Node's.
// skipVia names internal modules that, met between the trap and the package frame, mean the
// call was made by Node on the package's behalf.
function attribute(sites, skipVia) {
  let i = 0
  while (i < sites.length && fileOf(sites[i]) === PROBE) i++
  for (; i < sites.length; i++) {
    const file = fileOf(sites[i])
    if (file === PROBE) return null
    if (inPackage(file)) {
      const frame = describe(sites[i], file)
      const stack = []
      for (let j = i; j < sites.length && stack.length < 8; j++) {
        const f = fileOf(sites[j])
        if (f === PROBE) break
        if (inPackage(f)) stack.push(frameText(describe(sites[j], f)))
      }
      return {frame, stack}
    }
    if (skipVia && file && skipVia.test(file)) return null
  }
  return null
}

// At most this many findings per rule; the rest are only counted.
const PER_RULE = 50
const perRule = {}
const omitted = {}
function record(rule, what, where) {
  if (!where) return
  const {frame, stack} = where
  const key = rule + '\0' + frame.file + ':' + frame.line + ':' + frame.column
  if (seen.has(key)) return
  seen.add(key)
  perRule[rule] = (perRule[rule] || 0) + 1
  if (perRule[rule] > PER_RULE) {
    omitted[rule] = (omitted[rule] || 0) + 1
    return
  }
  findings.push({rule, what, file: frame.file, line: frame.line, column: frame.column, function: frame.fn, stack})
}

function hit(rule, what, skip, skipVia) {
  if (!active) return
  const prev = active
  active = false
  try {
    record(rule, what, attribute(callsites(skip), skipVia))
  } finally {
    active = prev
  }
}

function wrapFn(owner, name, rule, what, skipVia) {
  const original = owner[name]
  if (typeof original !== 'function') return
  const wrapped = {
    [name](...args) {
      hit(rule, typeof what === 'function' ? what(args) : what, wrapped, skipVia)
      return Reflect.apply(original, this, args)
    },
  }[name]
  try {
    Object.defineProperty(owner, name, {value: wrapped, writable: true, configurable: true, enumerable: true})
  } catch {
    // frozen: leave it
  }
}

// --- native handles ---------------------------------------------------------------------------
const dlopen = process.dlopen
process.dlopen = function dlopenTrap(module, filename) {
  if (!active) return Reflect.apply(dlopen, process, arguments)
  hit('NATIVE_ADDON', 'loads the native addon ' + (inPackage(filename) ? rel(filename) : filename), dlopenTrap, null)
  // Never run native code here: the module gets empty exports.
}

for (const name of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming']) {
  wrapFn(WebAssembly, name, 'WASM', 'WebAssembly.' + name + '()', /^node:internal\/(modules\/|deps\/)/)
}
for (const name of ['Module', 'Instance']) {
  const Target = WebAssembly[name]
  const trap = new Proxy(Target, {
    construct(target, args, newTarget) {
      hit('WASM', 'new WebAssembly.' + name + '()', trap, /^node:internal\/(modules\/|deps\/)/)
      return Reflect.construct(target, args, newTarget === trap ? target : newTarget)
    },
  })
  WebAssembly[name] = trap
}

// --- non-deterministic values -----------------------------------------------------------------
const realEnv = process.env
const envTrap = {
  get(target, key) {
    if (typeof key === 'string') hit('ENV_READ', 'reads process.env.' + key, envTrap.get, INCIDENTAL)
    return Reflect.get(target, key)
  },
  has(target, key) {
    if (typeof key === 'string') hit('ENV_READ', 'tests "' + key + '" in process.env', envTrap.has, INCIDENTAL)
    return Reflect.has(target, key)
  },
  ownKeys(target) {
    hit('ENV_READ', 'lists the keys of process.env', envTrap.ownKeys, INCIDENTAL)
    return Reflect.ownKeys(target)
  },
  getOwnPropertyDescriptor(target, key) {
    if (typeof key === 'string') hit('ENV_READ', 'reads process.env.' + key, envTrap.getOwnPropertyDescriptor, INCIDENTAL)
    return Reflect.getOwnPropertyDescriptor(target, key)
  },
}
process.env = new Proxy(realEnv, envTrap)

// os.tmpdir() and os.homedir() read TMPDIR and HOME natively, past the process.env trap.
const os = require('node:os')
wrapFn(os, 'tmpdir', 'ENV_READ', 'reads the environment (os.tmpdir() reads TMPDIR)', INCIDENTAL)
wrapFn(os, 'homedir', 'ENV_READ', 'reads the environment (os.homedir() reads HOME)', INCIDENTAL)
wrapFn(process, 'cwd', 'CWD_READ', 'reads the working directory (process.cwd())', INCIDENTAL)
wrapFn(Date, 'now', 'DATE_NOW', 'reads the clock (Date.now())', INCIDENTAL)
const RealDate = Date
const DateTrap = new Proxy(RealDate, {
  construct(target, args, newTarget) {
    if (args.length === 0) hit('DATE_NOW', 'reads the clock (new Date())', DateTrap, INCIDENTAL)
    return Reflect.construct(target, args, newTarget === DateTrap ? target : newTarget)
  },
  apply(target, self, args) {
    hit('DATE_NOW', 'reads the clock (Date())', DateTrap, INCIDENTAL)
    return Reflect.apply(target, self, args)
  },
})
globalThis.Date = DateTrap
wrapFn(Math, 'random', 'MATH_RANDOM', 'draws a random number (Math.random())', INCIDENTAL)
wrapFn(crypto, 'randomUUID', 'RANDOM_UUID', 'makes a UUID (crypto.randomUUID())', INCIDENTAL)
for (const name of ['randomBytes', 'randomFillSync', 'randomFill', 'randomInt', 'getRandomValues']) {
  wrapFn(crypto, name, 'CRYPTO_RANDOM', 'draws random bytes (crypto.' + name + '())', INCIDENTAL)
}
const web = globalThis.crypto
if (web) {
  for (const [name, rule, what] of [
    ['randomUUID', 'RANDOM_UUID', 'makes a UUID (crypto.randomUUID())'],
    ['getRandomValues', 'CRYPTO_RANDOM', 'draws random bytes (crypto.getRandomValues())'],
  ]) {
    const original = web[name]
    if (typeof original !== 'function') continue
    const wrapped = {
      [name](...args) {
        hit(rule, what, wrapped, INCIDENTAL)
        return Reflect.apply(original, web, args)
      },
    }[name]
    Object.defineProperty(web, name, {value: wrapped, writable: true, configurable: true})
  }
}

// --- file descriptors -------------------------------------------------------------------------
function shown(file) {
  let text = String(file)
  if (text.startsWith('file:')) {
    try {
      text = url.fileURLToPath(text)
    } catch {
      // keep the URL
    }
  }
  return path.isAbsolute(text) && inPackage(text) ? rel(text) : text
}
function openRecord(skip, what) {
  if (!active) return null
  const prev = active
  active = false
  try {
    const where = attribute(callsites(skip), LOADER)
    if (!where) return null
    const entry = {where, what, settled: false, failed: false, fd: undefined}
    opens.push(entry)
    return entry
  } finally {
    active = prev
  }
}
const openSync = fs.openSync
fs.openSync = function openSyncTrap(file) {
  const entry = openRecord(openSyncTrap, 'opens ' + shown(file))
  try {
    const fd = Reflect.apply(openSync, fs, arguments)
    if (entry) Object.assign(entry, {settled: true, fd})
    return fd
  } catch (error) {
    if (entry) Object.assign(entry, {settled: true, failed: true})
    throw error
  }
}
const open = fs.open
fs.open = function openTrap(file, ...rest) {
  const entry = openRecord(openTrap, 'opens ' + shown(file))
  const at = rest.findIndex((a) => typeof a === 'function')
  if (entry && at >= 0) {
    const callback = rest[at]
    rest[at] = function (error, fd) {
      Object.assign(entry, {settled: true, failed: Boolean(error), fd})
      return Reflect.apply(callback, this, arguments)
    }
  }
  return Reflect.apply(open, fs, [file, ...rest])
}
const promisesOpen = fs.promises.open
fs.promises.open = function promisesOpenTrap(file, ...rest) {
  const entry = openRecord(promisesOpenTrap, 'opens ' + shown(file))
  const result = Reflect.apply(promisesOpen, fs.promises, [file, ...rest])
  if (!entry) return result
  return result.then(
    (handle) => {
      Object.assign(entry, {settled: true, fd: handle.fd})
      return handle
    },
    (error) => {
      Object.assign(entry, {settled: true, failed: true})
      throw error
    },
  )
}
for (const name of ['createReadStream', 'createWriteStream']) {
  const original = fs[name]
  const wrapped = {
    [name](file, ...rest) {
      const entry = openRecord(wrapped, 'opens a stream on ' + shown(file))
      const stream = Reflect.apply(original, fs, [file, ...rest])
      if (entry) {
        entry.settled = true
        entry.stream = stream
      }
      return stream
    },
  }[name]
  fs[name] = wrapped
}
Module.syncBuiltinESMExports()

// --- handles and promises (async_hooks) -------------------------------------------------------
const SOCKETS = new Set([
  'TCPWRAP',
  'TCPSERVERWRAP',
  'TCPCONNECTWRAP',
  'UDPWRAP',
  'UDPSENDWRAP',
  'PIPEWRAP',
  'PIPESERVERWRAP',
  'PIPECONNECTWRAP',
  'TLSWRAP',
  'HTTPCLIENTREQUEST',
  'HTTP2SESSION',
  'QUIC_ENDPOINT',
])
function initHook(asyncId, type, trigger, resource) {
  if (!active) return
  active = false
  try {
    if (type === 'PROMISE') {
      const where = attribute(callsites(initHook), LOADER)
      // V8 makes a promise for every module with top-level await when it starts evaluating it; it
      // carries the module's start (1:1, no function) and never settles. It is not the package's.
      const own = where && !(where.frame.line === 1 && where.frame.column === 1 && !where.frame.fn)
      if (own) pendingPromises.set(asyncId, {where, promise: resource, trigger})
    } else if (type === 'Timeout' || type === 'Immediate') {
      const where = attribute(callsites(initHook), LOADER)
      if (where) timers.push({type, resource, where})
    } else if (SOCKETS.has(type)) {
      record('SOCKET', 'opens a socket (' + type + ')', attribute(callsites(initHook), LOADER))
    } else if (type === 'WORKER') {
      record('WORKER', 'starts a worker thread', attribute(callsites(initHook), LOADER))
    } else if (type === 'FSEVENTWRAP') {
      record('OPEN_FD', 'watches a path (fs.watch)', attribute(callsites(initHook), LOADER))
    } else if (type === 'STATWATCHER') {
      record('TIMER', 'polls a path (fs.watchFile)', attribute(callsites(initHook), LOADER))
    }
  } catch {
    // never break the program under test
  } finally {
    active = true
  }
}
asyncHooks
  .createHook({
    init: initHook,
    promiseResolve(asyncId) {
      pendingPromises.delete(asyncId)
    },
  })
  .enable()

// --- evaluation -------------------------------------------------------------------------------
// Linux: the fds open before evaluation, to find files left open through calls not traced above.
function listFds() {
  try {
    // The listing's own fd is in the list, and closed by now.
    return new Set(orig.readdirSync('/proc/self/fd').map(Number).filter(isOpen))
  } catch {
    return null
  }
}
let fdsBefore = null

function isOpen(fd) {
  try {
    orig.fstatSync(fd)
    return true
  } catch {
    return false
  }
}

const inspect = require('node:util').inspect
function isPending(promise) {
  if (!(promise instanceof Promise)) return true
  try {
    return inspect(promise, {depth: 0, customInspect: false}).includes('<pending>')
  } catch {
    return true
  }
}

function finish(outcome) {
  if (finished) return
  finished = true
  active = false
  for (const timer of timers) {
    const res = timer.resource
    if (res && res._destroyed === false) {
      const repeat = timer.type === 'Timeout' && res._repeat ? 'setInterval' : timer.type === 'Timeout' ? 'setTimeout' : 'setImmediate'
      record('TIMER', 'leaves a pending timer (' + repeat + ')', timer.where)
    }
  }
  for (const entry of opens) {
    if (entry.failed) continue
    if (entry.stream) {
      if (!entry.stream.destroyed && !entry.stream.closed) record('OPEN_FD', entry.what + ' and leaves it open', entry.where)
      continue
    }
    if (!entry.settled) record('OPEN_FD', entry.what + ' (still opening when evaluation ended)', entry.where)
    else if (entry.fd !== undefined && isOpen(entry.fd)) record('OPEN_FD', entry.what + ' and leaves fd ' + entry.fd + ' open', entry.where)
  }
  const fdsAfter = fdsBefore && listFds()
  if (fdsAfter) {
    const traced = new Set(opens.map((entry) => entry.fd))
    for (const fd of fdsAfter) {
      if (fdsBefore.has(fd) || traced.has(fd)) continue
      let target
      try {
        const stat = orig.fstatSync(fd)
        if (!stat.isFile() && !stat.isDirectory()) continue
        target = orig.readlinkSync('/proc/self/fd/' + fd)
      } catch {
        continue
      }
      const file = inPackage(target) ? rel(target) : rel(config.entry)
      record('OPEN_FD', 'leaves fd ' + fd + ' open on ' + (inPackage(target) ? rel(target) : target) + ' (opened by a call the check does not trace)', {
        frame: {file, line: 0, column: 0},
        stack: [],
      })
    }
  }
  // Only root causes: a promise waiting on another pending promise (a .then() on it, an await of
  // it) is reported through that one.
  const stillPending = new Set()
  for (const [id, entry] of pendingPromises) if (isPending(entry.promise)) stillPending.add(id)
  for (const id of stillPending) {
    const entry = pendingPromises.get(id)
    if (!stillPending.has(entry.trigger)) record('PENDING_PROMISE', 'leaves a promise pending', entry.where)
  }
  const report = {version: 1, entry: config.entry, mode: config.mode, outcome, findings, omitted}
  try {
    orig.writeFileSync(config.report, JSON.stringify(report))
  } catch {
    // the parent reports the missing report
  }
}

function failure(error, kind) {
  const outcome = {status: kind}
  if (error && typeof error === 'object') {
    outcome.name = String(error.name || 'Error')
    outcome.message = String(error.message || '')
    outcome.code = typeof error.code === 'string' ? error.code : undefined
    const stack = typeof error.stack === 'string' ? error.stack : ''
    outcome.frames = stack
      .split('\n')
      .map((line) => {
        const m = /\(?((?:file:\/\/)?\/[^()]*?):(\d+)(?::(\d+))?\)?\s*$/.exec(line.trim())
        if (!m) return null
        let file = m[1]
        if (file.startsWith('file:')) {
          try {
            file = url.fileURLToPath(file)
          } catch {
            return null
          }
        }
        if (!inPackage(file)) return null
        return {file: rel(file), line: Number(m[2]), column: m[3] ? Number(m[3]) : 0}
      })
      .filter(Boolean)
      .slice(0, 8)
  } else {
    outcome.name = 'Error'
    outcome.message = 'threw ' + String(error)
    outcome.frames = []
  }
  return outcome
}

let exitCalled = false
process.exit = function exit() {
  exitCalled = true
  return Reflect.apply(orig.exit, process, arguments)
}
process.on('exit', (code) => {
  finish({status: 'exited', code, called: exitCalled})
})
process.on('uncaughtException', (error) => {
  finish(failure(error, 'uncaught'))
  orig.exit(0)
})
process.on('unhandledRejection', () => {})
orig.setTimeout(() => {
  finish({status: 'timeout', ms: config.deadlineMs})
  orig.exit(0)
}, config.deadlineMs).unref()

async function evaluate() {
  if (config.mode === 'script') {
    const source = fs.readFileSync(config.entry, 'utf8')
    const mod = new Module(config.entry, null)
    mod.filename = config.entry
    mod.paths = Module._nodeModulePaths(path.dirname(config.entry))
    fdsBefore = listFds()
    active = true
    mod._compile(source, config.entry)
  } else {
    const href = url.pathToFileURL(config.entry).href
    fdsBefore = listFds()
    active = true
    await import(href)
  }
  // Let promise chains started at the top level settle, without running timers or I/O callbacks:
  // the snapshot is taken once evaluation and its microtasks are done.
  for (let i = 0; i < 64; i++) await null
}

evaluate().then(
  () => {
    finish({status: 'ok'})
    orig.exit(0)
  },
  (error) => {
    finish(failure(error, 'threw'))
    orig.exit(0)
  },
)
`
