/**
 * The agentOS host layer for node:wasi: the `host_net`, `host_fs`, `host_user`, `host_tty` and
 * `host_process` imports the `@agentos-software/*` commands link against, on top of the WASI
 * preview1 functions node:wasi provides.
 *
 * What the agentOS libc expects, and what this layer answers:
 * - Preopens are looked up at `0x40000000 | n` (a tag on "hidden" descriptors); node:wasi numbers
 *   them 3, 4, …, so fd arguments of `fd_*`/`path_*` calls lose bit 30 before node sees them.
 * - stdio goes through `host_net.net_recv`/`net_send` first: ENOTSOCK sends it back to
 *   `fd_read`/`fd_write`.
 * - `host_fs.*_mode` returns an st_mode (0: "no information", use the WASI filetype) and
 *   `host_fs.*_size` an i64 size (-1: "no override").
 * - `host_user` answers for the VM user (agentos, uid and gid 1000) and `isatty` for real.
 * - Anything else is ENOSYS, typed after the import's declared result.
 */
import {writeSync} from 'node:fs'
import {isatty} from 'node:tty'
import {ERRNO, FD_TAG, type GuestMemory, type Preopen} from './abi.js'
import {createProcessHost, type ProcessHost} from './process.js'
import {functionImports, type FunctionImport} from './signatures.js'

/** The guest user of an agentOS VM (`agentos`, as the runtime's user manager configures it). */
export const VM_USER = {
  name: 'agentos',
  uid: 1000,
  gid: 1000,
  home: '/home/agentos',
  shell: '/bin/sh',
} as const

const PASSWD = new Map<number, string>([
  [0, 'root:x:0:0:root:/root:/bin/sh'],
  [VM_USER.uid, `${VM_USER.name}:x:${VM_USER.uid}:${VM_USER.gid}::${VM_USER.home}:${VM_USER.shell}`],
])
const GROUPS = new Map<number, string>([
  [0, 'root:x:0:'],
  [VM_USER.gid, `${VM_USER.name}:x:${VM_USER.gid}:`],
])

/** WASI functions with descriptor arguments at other positions than 0. */
const FD_ARGUMENTS: Record<string, number[]> = {path_rename: [0, 3], path_link: [0, 4], path_symlink: [2]}

type HostFunction = (...args: never[]) => unknown
type ImportModule = Record<string, HostFunction>

/** Options of {@link createHostLayer}. */
export interface HostLayerOptions {
  /** Host descriptors behind the guest's 0, 1 and 2. */
  stdio: [number, number, number]
  /** The guest's virtual pid (default 1). */
  pid?: number
  /** Its parent's (default 0). */
  ppid?: number
  /**
   * The guest's preopens in node:wasi's order (fd 3, 4, …): with them the layer spawns commands,
   * keeps pipes and dups, and follows links from one preopen into another.
   */
  preopens?: Preopen[]
  /** How a spawned command starts (see {@link ProcessHostOptions.runner}). */
  runner?: string[]
}

/** The import object and the hook that gives it the instance's memory. */
export interface HostLayer {
  imports: Record<string, ImportModule>
  memory: GuestMemory
  bind(instance: {exports: Record<string, unknown>}): void
}

/** The value ENOSYS takes for a function of this signature. */
function enosys(signature: FunctionImport): () => unknown {
  const result = signature.results[0]
  if (result === undefined) return () => undefined
  if (result === 'i64') return () => -BigInt(ERRNO.nosys)
  return () => ERRNO.nosys
}

/** Clears the hidden-preopen tag; a plain descriptor is returned as is. */
export function untag(fd: number): number {
  return fd & FD_TAG ? fd & ~FD_TAG : fd
}

/**
 * Wraps node:wasi's preview1 functions so that tagged descriptors reach node untagged. Functions
 * without descriptors (args, environ, clocks, random, poll) are passed through unchanged.
 */
export function untagWasi(wasiImport: Record<string, HostFunction>): ImportModule {
  const wrapped: ImportModule = {}
  for (const [name, fn] of Object.entries(wasiImport)) {
    if (!name.startsWith('fd_') && !name.startsWith('path_')) {
      wrapped[name] = fn
      continue
    }
    const positions = FD_ARGUMENTS[name] ?? [0]
    const call = fn as (...args: number[]) => unknown
    wrapped[name] = ((...args: number[]) => {
      for (const i of positions) if (args[i]! & FD_TAG) args[i] = args[i]! & ~FD_TAG
      return call(...args)
    }) as HostFunction
  }
  return wrapped
}

/** The guest memory of an instance not bound yet, and the hook that binds it. */
function unboundMemory(): {memory: GuestMemory; bind: HostLayer['bind']} {
  let memoryObject: {buffer: ArrayBuffer} | undefined
  const buffer = () => {
    if (!memoryObject) throw new Error('host layer used before the instance was bound')
    return memoryObject.buffer
  }
  const memory: GuestMemory = {
    view: () => new DataView(buffer()),
    bytes: () => new Uint8Array(buffer()),
    text: (ptr, len) => Buffer.from(buffer(), ptr, len).toString('utf8'),
    u32: (ptr, value) => new DataView(buffer()).setUint32(ptr, value >>> 0, true),
  }
  return {
    memory,
    bind(instance) {
      memoryObject = instance.exports.memory as {buffer: ArrayBuffer} | undefined
    },
  }
}

