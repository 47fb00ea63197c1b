/**
 * The commands a guest spawns through `host_process`: posix_spawn with its file actions, exec,
 * waitpid and kill. How each child then runs is child-runner.ts's.
 */
import {closeSync, constants as fsc, existsSync, lstatSync, openSync, readSync} from 'node:fs'
import {posix} from 'node:path'
import {ERRNO, type GuestMemory, type Preopen} from './abi.js'
import {type Child, ChildRunner} from './child-runner.js'
import {type Description, type FdTable, type Pipe, untagged} from './fd-table.js'
import type {GuestIo} from './guest-io.js'
import {DEVICES, type VmPaths} from './vm-paths.js'

const ERRNO_MORE = {acces: 2, noexec: 45} as const
const ERRNO_ROFS = 69
const SPAWN_ACTION = {close: 1, dup2: 2, open: 3} as const
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

/** What the children of one guest process share with the rest of its host layer. */
export interface ChildrenContext {
  table: FdTable
  paths: VmPaths
  io: GuestIo
  memory: GuestMemory
  /** Host descriptors behind the guest's 0, 1, 2. */
  stdio: [number, number, number]
  /** The command line that starts the WASI runner; without it spawning fails with ENOSYS. */
  runner?: string[]
  preopens: Preopen[]
  /** The guest's own pid. */
  pid: number
  /** Takes up to `max` bytes from a pipe (pipes.ts). */
  readPipe(pipe: Pipe, max: number): Buffer
  /** node:wasi's `proc_exit`. */
  exit(code: number): void
}

/** The children of one guest process: spawn, exec, waitpid, kill. */
export class Children {
  private readonly children = new Map<number, Child>()
  private nextPid: number
  private readonly run: ChildRunner

  constructor(private readonly ctx: ChildrenContext) {
    this.nextPid = ctx.pid + 1
    this.run = new ChildRunner(ctx)
  }

  private resolveExec(path: string, env: Record<string, string>): string | undefined {
    const {paths} = this.ctx
    const candidates = path.includes('/')
      ? [path]
      : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').map((dir) => posix.join(dir || '.', path))
    for (const candidate of candidates) {
      const host = paths.hostOf(
        paths.resolveVm(candidate.startsWith('/') ? candidate : posix.join(env.PWD ?? '/', candidate)),
      )
      if (host && existsSync(host) && lstatSync(host).isFile()) return host
    }
    return undefined
  }

  private splitList(ptr: number, len: number): string[] {
    if (len === 0) return []
    const text = this.ctx.memory.text(ptr, len)
    const items = text.split('\0')
    if (items.at(-1) === '') items.pop()
    return items
  }

  private openHost(vmPath: string, oflag: number, mode: number): Description | number {
    // The VM has no /dev of its own; the two harmless devices are the host's.
    const {paths} = this.ctx
    const resolved = DEVICES.has(vmPath) ? vmPath : paths.resolveVm(vmPath)
    const host = DEVICES.has(vmPath) ? vmPath : paths.hostOf(resolved)
    if (!host || resolved === undefined) return ERRNO.noent
    // A redirection into a read-only mount (a package) is refused, as node:wasi's rights would.
    if (oflag & 3 && paths.preopenOf(resolved)?.readOnly) return ERRNO_ROFS
    // posix_spawn's open flags (musl/wasi-libc values): O_WRONLY 1, O_RDWR 2, O_CREAT 0o100, O_TRUNC 0o1000, O_APPEND 0o2000.
    let flags = oflag & 2 ? fsc.O_RDWR : oflag & 1 ? fsc.O_WRONLY : fsc.O_RDONLY
    if (oflag & 0o100) flags |= fsc.O_CREAT
    if (oflag & 0o1000) flags |= fsc.O_TRUNC
    if (oflag & 0o2000) flags |= fsc.O_APPEND
    // The path is resolved (no link left in it): a link swapped in since is not followed.
    if (!DEVICES.has(vmPath)) flags |= fsc.O_NOFOLLOW
    try {
      return {kind: 'host', fd: openSync(host, flags, mode || 0o644), refs: 1}
    } catch {
      return ERRNO.noent
    }
  }

