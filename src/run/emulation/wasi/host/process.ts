/**
 * Processes for the agentOS host layer: a descriptor table over node:wasi's (dup, dup2, pipes) and
 * `host_process` spawning.
 *
 * WASM calls are synchronous, and node:wasi's own descriptor table is out of reach, so:
 * - Pipes live in this process as byte buffers. A descriptor the guest dups or pipes gets an entry
 *   in a table that sits in front of node:wasi; everything else passes through untouched.
 * - A spawned command is a child Node.js process running wasi-main.js, started with `spawnSync`
 *   when its result is needed: when the guest waits for it, reads a pipe it writes, or starts a
 *   child that reads such a pipe. A pipeline `a | b | c` therefore runs a, b, c in turn, each
 *   reading the whole output of the previous one. Commands that never end (`yes | head`) are
 *   beyond this model.
 */
import {spawnSync} from 'node:child_process'
import {
  closeSync,
  constants as fsc,
  existsSync,
  lstatSync,
  openSync,
  readlinkSync,
  fstatSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs'
import {constants} from 'node:os'
import {join, posix} from 'node:path'
import {Worker} from 'node:worker_threads'
import {ERRNO, FD_TAG, type GuestMemory, type Preopen} from './abi.js'
import {SPAWNER_SOURCE} from './spawner.js'

type Raw = Record<string, (...args: never[]) => unknown>
type NumFn = (...args: number[]) => number

/** A pipe between guest processes: bytes written and not yet read. */
interface Pipe {
  chunks: Buffer[]
  /** Open write ends (in this process and in children that have not run yet). */
  writers: number
}

/** What a descriptor refers to; shared by dups. */
type Description =
  | {kind: 'native'; fd: number; refs: number}
  | {kind: 'pipe-read'; pipe: Pipe; refs: number}
  | {kind: 'pipe-write'; pipe: Pipe; refs: number}
  | {kind: 'host'; fd: number; refs: number}

/** A spawned command, run on demand. */
interface Child {
  pid: number
  module: string
  argv: string[]
  env: Record<string, string>
  stdio: Array<Description | undefined>
  status?: {code: number; signal: number}
  reaped: boolean
  running: boolean
  /** Started on the spawner thread: `[state, code, signal]` (spawner.ts). */
  slots?: Int32Array
}

const FIRST_MANAGED_FD = 1 << 20
const MAX_CAPTURE = 64 << 20
/** How long a spawn waits for the spawner thread to start the child. */
const SPAWNER_START_MS = 20_000
const CLOSED = Symbol('closed')
const ERRNO_MORE = {acces: 2, noexec: 45, spipe: 70} as const
const SPAWN_ACTION = {close: 1, dup2: 2, open: 3} as const
const DEVICES = new Set(['/dev/null', '/dev/zero'])
const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d])

/**
 * The module behind an executable: the file itself when it is WebAssembly, or the module a
 * `run` shim script (root.ts) execs through the runner. Anything else cannot run here.
 */
function wasmModuleOf(file: string): string | number {
  const head = Buffer.alloc(4096)
  let length: number
  try {
    const fd = openSync(file, 'r')
    try {
      length = readSync(fd, head, 0, head.length, 0)
    } finally {
      closeSync(fd)
    }
  } catch {
    return ERRNO_MORE.acces
  }
  if (head.subarray(0, 4).equals(WASM_MAGIC)) return file
  const text = head.subarray(0, length).toString('utf8')
  if (text.startsWith('#!') && text.includes('agentos-toolchain run:')) {
    const match = /'--' '((?:[^']|'\\'')*)'/.exec(text)
    if (match) return match[1]!.replaceAll("'\\''", "'")
  }
  return ERRNO_MORE.noexec
}

/** The WASI filetype of a host descriptor (character device, directory, regular file). */
function filetypeOf(fd: number): number {
  try {
    const info = fstatSync(fd)
    return info.isCharacterDevice() ? 2 : info.isDirectory() ? 3 : info.isFile() ? 4 : 0
  } catch {
    return 0
  }
}

/** Options of {@link createProcessHost}. */
export interface ProcessHostOptions {
  preopens: Preopen[]
  /**
   * The command line that starts the WASI runner for a spawned command (this executable as the
   * runner, see runner.ts's selfRunnerArgv), given by the caller so this layer never looks for its
   * own entry; without it spawning fails with ENOSYS.
   */
  runner?: string[]
  /** Host descriptors behind the guest's 0, 1, 2. */
  stdio: [number, number, number]
  /** node:wasi's functions, untagged. */
  raw: Raw
  memory: GuestMemory
  pid: number
}