/** The process state the guest changes through `host_process`. */
interface ProcessState {
  umask: number
  signalMask: bigint
}

/** A host function that writes `value` as a u32 at its pointer argument. */
const scalar = (memory: GuestMemory, value: number) => (ret: number) => {
  memory.u32(ret, value)
  return ERRNO.success
}

/** `host_user`: the VM user and its group, from {@link PASSWD} and {@link GROUPS}. */
function userFunctions(memory: GuestMemory, terminal: (fd: number) => boolean): ImportModule {
  const writeEntry = (table: Map<number, string>, id: number, buf: number, len: number, retLen: number) => {
    const entry = table.get(id)
    if (entry === undefined) return ERRNO.noent
    const encoded = Buffer.from(entry, 'utf8')
    if (encoded.length > len) {
      memory.u32(retLen, encoded.length)
      return ERRNO.range
    }
    memory.bytes().set(encoded, buf)
    memory.u32(retLen, encoded.length)
    return ERRNO.success
  }
  const byName = (table: Map<number, string>, name: string) =>
    [...table].find(([, entry]) => entry.slice(0, entry.indexOf(':')) === name)?.[0]
  return {
    isatty: ((fd: number, ret: number) => {
      memory.u32(ret, terminal(fd) ? 1 : 0)
      return ERRNO.success
    }) as HostFunction,
    getuid: scalar(memory, VM_USER.uid) as HostFunction,
    geteuid: scalar(memory, VM_USER.uid) as HostFunction,
    getgid: scalar(memory, VM_USER.gid) as HostFunction,
    getegid: scalar(memory, VM_USER.gid) as HostFunction,
    getresuid: ((a: number, b: number, c: number) => {
      for (const ptr of [a, b, c]) memory.u32(ptr, VM_USER.uid)
      return ERRNO.success
    }) as HostFunction,
    getresgid: ((a: number, b: number, c: number) => {
      for (const ptr of [a, b, c]) memory.u32(ptr, VM_USER.gid)
      return ERRNO.success
    }) as HostFunction,
    getgroups: ((size: number, ptr: number, retCount: number) => {
      if (size >= 1) memory.u32(ptr, VM_USER.gid)
      memory.u32(retCount, 1)
      return ERRNO.success
    }) as HostFunction,
    getpwuid: ((uid: number, buf: number, len: number, ret: number) =>
      writeEntry(PASSWD, uid, buf, len, ret)) as HostFunction,
    getgrgid: ((gid: number, buf: number, len: number, ret: number) =>
      writeEntry(GROUPS, gid, buf, len, ret)) as HostFunction,
    getpwnam: ((ptr: number, n: number, buf: number, len: number, ret: number) => {
      const id = byName(PASSWD, memory.text(ptr, n))
      return id === undefined ? ERRNO.noent : writeEntry(PASSWD, id, buf, len, ret)
    }) as HostFunction,
    getgrnam: ((ptr: number, n: number, buf: number, len: number, ret: number) => {
      const id = byName(GROUPS, memory.text(ptr, n))
      return id === undefined ? ERRNO.noent : writeEntry(GROUPS, id, buf, len, ret)
    }) as HostFunction,
    getpwent: ((index: number, buf: number, len: number, ret: number) => {
      const id = [...PASSWD.keys()][index]
      return id === undefined ? ERRNO.noent : writeEntry(PASSWD, id, buf, len, ret)
    }) as HostFunction,
    getgrent: ((index: number, buf: number, len: number, ret: number) => {
      const id = [...GROUPS.keys()][index]
      return id === undefined ? ERRNO.noent : writeEntry(GROUPS, id, buf, len, ret)
    }) as HostFunction,
  }
}

/** `host_process` without children: ids, sleep, umask, the signal mask, descriptor flags. */
function processFunctions(memory: GuestMemory, state: ProcessState, pid: number, ppid: number): ImportModule {
  return {
    proc_getpid: scalar(memory, pid) as HostFunction,
    proc_getppid: scalar(memory, ppid) as HostFunction,
    sleep_ms: ((ms: number) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms >>> 0)
      return ERRNO.success
    }) as HostFunction,
    proc_umask: ((mask: number, ret: number) => {
      memory.u32(ret, state.umask)
      state.umask = mask & 0o777
      return ERRNO.success
    }) as HostFunction,
    proc_signal_mask_v2: ((how: number, lo: number, hi: number, retLo: number, retHi: number) => {
      const old = state.signalMask
      const set = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)
      if (how === 0) state.signalMask |= set
      else if (how === 1) state.signalMask &= ~set
      else if (how === 2) state.signalMask = set
      else if (how !== 3) return ERRNO.inval
      if (retLo) memory.u32(retLo, Number(old & 0xffffffffn))
      if (retHi) memory.u32(retHi, Number(old >> 32n))
      return ERRNO.success
    }) as HostFunction,
    fd_setfd: (() => ERRNO.success) as HostFunction,
    fd_getfd: ((_fd: number, ret: number) => {
      memory.u32(ret, 0)
      return ERRNO.success
    }) as HostFunction,
  }
}

