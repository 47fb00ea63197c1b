/**
 * Processes for the agentOS host layer: a descriptor table over node:wasi's (dup, dup2, pipes) and
 * `host_process` spawning.
 *
 * WASM calls are synchronous, and node:wasi's own descriptor table is out of reach, so:
 * - Pipes live in this process as byte buffers. A descriptor the guest dups or pipes gets an entry
 *   in a table that sits in front of node:wasi; everything else passes through untouched.
 * - A spawned command is a child Node.js process running wasi/main.js, started with `spawnSync`
 *   when its result is needed: when the guest waits for it, reads a pipe it writes, or starts a
 *   child that reads such a pipe. A pipeline `a | b | c` therefore runs a, b, c in turn, each
 *   reading the whole output of the previous one. Commands that never end (`yes | head`) are
 *   beyond this model.
 *
 * The parts: fd-table.ts (descriptors and dups), vm-paths.ts (preopens and links), guest-io.ts
 * (transfers through guest memory), pipes.ts, children.ts (spawn, exec, waitpid, kill) and
 * wrapped-wasi.ts (node:wasi's functions behind the table); this module puts them together.
 */
import {fstatSync, lstatSync, statSync} from 'node:fs'
import {posix} from 'node:path'
import {ERRNO, type GuestMemory, type Preopen} from './abi.js'
import {Children} from './children.js'
import {FdTable, untagged} from './fd-table.js'
import {GuestIo, type Raw, rawCaller} from './guest-io.js'
import {Pipes} from './pipes.js'
import {DEVICES, VmPaths} from './vm-paths.js'
import {wrapWasi} from './wrapped-wasi.js'

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

/** The descriptor table, pipes and children of one guest process, as host functions. */
export function createProcessHost(options: ProcessHostOptions): ProcessHost {
  const {raw, memory, preopens, stdio} = options
  const call = rawCaller(raw)
  const table = new FdTable((fd) => call('fd_close', fd))
  const paths = new VmPaths(preopens)
  const io = new GuestIo(memory, call)
  const pipes = new Pipes(memory, io, (pipe) => children.runProducers(pipe))
  const children = new Children({
    table,
    paths,
    io,
    memory,
    stdio,
    runner: options.runner,
    preopens,
    pid: options.pid,
    readPipe: (pipe, max) => pipes.read(pipe, max),
    exit: (code) => (raw.proc_exit as (code: number) => void)(code),
  })
  const wasi = wrapWasi({raw, memory, table, paths, io, pipes, beforeExit: () => children.finishUnwaited()})
  return {
    wasi,
    fs: fsFunctions(table, paths, memory),
    process: processFunctions(table, children, memory),
    hostFd: (fd) => table.hostFd(fd, stdio),
  }
}

/** The `host_process` functions of descriptors and children. */
function processFunctions(table: FdTable, children: Children, memory: GuestMemory): Raw {
  const returned = (ret: number, fd: number | undefined) => {
    if (fd === undefined) return ERRNO.badf
    memory.u32(ret, fd)
    return ERRNO.success
  }
  return {
    fd_dup: ((fd: number, ret: number) => returned(ret, table.dup(fd))) as never,
    fd_dup_min: ((fd: number, min: number, ret: number) => returned(ret, table.dupMin(fd, min))) as never,
    fd_dup2: ((oldFd: number, newFd: number) => table.dup2(oldFd, newFd)) as never,
    fd_pipe: ((retRead: number, retWrite: number) => {
      const [r, w] = table.pipe()
      memory.u32(retRead, r)
      memory.u32(retWrite, w)
      return ERRNO.success
    }) as never,
    proc_spawn_v3: ((...args: number[]) =>
      children.spawn(
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
    ) => children.exec(pathPtr, pathLen, argvPtr, argvLen, envPtr, envLen)) as never,
    proc_waitpid_v2: ((
      pid: number,
      options: number,
      retCode: number,
      retSignal: number,
      retPid: number,
      retCore: number,
    ) => children.waitpid(pid, options, retCode, retSignal, retPid, retCore)) as never,
    proc_kill: ((pid: number, signal: number) => children.kill(pid, signal)) as never,
  }
}

/** The `host_fs` functions that need the table or the VM's paths. */
function fsFunctions(table: FdTable, paths: VmPaths, memory: GuestMemory): Raw {
  return {
    // fd_mode(fd) -> st_mode: known for the host devices of the table only.
    fd_mode: ((fd: number) => {
      const desc = table.managed(untagged(fd))
      if (desc?.kind !== 'host') return 0
      try {
        return fstatSync(desc.fd).mode
      } catch {
        return 0
      }
    }) as never,
    // path_mode(dirfd, path, len, follow) -> st_mode, 0 for "no information".
    path_mode: ((fd: number, ptr: number, len: number, follow: number) => {
      const base = paths.guestPathOfPreopen(table.nativeOf(untagged(fd)) ?? -1)
      if (base === undefined) return 0
      const vmPath = posix.join(base, memory.text(ptr, len))
      const host = DEVICES.has(vmPath) ? vmPath : paths.hostOf(paths.resolveVm(vmPath, follow !== 0))
      if (!host) return 0
      try {
        return (follow !== 0 ? statSync(host) : lstatSync(host)).mode
      } catch {
        return 0
      }
    }) as never,
  }
}