/** The descriptor table, the wrapped WASI functions and the `host_process` functions. */
export interface ProcessHost {
  /** WASI functions that consult the descriptor table first. */
  wasi: Raw
  process: Raw
  /** `host_fs` functions that need the VM's paths. */
  fs: Raw
  /** The host descriptor behind a guest descriptor, when there is one (isatty). */
  hostFd(fd: number): number | undefined
}

export function createProcessHost(options: ProcessHostOptions): ProcessHost {
  const {raw, memory, preopens, stdio} = options
  const call = (name: string, ...args: Array<number | bigint>) =>
    (raw[name] as (...a: unknown[]) => number)(...args)
  const table = new Map<number, Description | typeof CLOSED>()
  let nextFd = FIRST_MANAGED_FD
  const children = new Map<number, Child>()
  let nextPid = options.pid + 1

  /** The description of a guest descriptor; native ones get one on first use. */
  const describe = (fd: number, create = true): Description | undefined => {
    const entry = table.get(fd)
    if (entry === CLOSED) return undefined
    if (entry) return entry
    if (!create) return undefined
    const desc: Description = {kind: 'native', fd, refs: 1}
    table.set(fd, desc)
    return desc
  }
  const retain = (desc: Description) => {
    desc.refs++
    if (desc.kind === 'pipe-write') desc.pipe.writers++
    return desc
  }
  const release = (desc: Description) => {
    desc.refs--
    if (desc.kind === 'pipe-write') desc.pipe.writers--
    if (desc.refs > 0) return
    if (desc.kind === 'native') {
      // node:wasi would hand 0, 1 or 2 out again for the next open: those stay open underneath,
      // behind a closed mark.
      if (desc.fd > 2) {
        call('fd_close', desc.fd)
        if (table.get(desc.fd) === CLOSED) table.delete(desc.fd)
      }
    } else if (desc.kind === 'host') closeSync(desc.fd)
  }
  const closeGuest = (fd: number): number => {
    const entry = table.get(fd)
    if (entry === CLOSED) return ERRNO.badf
    if (!entry) return call('fd_close', fd)
    table.delete(fd)
    // A native number stays taken while a dup still uses the native descriptor, and 0, 1, 2 stay
    // open in node:wasi: either way the guest's number is closed.
    if ((entry.kind === 'native' && entry.fd === fd && entry.refs > 1) || fd <= 2) table.set(fd, CLOSED)
    release(entry)
    return ERRNO.success
  }
  /** The node:wasi descriptor behind a guest descriptor, or undefined (closed, or a pipe). */
  const nativeOf = (fd: number): number | undefined => {
    const entry = table.get(fd)
    if (entry === CLOSED) return undefined
    if (!entry) return fd
    return entry.kind === 'native' ? entry.fd : undefined
  }

  /** Runs with a scratch area of guest memory at 0, restored afterwards. */
  const scratch = <T>(size: number, fn: (bytes: Uint8Array) => T): T => {
    const bytes = memory.bytes()
    const saved = bytes.slice(0, size)
    try {
      return fn(bytes)
    } finally {
      memory.bytes().set(saved, 0)
    }
  }
  /** Scratch bytes for a transfer: 64 KiB, less in a module with a single small page. */
  const chunk = () => Math.max(16, Math.min(65_536, memory.bytes().length - 16))
  /** Reads a native descriptor to its end through node:wasi. */
  const readNative = (fd: number): Buffer => {
    const size = chunk()
    return scratch(size + 16, () => {
      const parts: Buffer[] = []
      for (;;) {
        memory.u32(0, 16)
        memory.u32(4, size)
        if (call('fd_read', fd, 0, 1, 8) !== 0) break
        const n = memory.view().getUint32(8, true)
        if (n === 0) break
        parts.push(Buffer.from(memory.bytes().slice(16, 16 + n)))
      }
      return Buffer.concat(parts)
    })
  }
  const writeNative = (fd: number, data: Buffer): void => {
    if (data.length === 0) return
    const size = chunk()
    scratch(size + 16, () => {
      for (let offset = 0; offset < data.length;) {
        const part = data.subarray(offset, offset + size)
        memory.bytes().set(part, 16)
        memory.u32(0, 16)
        memory.u32(4, part.length)
        if (call('fd_write', fd, 0, 1, 8) !== 0) return
        const written = memory.view().getUint32(8, true)
        if (written === 0) return
        offset += written
      }
    })
  }

  const iovecs = (ptr: number, count: number): Array<[number, number]> => {
    const view = memory.view()
    return Array.from({length: count}, (_, i) => [
      view.getUint32(ptr + i * 8, true),
      view.getUint32(ptr + i * 8 + 4, true),
    ])
  }

  /** Runs the not-yet-run children that write into a pipe, so its contents are complete. */
  const runProducers = (pipe: Pipe) => {
    for (const child of children.values()) {
      if (child.status || child.running) continue
      if (child.stdio.some((d) => d?.kind === 'pipe-write' && d.pipe === pipe)) runChild(child)
    }
  }

  const pipeRead = (pipe: Pipe, max: number): Buffer => {
    if (pipe.chunks.length === 0) runProducers(pipe)
    const all = Buffer.concat(pipe.chunks)
    const out = all.subarray(0, max)
    pipe.chunks = all.length > max ? [Buffer.from(all.subarray(max))] : []
    return out
  }

  // ---- VM paths -------------------------------------------------------------------------------
  const byLength = [...preopens]
    .map((p, index) => ({...p, fd: index + 3}))
    .sort((a, b) => b.guest.length - a.guest.length)
  const preopenOf = (vmPath: string) =>
    byLength.find((p) => p.guest === '/' || vmPath === p.guest || vmPath.startsWith(`${p.guest}/`))
  const hostOf = (vmPath: string): string | undefined => {
    const p = preopenOf(vmPath)
    if (!p) return undefined
    return join(p.host, p.guest === '/' ? vmPath : vmPath.slice(p.guest.length))
  }
  /** Resolves symlinks inside the VM: a link's target is a VM path, whatever preopen it lands in. */
  const resolveVm = (vmPath: string, followLast = true): string => {
    let path = posix.normalize(vmPath)
    for (let hops = 0; hops < 40; hops++) {
      const parts = path.split('/').filter(Boolean)
      let changed = false
      for (let i = 0; i < parts.length; i++) {
        if (i === parts.length - 1 && !followLast) break
        const prefix = `/${parts.slice(0, i + 1).join('/')}`
        const host = hostOf(prefix)
        if (!host) return path
        let target: string
        try {
          if (!lstatSync(host).isSymbolicLink()) continue
          target = readlinkSync(host)
        } catch {
          return path
        }
        const base = posix.dirname(prefix)
        path = posix.normalize(posix.join(target.startsWith('/') ? '/' : base, target, ...parts.slice(i + 1)))
        changed = true
        break
      }
      if (!changed) return path
    }
    return path
  }
  const guestPathOfPreopen = (fd: number) => byLength.find((p) => p.fd === fd)?.guest

  /**
   * Retries a path call that failed with ENOENT through the preopen the VM path really lands in:
   * `/opt/agentos/bin/ls` links to `../coreutils/bin/ls`, which is another preopen's.
   */
  const crossPreopen = (name: string, pathIndex: number, lenIndex: number): NumFn => {
    const fn = raw[name] as NumFn
    return (...args: number[]) => {
      const result = fn(...args)
      if (result !== ERRNO.noent) return result
      const base = guestPathOfPreopen(args[0]!)
      if (base === undefined) return result
      const vmPath = posix.join(base, memory.text(args[pathIndex]!, args[lenIndex]!))
      const resolved = resolveVm(vmPath)
      const target = preopenOf(resolved)
      if (!target || (target.fd === args[0] && resolved === vmPath)) return result
      const rest =
        target.guest === '/' ? resolved.slice(1) || '.' : resolved.slice(target.guest.length + 1) || '.'
      const encoded = Buffer.from(rest, 'utf8')
      return scratch(encoded.length, (bytes) => {
        bytes.set(encoded, 0)
        const retried = [...args]
        retried[0] = target.fd
        retried[pathIndex] = 0
        retried[lenIndex] = encoded.length
        return fn(...retried)
      })
    }
  }

  // ---- spawning -------------------------------------------------------------------------------
  const runner = options.runner
  const preopenArgs = preopens.flatMap((p) => [
    p.readOnly ? '--ro-preopen' : '--preopen',
    `${p.guest}=${p.host}`,
  ])

  const resolveExec = (path: string, env: Record<string, string>): string | undefined => {
    const candidates = path.includes('/')
      ? [path]
      : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((dir) => posix.join(dir || '.', path))
    for (const candidate of candidates) {
      const host = hostOf(
        resolveVm(candidate.startsWith('/') ? candidate : posix.join(env.PWD ?? '/', candidate)),
      )
      if (host && existsSync(host) && lstatSync(host).isFile()) return host
    }
    return undefined
  }

  const runChild = (child: Child) => {
    child.running = true
    const [inDesc, outDesc, errDesc] = child.stdio
    let input: Buffer | undefined
    const io: Array<'pipe' | 'ignore' | number> = ['ignore', 'ignore', 'ignore']
    if (inDesc?.kind === 'native') {
      if (inDesc.fd <= 2) io[0] = stdio[inDesc.fd]!
      else {
        input = readNative(inDesc.fd)
        io[0] = 'pipe'
      }
    } else if (inDesc?.kind === 'pipe-read') {
      input = pipeRead(inDesc.pipe, Number.MAX_SAFE_INTEGER)
      io[0] = 'pipe'
    } else if (inDesc?.kind === 'host') io[0] = inDesc.fd
    for (const [index, desc] of [
      [1, outDesc],
      [2, errDesc],
    ] as const) {
      if (desc?.kind === 'native' && desc.fd <= 2) io[index] = stdio[desc.fd]!
      else if (desc?.kind === 'host') io[index] = desc.fd
      else if (desc) io[index] = 'pipe'
    }
    const result = spawnSync(
      runner![0]!,
      [...runner!.slice(1), ...preopenArgs, '--', child.module, ...child.argv],
      {
        env: child.env,
        input: io[0] === 'pipe' ? (input ?? Buffer.alloc(0)) : undefined,
        stdio: io,
        // A producer that never ends (`yes | head`) is cut off here, like a reader closing the pipe.
        maxBuffer: MAX_CAPTURE,
      },
    )
    for (const [index, desc] of [
      [1, outDesc],
      [2, errDesc],
    ] as const) {
      const data = (index === 1 ? result.stdout : result.stderr) as Buffer | null
      if (!data || !desc) continue
      if (desc.kind === 'pipe-write') desc.pipe.chunks.push(data)
      else if (desc.kind === 'native' && desc.fd > 2) writeNative(desc.fd, data)
    }
    const signal = result.signal ? (constants.signals[result.signal] ?? 9) : 0
    child.status = {code: result.status ?? (signal ? 128 + signal : 1), signal}
    if (result.error && result.status === null && !result.signal) {
      writeNative(2, Buffer.from(`${child.argv[0]}: ${result.error.message}\n`))
      child.status = {code: 126, signal: 0}
    }
    for (const desc of child.stdio) if (desc) release(desc)
    child.stdio = []
  }

  const splitList = (ptr: number, len: number): string[] => {
    if (len === 0) return []
    const text = memory.text(ptr, len)
    const items = text.split('\0')
    if (items.at(-1) === '') items.pop()
    return items
  }

  const openHost = (vmPath: string, oflag: number, mode: number): Description | number => {
    // The VM has no /dev of its own; the two harmless devices are the host's.
    const host = DEVICES.has(vmPath) ? vmPath : hostOf(resolveVm(vmPath))
    if (!host) return ERRNO.noent
    // posix_spawn's open flags (musl/wasi-libc values): O_WRONLY 1, O_RDWR 2, O_CREAT 0o100, O_TRUNC 0o1000, O_APPEND 0o2000.
    let flags = oflag & 2 ? fsc.O_RDWR : oflag & 1 ? fsc.O_WRONLY : fsc.O_RDONLY
    if (oflag & 0o100) flags |= fsc.O_CREAT
    if (oflag & 0o1000) flags |= fsc.O_TRUNC
    if (oflag & 0o2000) flags |= fsc.O_APPEND
    try {
      return {kind: 'host', fd: openSync(host, flags, mode || 0o644), refs: 1}
    } catch {
      return ERRNO.noent
    }
  }

  const spawn = (
    pathPtr: number,
    pathLen: number,
    argvPtr: number,
    argvLen: number,
    envPtr: number,
    envLen: number,
    actionsPtr: number,
    actionsLen: number,
    cwdPtr: number,
    cwdLen: number,
    retPid: number,
  ): number => {
    if (!runner) return ERRNO.nosys
    const argv = splitList(argvPtr, argvLen)
    const env: Record<string, string> = {}
    for (const pair of splitList(envPtr, envLen)) {
      const eq = pair.indexOf('=')
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
    const cwd = cwdLen > 0 ? memory.text(cwdPtr, cwdLen) : undefined
    if (cwd) env.PWD = cwd
    const path = memory.text(pathPtr, pathLen)
    const found = resolveExec(path, env)
    if (!found) return ERRNO.noent
    const module = wasmModuleOf(found)
    if (typeof module === 'number') return module
    // The child's 0, 1, 2: the parent's, then the file actions in order.
    const fds = new Map<number, Description>()
    for (const fd of [0, 1, 2]) {
      const desc = describe(fd)
      if (desc) fds.set(fd, retain(desc))
    }
    const view = memory.view()
    for (let offset = 0; offset + 24 <= actionsLen;) {
      const at = actionsPtr + offset
      const command = view.getUint32(at, true)
      const fd = view.getInt32(at + 4, true)
      const source = view.getInt32(at + 8, true)
      const oflag = view.getInt32(at + 12, true)
      const mode = view.getUint32(at + 16, true)
      const length = view.getUint32(at + 20, true)
      const actionPath = memory.text(at + 24, length)
      offset += 24 + length
      const previous = fds.get(fd)
      if (command === SPAWN_ACTION.close) {
        if (previous) release(previous)
        fds.delete(fd)
      } else if (command === SPAWN_ACTION.dup2) {
        const desc = describe(untagged(source))
        if (!desc) return ERRNO.badf
        retain(desc)
        if (previous) release(previous)
        fds.set(fd, desc)
      } else if (command === SPAWN_ACTION.open) {
        const opened = openHost(posix.resolve(cwd ?? '/', actionPath), oflag, mode)
        if (typeof opened === 'number') return opened
        if (previous) release(previous)
        fds.set(fd, opened)
      }
    }
    for (const [fd, desc] of fds) if (fd > 2) release(desc)
    const pid = nextPid++
    const child: Child = {
      pid,
      module,
      argv,
      env,
      stdio: [fds.get(0), fds.get(1), fds.get(2)],
      reaped: false,
      running: false,
    }
    children.set(pid, child)
    startAsync(child)
    memory.u32(retPid, pid)
    return ERRNO.success
  }

  // ---- children on the spawner thread ---------------------------------------------------------
  let spawner: Worker | null | undefined
  const spawnerThread = (): Worker | null => {
    if (spawner !== undefined) return spawner
    try {
      spawner = new Worker(SPAWNER_SOURCE, {eval: true})
      spawner.unref()
    } catch {
      spawner = null
    }
    return spawner
  }
  /** The host descriptors of a child's 0, 1, 2, when none of them is captured here. */
  const directStdio = (child: Child): Array<number | 'ignore'> | undefined => {
    const io: Array<number | 'ignore'> = []
    for (const desc of child.stdio.slice(0, 3)) {
      if (!desc) io.push('ignore')
      else if (desc.kind === 'native' && desc.fd <= 2) io.push(stdio[desc.fd]!)
      else if (desc.kind === 'host') io.push(desc.fd)
      else return undefined
    }
    return io
  }
  /**
   * Starts a child whose standard descriptors are all host descriptors right away, concurrently:
   * then `waitpid(WNOHANG)`, `kill` and background jobs behave (timeout, sleep &). Children that
   * read or write pipes of this process run on demand instead.
   */
  const startAsync = (child: Child) => {
    const io = directStdio(child)
    if (!io) return
    const thread = spawnerThread()
    if (!thread) return
    const slots = new Int32Array(new SharedArrayBuffer(12))
    thread.postMessage({
      type: 'spawn',
      id: child.pid,
      file: runner![0],
      args: [...runner!.slice(1), ...preopenArgs, '--', child.module, ...child.argv],
      env: child.env,
      stdio: io,
      slots: slots.buffer,
    })
    // The descriptors must reach the child before this process may close them.
    const deadline = Date.now() + SPAWNER_START_MS
    while (Atomics.load(slots, 0) === 0 && Date.now() < deadline) Atomics.wait(slots, 0, 0, 100)
    if (Atomics.load(slots, 0) === 0) {
      // The spawner thread never answered: the child runs on demand instead.
      spawner = null
      return
    }
    child.slots = slots
    child.running = true
    for (const desc of child.stdio) if (desc) release(desc)
    child.stdio = []
  }
  /** Whether a child's status is known, collecting it from the spawner thread. */
  const ended = (child: Child): boolean => {
    if (child.status) return true
    if (!child.slots || Atomics.load(child.slots, 0) !== 2) return false
    child.status = {code: Atomics.load(child.slots, 1), signal: Atomics.load(child.slots, 2)}
    return true
  }
  /** Blocks until a child's status is known. */
  const finish = (child: Child) => {
    if (ended(child)) return
    if (!child.slots) return runChild(child)
    while (!ended(child)) Atomics.wait(child.slots, 0, 1, 1000)
  }

  const untagged = (fd: number) => (fd & FD_TAG ? fd & ~FD_TAG : fd)

  // ---- the wrapped WASI functions ---------------------------------------------------------------
  const wasi: Raw = {...raw}
  /** Functions whose argument 0 is a descriptor: through the table to node's descriptor. */
  const viaTable = (fn: NumFn): NumFn => {
    return (fd: number, ...rest: number[]) => {
      const native = nativeOf(fd)
      return native === undefined ? ERRNO.badf : fn(native, ...rest)
    }
  }
  for (const name of Object.keys(raw)) {
    if (name.startsWith('fd_') || name.startsWith('path_')) wasi[name] = viaTable(raw[name] as NumFn) as never
  }
  const pathOpen = viaTable(crossPreopen('path_open', 2, 3))
  // path_open(dirfd, lookupflags, path, len, oflags, rights, inheriting, fdflags, retFd): the VM
  // has no /dev, so the harmless devices are the host's, behind a table descriptor.
  wasi.path_open = ((...args: number[]) => {
    const result = pathOpen(...args)
    if (result !== ERRNO.noent) return result
    const base = guestPathOfPreopen(nativeOf(args[0]!) ?? -1)
    if (base === undefined) return result
    const vmPath = posix.join(base, memory.text(args[2]!, args[3]!))
    if (!DEVICES.has(vmPath)) return result
    const rights = BigInt(args[5]!)
    const writable = (rights & (1n << 6n)) !== 0n
    const readable = (rights & (1n << 1n)) !== 0n
    const flags = readable && writable ? 'r+' : writable ? 'w' : 'r'
    const fd = nextFd++
    table.set(fd, {kind: 'host', fd: openSync(vmPath, flags), refs: 1})
    memory.u32(args[8]!, fd)
    return ERRNO.success
  }) as never
  const pathFilestat = viaTable(crossPreopen('path_filestat_get', 2, 3))
  // path_filestat_get(dirfd, lookupflags, path, len, retStat): the devices of path_open below.
  wasi.path_filestat_get = ((...args: number[]) => {
    const result = pathFilestat(...args)
    if (result !== ERRNO.noent) return result
    const base = guestPathOfPreopen(nativeOf(args[0]!) ?? -1)
    if (base === undefined || !DEVICES.has(posix.join(base, memory.text(args[2]!, args[3]!)))) return result
    memory.bytes().fill(0, args[4]!, args[4]! + 64)
    const view = memory.view()
    view.setUint8(args[4]! + 16, 2) // character_device
    view.setBigUint64(args[4]! + 24, 1n, true)
    return ERRNO.success
  }) as never
  const wasi_ = {...wasi}
  // A child nobody waited for still runs (`cmd > file &` at the end of a script): before exiting.
  wasi.proc_exit = ((code: number) => {
    for (const child of [...children.values()]) if (!child.slots && !ended(child)) finish(child)
    return (raw.proc_exit as (code: number) => unknown)(code)
  }) as never
  wasi.fd_close = ((fd: number) => closeGuest(fd)) as never
  wasi.fd_read = ((fd: number, iovs: number, count: number, retN: number) => {
    const desc = table.get(fd)
    if (desc === undefined || desc === CLOSED || desc.kind === 'native')
      return (wasi_.fd_read as NumFn)(fd, iovs, count, retN)
    if (desc.kind === 'host') {
      let total = 0
      for (const [ptr, len] of iovecs(iovs, count)) {
        const n = readSync(desc.fd, memory.bytes(), ptr, len, null)
        total += n
        if (n < len) break
      }
      memory.u32(retN, total)
      return ERRNO.success
    }
    if (desc.kind !== 'pipe-read') return ERRNO.badf
    const vecs = iovecs(iovs, count)
    const data = pipeRead(
      desc.pipe,
      vecs.reduce((n, [, len]) => n + len, 0),
    )
    let offset = 0
    const bytes = memory.bytes()
    for (const [ptr, len] of vecs) {
      const part = data.subarray(offset, offset + len)
      bytes.set(part, ptr)
      offset += part.length
      if (offset >= data.length) break
    }
    memory.u32(retN, data.length)
    return ERRNO.success
  }) as never
  wasi.fd_write = ((fd: number, iovs: number, count: number, retN: number) => {
    const desc = table.get(fd)
    if (desc === undefined || desc === CLOSED || desc.kind === 'native')
      return (wasi_.fd_write as NumFn)(fd, iovs, count, retN)
    if (desc.kind === 'host') {
      let total = 0
      for (const [ptr, len] of iovecs(iovs, count)) total += writeSync(desc.fd, memory.bytes(), ptr, len)
      memory.u32(retN, total)
      return ERRNO.success
    }
    if (desc.kind !== 'pipe-write') return ERRNO.badf
    const bytes = memory.bytes()
    const data = Buffer.concat(
      iovecs(iovs, count).map(([ptr, len]) => Buffer.from(bytes.slice(ptr, ptr + len))),
    )
    desc.pipe.chunks.push(data)
    memory.u32(retN, data.length)
    return ERRNO.success
  }) as never
  const pipeStat = (fallback: string) => {
    const fn = wasi_[fallback] as NumFn
    return ((guestFd: number, ptr: number, ...rest: number[]) => {
      const desc = table.get(guestFd)
      if (desc && desc !== CLOSED && desc.kind !== 'native') {
        const view = memory.view()
        const size = fallback === 'fd_fdstat_get' ? 24 : 64
        memory.bytes().fill(0, ptr, ptr + size)
        const type = desc.kind === 'host' ? filetypeOf(desc.fd) : 0
        if (fallback === 'fd_fdstat_get') {
          view.setUint8(ptr, type)
          view.setBigUint64(ptr + 8, 0xffffffffn, true)
          view.setBigUint64(ptr + 16, 0xffffffffn, true)
        } else {
          view.setUint8(ptr + 16, type)
          view.setBigUint64(ptr + 24, 1n, true)
        }
        return ERRNO.success
      }
      return fn(guestFd, ptr, ...rest)
    }) as never
  }
  wasi.fd_fdstat_get = pipeStat('fd_fdstat_get')
  wasi.fd_filestat_get = pipeStat('fd_filestat_get')
  const seek = wasi_.fd_seek as (...args: unknown[]) => number
  wasi.fd_seek = ((fd: number, ...rest: unknown[]) => {
    const desc = table.get(fd)
    return desc && desc !== CLOSED && desc.kind !== 'native' ? ERRNO_MORE.spipe : seek(fd, ...rest)
  }) as never

  // ---- host_process -----------------------------------------------------------------------------
  const process_: Raw = {
    fd_dup: ((fd: number, ret: number) => {
      const desc = describe(untagged(fd))
      if (!desc) return ERRNO.badf
      const newFd = nextFd++
      table.set(newFd, retain(desc))
      memory.u32(ret, newFd)
      return ERRNO.success
    }) as never,
    fd_dup_min: ((fd: number, min: number, ret: number) => {
      const desc = describe(untagged(fd))
      if (!desc) return ERRNO.badf
      const newFd = Math.max(nextFd++, min)
      nextFd = Math.max(nextFd, newFd + 1)
      table.set(newFd, retain(desc))
      memory.u32(ret, newFd)
      return ERRNO.success
    }) as never,
    fd_dup2: ((oldFd: number, newFd: number) => {
      const [from, to] = [untagged(oldFd), untagged(newFd)]
      const desc = describe(from)
      if (!desc) return ERRNO.badf
      if (from === to) return ERRNO.success
      retain(desc)
      if (table.has(to) || to <= 2) {
        const previous = describe(to)
        if (previous) {
          table.delete(to)
          release(previous)
        }
      }
      table.set(to, desc)
      return ERRNO.success
    }) as never,
    fd_pipe: ((retRead: number, retWrite: number) => {
      const pipe: Pipe = {chunks: [], writers: 1}
      const [r, w] = [nextFd++, nextFd++]
      table.set(r, {kind: 'pipe-read', pipe, refs: 1})
      table.set(w, {kind: 'pipe-write', pipe, refs: 1})
      memory.u32(retRead, r)
      memory.u32(retWrite, w)
      return ERRNO.success
    }) as never,
    proc_spawn_v3: ((...args: number[]) =>
      spawn(
        args[0]!,
        args[1]!,
        args[2]!,
        args[3]!,
        args[4]!,
        args[5]!,
        args[6]!,
        args[7]!,
        args[8]!,
        args[9]!,
        args[16]!,
      )) as never,
    proc_exec: ((
      pathPtr: number,
      pathLen: number,
      argvPtr: number,
      argvLen: number,
      envPtr: number,
      envLen: number,
    ) => {
      // No image replacement here: the command runs as a child with this process's descriptors,
      // and this process exits with its status.
      let pid = 0
      const errno = scratch(4, () => {
        const result = spawn(pathPtr, pathLen, argvPtr, argvLen, envPtr, envLen, 0, 0, 0, 0, 0)
        pid = memory.view().getUint32(0, true)
        return result
      })
      if (errno !== ERRNO.success) return errno
      const child = children.get(pid)!
      finish(child)
      children.delete(pid)
      ;(raw.proc_exit as (code: number) => void)(child.status!.code)
      return ERRNO.success
    }) as never,
    proc_waitpid_v2: ((
      pid: number,
      options: number,
      retCode: number,
      retSignal: number,
      retPid: number,
      retCore: number,
    ) => {
      const WNOHANG = 1
      const wanted = pid | 0
      let child: Child | undefined
      if (wanted > 0) {
        child = children.get(wanted)
        if (!child) return ERRNO.child
        // A child that runs on demand has no "still running": it runs now, WNOHANG or not.
        if (!ended(child) && ((options & WNOHANG) === 0 || !child.slots)) finish(child)
      } else {
        if (children.size === 0) return ERRNO.child
        for (;;) {
          const waiting = [...children.values()]
          child = waiting.find((c) => ended(c))
          if (child) break
          // On demand children run now; started ones are waited for.
          child = waiting.find((c) => !c.slots)
          if (child) {
            finish(child)
            break
          }
          if (options & WNOHANG) break
          Atomics.wait(waiting[0]!.slots!, 0, 1, 50)
        }
      }
      if (!child || !ended(child)) {
        // WNOHANG and nothing has ended yet.
        if (retPid) memory.u32(retPid, 0)
        return ERRNO.success
      }
      child.reaped = true
      children.delete(child.pid)
      if (retCode) memory.u32(retCode, child.status!.code)
      if (retSignal) memory.u32(retSignal, child.status!.signal)
      if (retPid) memory.u32(retPid, child.pid)
      if (retCore) memory.u32(retCore, 0)
      return ERRNO.success
    }) as never,
    proc_kill: ((pid: number, signal: number) => {
      const child = children.get(pid | 0)
      if (!child) return pid === options.pid ? ERRNO.success : ERRNO.srch
      if (signal === 0 || ended(child)) return ERRNO.success
      if (child.slots) spawner?.postMessage({type: 'kill', id: child.pid, signal})
      else {
        child.status = {code: 128 + signal, signal}
        for (const desc of child.stdio) if (desc) release(desc)
        child.stdio = []
      }
      return ERRNO.success
    }) as never,
  }

  const fs: Raw = {
    // fd_mode(fd) -> st_mode: known for the host devices of the table only.
    fd_mode: ((fd: number) => {
      const desc = table.get(untagged(fd))
      if (!desc || desc === CLOSED || desc.kind !== 'host') return 0
      try {
        return fstatSync(desc.fd).mode
      } catch {
        return 0
      }
    }) as never,
    // path_mode(dirfd, path, len, follow) -> st_mode, 0 for "no information".
    path_mode: ((fd: number, ptr: number, len: number, follow: number) => {
      const base = guestPathOfPreopen(nativeOf(untagged(fd)) ?? -1)
      if (base === undefined) return 0
      const vmPath = posix.join(base, memory.text(ptr, len))
      const host = DEVICES.has(vmPath) ? vmPath : hostOf(resolveVm(vmPath, follow !== 0))
      if (!host) return 0
      try {
        return (follow !== 0 ? statSync(host) : lstatSync(host)).mode
      } catch {
        return 0
      }
    }) as never,
  }

  return {
    wasi,
    fs,
    process: process_,
    hostFd(fd) {
      const desc = table.get(untagged(fd))
      if (desc === CLOSED) return undefined
      if (!desc) return untagged(fd) <= 2 ? stdio[untagged(fd)] : undefined
      if (desc.kind === 'native') return desc.fd <= 2 ? stdio[desc.fd] : undefined
      if (desc.kind === 'host') return desc.fd
      return undefined
    },
  }
}