  /** The child's descriptors: the parent's 0, 1, 2, then the file actions in order; or an errno. */
  private childFds(
    actionsPtr: number,
    actionsLen: number,
    cwd: string | undefined,
  ): Map<number, Description> | number {
    const {table, memory} = this.ctx
    const fds = new Map<number, Description>()
    for (const fd of [0, 1, 2]) {
      const desc = table.describe(fd)
      if (desc) fds.set(fd, table.retain(desc))
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
        if (previous) table.release(previous)
        fds.delete(fd)
      } else if (command === SPAWN_ACTION.dup2) {
        const desc = table.describe(untagged(source))
        if (!desc) return ERRNO.badf
        table.retain(desc)
        if (previous) table.release(previous)
        fds.set(fd, desc)
      } else if (command === SPAWN_ACTION.open) {
        const opened = this.openHost(posix.resolve(cwd ?? '/', actionPath), oflag, mode)
        if (typeof opened === 'number') return opened
        if (previous) table.release(previous)
        fds.set(fd, opened)
      }
    }
    return fds
  }

  /** `proc_spawn_v3`'s arguments that matter here (posix_spawn with file actions and a cwd): errno. */
  spawn(
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
  ): number {
    const {memory, table} = this.ctx
    if (!this.ctx.runner) return ERRNO.nosys
    const argv = this.splitList(argvPtr, argvLen)
    const env: Record<string, string> = {}
    for (const pair of this.splitList(envPtr, envLen)) {
      const eq = pair.indexOf('=')
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
    const cwd = cwdLen > 0 ? memory.text(cwdPtr, cwdLen) : undefined
    if (cwd) env.PWD = cwd
    const path = memory.text(pathPtr, pathLen)
    const found = this.resolveExec(path, env)
    if (!found) return ERRNO.noent
    const module = wasmModuleOf(found)
    if (typeof module === 'number') return module
    const fds = this.childFds(actionsPtr, actionsLen, cwd)
    if (typeof fds === 'number') return fds
    for (const [fd, desc] of fds) if (fd > 2) table.release(desc)
    const pid = this.nextPid++
    const child: Child = {
      pid,
      module,
      argv,
      env,
      stdio: [fds.get(0), fds.get(1), fds.get(2)],
      reaped: false,
      running: false,
    }
    this.children.set(pid, child)
    this.run.startAsync(child)
    memory.u32(retPid, pid)
    return ERRNO.success
  }

  /** Runs the not-yet-run children that write into a pipe, so its contents are complete. */
  runProducers(pipe: Pipe): void {
    for (const child of this.children.values()) {
      if (child.status || child.running) continue
      if (child.stdio.some((d) => d?.kind === 'pipe-write' && d.pipe === pipe)) this.run.runOnDemand(child)
    }
  }

  /** Runs the on-demand children nobody waited for (before the guest exits). */
  finishUnwaited(): void {
    for (const child of [...this.children.values()])
      if (!child.slots && !this.run.ended(child)) this.run.finish(child)
  }

  /** `proc_exec`: errno, when the command could not start. */
  exec(
    pathPtr: number,
    pathLen: number,
    argvPtr: number,
    argvLen: number,
    envPtr: number,
    envLen: number,
  ): number {
    // No image replacement here: the command runs as a child with this process's descriptors,
    // and this process exits with its status.
    const {memory} = this.ctx
    let pid = 0
    const errno = this.ctx.io.scratch(4, () => {
      const result = this.spawn(pathPtr, pathLen, argvPtr, argvLen, envPtr, envLen, 0, 0, 0, 0, 0)
      pid = memory.view().getUint32(0, true)
      return result
    })
    if (errno !== ERRNO.success) return errno
    const child = this.children.get(pid)!
    this.run.finish(child)
    this.children.delete(pid)
    this.ctx.exit(child.status!.code)
    return ERRNO.success
  }

  /** The child `waitpid` reports on (`pid`, or any for -1), undefined when WNOHANG finds none ended, or ECHILD. */
  private waitFor(pid: number, options: number): Child | undefined | typeof ERRNO.child {
    const WNOHANG = 1
    const wanted = pid | 0
    let child: Child | undefined
    if (wanted > 0) {
      child = this.children.get(wanted)
      if (!child) return ERRNO.child
      // A child that runs on demand has no "still running": it runs now, WNOHANG or not.
      if (!this.run.ended(child) && ((options & WNOHANG) === 0 || !child.slots)) this.run.finish(child)
      return child
    }
    if (this.children.size === 0) return ERRNO.child
    for (;;) {
      const waiting = [...this.children.values()]
      child = waiting.find((c) => this.run.ended(c))
      if (child) break
      // On demand children run now; started ones are waited for.
      child = waiting.find((c) => !c.slots)
      if (child) {
        this.run.finish(child)
        break
      }
      if (options & WNOHANG) break
      Atomics.wait(waiting[0]!.slots!, 0, 1, 50)
    }
    return child
  }

  /** `proc_waitpid_v2`: errno. */
  waitpid(
    pid: number,
    options: number,
    retCode: number,
    retSignal: number,
    retPid: number,
    retCore: number,
  ): number {
    const {memory} = this.ctx
    const child = this.waitFor(pid, options)
    if (child === ERRNO.child) return ERRNO.child
    if (!child || !this.run.ended(child)) {
      // WNOHANG and nothing has ended yet.
      if (retPid) memory.u32(retPid, 0)
      return ERRNO.success
    }
    child.reaped = true
    this.children.delete(child.pid)
    if (retCode) memory.u32(retCode, child.status!.code)
    if (retSignal) memory.u32(retSignal, child.status!.signal)
    if (retPid) memory.u32(retPid, child.pid)
    if (retCore) memory.u32(retCore, 0)
    return ERRNO.success
  }

  /** `proc_kill`: errno. */
  kill(pid: number, signal: number): number {
    const child = this.children.get(pid | 0)
    if (!child) return pid === this.ctx.pid ? ERRNO.success : ERRNO.srch
    if (signal === 0 || this.run.ended(child)) return ERRNO.success
    this.run.kill(child, signal)
    return ERRNO.success
  }
}