/**
 * Builds the import object of a module that imports agentOS host modules: every function import
 * of the module gets a host function of its declared type, WASI included (untagged).
 */
export function createHostLayer(
  bytes: Uint8Array,
  wasiImport: Record<string, HostFunction>,
  options: HostLayerOptions,
): HostLayer {
  const {memory, bind} = unboundMemory()
  const stdio = options.stdio
  const pid = options.pid ?? 1
  const ppid = options.ppid ?? 0
  const state: ProcessState = {umask: 0o022, signalMask: 0n}
  const processHost: ProcessHost | undefined = options.preopens
    ? createProcessHost({
        preopens: options.preopens,
        runner: options.runner,
        stdio,
        raw: wasiImport,
        memory,
        pid,
      })
    : undefined
  const wasi = untagWasi(processHost?.wasi ?? wasiImport)
  const terminal = (fd: number) => {
    const hostFd = processHost ? processHost.hostFd(fd) : untag(fd) <= 2 ? stdio[untag(fd)] : undefined
    return hostFd !== undefined && isatty(hostFd)
  }

  const host: Record<string, ImportModule> = {
    host_net: {},
    host_fs: {
      ftruncate: ((fd: number, size: bigint) => {
        const truncate = wasi.fd_filestat_set_size as ((fd: number, size: bigint) => number) | undefined
        return truncate ? truncate(fd, size) : ERRNO.nosys
      }) as HostFunction,
    },
    host_user: userFunctions(memory, terminal),
    host_tty: {
      isatty: ((fd: number) => (terminal(fd) ? 1 : 0)) as HostFunction,
    },
    host_process: processFunctions(memory, state, pid, ppid),
  }
  if (processHost) {
    Object.assign(host.host_process!, processHost.process)
    Object.assign(host.host_fs!, processHost.fs)
  }

  const imports = importObject(bytes, host, wasi, memory, state)
  if (process.env.AGENTOS_WASI_TRACE) trace(imports)
  return {imports, memory, bind}
}

/** Every function import of the module, answered by `host`, WASI, or a typed default. */
function importObject(
  bytes: Uint8Array,
  host: Record<string, ImportModule>,
  wasi: ImportModule,
  memory: GuestMemory,
  state: ProcessState,
): Record<string, ImportModule> {
  const imports: Record<string, ImportModule> = {}
  for (const signature of functionImports(bytes)) {
    const {module, name} = signature
    const group = (imports[module] ??= {})
    if (module === 'wasi_snapshot_preview1' || module === 'wasi_unstable') {
      group[name] = wasi[name] ?? enosys(signature)
    } else if (module === 'host_net') {
      group[name] = signature.results[0] === 'i64' ? () => -BigInt(ERRNO.notsock) : () => ERRNO.notsock
    } else if (module === 'host_fs' && host.host_fs![name] === undefined && name.endsWith('mode')) {
      group[name] = signature.results[0] === 'i64' ? () => 0n : () => 0
    } else if (module === 'host_fs' && host.host_fs![name] === undefined && name.endsWith('size')) {
      group[name] = signature.results[0] === 'i64' ? () => -1n : () => -1
    } else if (module === 'host_process' && name === 'umask') {
      group[name] = umaskCompat(
        signature,
        memory,
        () => state.umask,
        (mask) => (state.umask = mask),
      )
    } else {
      group[name] = host[module]?.[name] ?? enosys(signature)
    }
  }
  return imports
}

/**
 * The older `host_process.umask(i32, i32, i32)`: (new mask, "set" flag, pointer for the old
 * mask). Query-only calls pass a zero flag.
 */
function umaskCompat(
  signature: FunctionImport,
  memory: GuestMemory,
  get: () => number,
  set: (mask: number) => void,
): HostFunction {
  if (signature.params.length !== 3) return enosys(signature)
  return ((mask: number, change: number, ret: number) => {
    const old = get()
    if (ret) memory.u32(ret, old)
    if (change) set(mask & 0o777)
    return ERRNO.success
  }) as HostFunction
}

/** AGENTOS_WASI_TRACE=1: every host and WASI call with its arguments and result, on stderr. */
function trace(imports: Record<string, ImportModule>): void {
  for (const [module, group] of Object.entries(imports)) {
    for (const [name, fn] of Object.entries(group)) {
      const call = fn as (...args: unknown[]) => unknown
      group[name] = ((...args: unknown[]) => {
        const result = call(...args)
        writeSync(2, `[wasi ${process.pid}] ${module}.${name}(${args.join(', ')}) = ${String(result)}\n`)
        return result
      }) as HostFunction
    }
  }
}
