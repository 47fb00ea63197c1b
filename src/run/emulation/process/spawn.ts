import {type ChildProcess, spawn} from 'node:child_process'
import {readdir, readFile} from 'node:fs/promises'
import {constants} from 'node:os'
import type {Readable, Writable} from 'node:stream'
import {isatty} from 'node:tty'
import {processStart} from '../../../util/owner.js'
import {RUN_EXIT, runError} from '../../errors.js'
import {spawnWatched} from './watchdog.js'

/** How the guest's standard streams are wired. */
export type GuestStdio =
  /** The guest shares the CLI's terminal (the default: interactive programs work). */
  | 'inherit'
  /** stdin passes through; stdout and stderr are captured (for `--json`). */
  | 'capture'
  /** All three are pipes the caller drives (the ACP client). */
  | 'pipe'

/** Options of {@link startGuest}. */
export interface SpawnOptions {
  file: string
  args: string[]
  env: Record<string, string>
  cwd?: string
  stdio: GuestStdio
  /** bwrap writes the guest's host pid to fd 3 (`--info-fd 3`), so signals reach the guest itself. */
  infoFd?: boolean
  /** Keep this many bytes of stderr for error reports (default 8 KiB). */
  tailBytes?: number
  /** Mirror stderr to this stream while keeping the tail (stdio `pipe` only). */
  stderrMirror?: Writable
  /** Aborting stops the guest as {@link GuestProcess.terminate} does. */
  signal?: AbortSignal
  /** Grace between SIGTERM and SIGKILL when aborted (default 5 s). */
  killAfterMs?: number
}

/** How a guest ended. */
export interface GuestExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A running guest process. */
export interface GuestProcess {
  child: ChildProcess
  stdin?: Writable
  stdout?: Readable
  /** Resolves once, when the process has exited and its streams are closed. */
  exited: Promise<GuestExit>
  /** True after {@link exited} resolved. */
  readonly done: boolean
  /** The last bytes the guest wrote to stderr. */
  stderrTail(): string
  /** Everything written to stdout / stderr, for stdio `capture`. */
  captured(): {stdout: string; stderr: string}
  /** Sends a signal to the guest (inside the namespace, not to bwrap). */
  signal(signal: NodeJS.Signals): Promise<void>
  /**
   * Stops the guest: SIGTERM, then SIGKILL to the whole tree after `graceMs`. Resolves with the
   * step that ended it.
   */
  terminate(graceMs: number): Promise<'exited' | 'SIGTERM' | 'SIGKILL'>
}

/**
 * bwrap's child-pid is the pid namespace's init (bwrap's reaper), which does not pass signals on;
 * the guest is its child. Found through /proc, waiting briefly while bwrap execs it.
 */
async function guestOf(init: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const children = await readFile(`/proc/${init}/task/${init}/children`, 'utf8').catch(() => undefined)
    if (children === undefined) return init
    const first = children.trim().split(/\s+/)[0]
    if (first) return Number(first)
    await delay(10).promise
  }
  return init
}

/** What `--json` keeps of each captured stream; the rest is dropped and counted. */
export const CAPTURE_LIMIT = 16 << 20

/**
 * A captured stream, kept up to {@link CAPTURE_LIMIT} bytes: a guest flooding its stdout would
 * otherwise grow the capture until the string cannot be built (`Invalid string length`). What is
 * dropped is said at the end of the text, with its size.
 */
function cappedCapture(name: string): {push(chunk: string): void; text(): string} {
  const kept: string[] = []
  let size = 0
  let dropped = 0
  return {
    push(chunk) {
      const bytes = Buffer.byteLength(chunk)
      if (size + bytes <= CAPTURE_LIMIT) {
        kept.push(chunk)
        size += bytes
      } else dropped += bytes
    },
    text() {
      const note = dropped
        ? `\n[agentos: ${dropped} bytes of ${name} dropped: the capture keeps the first ${CAPTURE_LIMIT} bytes]\n`
        : ''
      return kept.join('') + note
    },
  }
}

/** Shell convention for a process killed by a signal: 128 + its number. */
export function exitCodeOf(exit: GuestExit): number {
  if (exit.code !== null) return exit.code
  const number = exit.signal ? constants.signals[exit.signal] : undefined
  return 128 + (number ?? 9)
}

/**
 * Starts a guest process. The one place `run` spawns children: every executor, the ACP agent and
 * ACP terminals come through here, so timeouts, signals and spawn failures behave the same.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_SPAWN_FAILED` when the program cannot be started.
 */
export async function startGuest(options: SpawnOptions): Promise<GuestProcess> {
  const child = await spawnChild(options)
  const tailBytes = options.tailBytes ?? 8192
  let tail = ''
  const out = cappedCapture('stdout')
  const err = cappedCapture('stderr')
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (options.stdio === 'capture') err.push(chunk)
    options.stderrMirror?.write(chunk)
    tail = (tail + chunk).slice(-tailBytes)
  })
  if (options.stdio === 'capture')
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => out.push(chunk))

  const guestPid = options.infoFd ? pidFromInfo(child.stdio[3] as Readable) : Promise.resolve(child.pid)

  let done = false
  const exited = new Promise<GuestExit>((resolve) => {
    child.once('close', (code, signal) => {
      done = true
      resolve({code, signal})
    })
  })

  const sendSignal = async (signal: NodeJS.Signals) => {
    if (done) return
    const pid = await Promise.race([guestPid, exited.then(() => undefined)])
    try {
      if (pid !== undefined) process.kill(pid, signal)
      else child.kill(signal)
    } catch {
      // Already gone.
    }
  }

  const guest: GuestProcess = {
    child,
    stdin: child.stdin ?? undefined,
    stdout: options.stdio === 'pipe' ? (child.stdout ?? undefined) : undefined,
    exited,
    get done() {
      return done
    },
    stderrTail: () => tail,
    captured: () => ({stdout: out.text(), stderr: err.text()}),
    signal: sendSignal,
    terminate: (graceMs) =>
      done ? Promise.resolve('exited') : terminate(child, exited, sendSignal, graceMs),
  }
  if (options.signal) {
    const abort = () => void guest.terminate(options.killAfterMs ?? 5000)
    if (options.signal.aborted) abort()
    else {
      options.signal.addEventListener('abort', abort, {once: true})
      void exited.then(() => options.signal!.removeEventListener('abort', abort))
    }
  }
  return guest
}

/** Spawns the child process, once it has started. */
async function spawnChild(options: SpawnOptions): Promise<ChildProcess> {
  const stdio: Array<'inherit' | 'pipe'> =
    options.stdio === 'inherit'
      ? ['inherit', 'inherit', 'inherit']
      : options.stdio === 'capture'
        ? ['inherit', 'pipe', 'pipe']
        : ['pipe', 'pipe', 'pipe']
  if (options.infoFd) stdio.push('pipe')
  // Path-mapped (no bwrap info fd): nothing kills the guest if the CLI is SIGKILLed, so it runs in
  // its own process group under the watchdog. Not when it shares the CLI's terminal: a new session
  // has no controlling terminal (/dev/tty, job control), so there only the guest itself is watched.
  const watched = !options.infoFd
  const group = watched && !(options.stdio === 'inherit' && isatty(0))
  const failed = (error: NodeJS.ErrnoException) =>
    runError('ERR_AGENTOS_RUN_SPAWN_FAILED', `cannot start ${options.file}: ${error.code ?? error.message}`, {
      hint: 'Check that the program exists and is executable on this machine.',
      exitCode: RUN_EXIT.cannotExecute,
      cause: error,
    })
  let child: ChildProcess
  try {
    child = watched
      ? spawnWatched(options.file, options.args, {env: options.env, cwd: options.cwd, stdio, group})
      : spawn(options.file, options.args, {env: options.env, cwd: options.cwd, stdio})
  } catch (error) {
    // The program's own access errors (checked before the gate); argument errors stay as they are.
    throw (error as NodeJS.ErrnoException).syscall ? failed(error as NodeJS.ErrnoException) : error
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (error: NodeJS.ErrnoException) => reject(failed(error)))
  })
  return child
}

/** The guest's host pid, from what bwrap writes to its info fd; undefined when it writes none. */
function pidFromInfo(info: Readable): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = ''
    info.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text)
      if (match) void guestOf(Number(match[1])).then(resolve)
    })
    // bwrap closes the fd right after writing: only a close without a pid means there is none.
    info.on('close', () => {
      if (!/"child-pid"/.test(text)) resolve(undefined)
    })
  })
}

/** {@link GuestProcess.terminate} of a guest still running. */
async function terminate(
  child: ChildProcess,
  exited: Promise<GuestExit>,
  sendSignal: (signal: NodeJS.Signals) => Promise<void>,
  graceMs: number,
): Promise<'SIGTERM' | 'SIGKILL'> {
  // Path-mapped there is no pid namespace to take the guest's children along: one that ignores
  // SIGTERM would outlive the run and, holding the guest's stdout or stderr, keep the streams
  // (and so the run) open forever. So every descendant seen is killed with the guest, and
  // streams still held after that (a process that escaped the tree) are closed from this side.
  const tree: ProcessSet = child.pid === undefined ? new Map() : await descendantsOf(child.pid)
  await sendSignal('SIGTERM')
  const timer = delay(graceMs)
  const ended = await Promise.race([exited.then(() => true), timer.promise.then(() => false)])
  timer.cancel()
  if (ended) return 'SIGTERM'
  if (child.pid !== undefined)
    for (const [pid, started] of await descendantsOf(child.pid)) tree.set(pid, started)
  // bwrap is pid 1 of the guest's pid namespace: killing it takes every guest process along.
  child.kill('SIGKILL')
  await sendSignal('SIGKILL')
  killAll(tree)
  const reaped = delay(2000)
  if (!(await Promise.race([exited.then(() => true), reaped.promise.then(() => false)]))) {
    for (const stream of child.stdio) stream?.destroy()
  }
  reaped.cancel()
  await exited
  return 'SIGKILL'
}

/** Result of {@link runGuest}. */
export interface GuestRun {
  exit: GuestExit
  exitCode: number
  stdout?: string
  stderr?: string
  timedOut: boolean
}

/**
 * Runs a guest to completion. With `timeoutMs`, a guest still running then gets SIGTERM, SIGKILL
 * after `killAfterMs`, and the run reports exit code 124.
 */
export async function runGuest(options: SpawnOptions & {timeoutMs?: number}): Promise<GuestRun> {
  const guest = await startGuest(options)
  // While the guest runs, a signal to the CLI is passed on to the guest instead of killing the
  // CLI, so the run still ends through its cleanup (the per-run root is removed).
  const forward = (signal: NodeJS.Signals) => void guest.signal(signal)
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  for (const signal of forwarded) process.on(signal, forward)
  let timedOut = false
  const timer = options.timeoutMs ? delay(options.timeoutMs) : undefined
  void timer?.promise.then(async () => {
    timedOut = true
    await guest.terminate(options.killAfterMs ?? 5000)
  })
  const exit = await guest.exited
  for (const signal of forwarded) process.off(signal, forward)
  timer?.cancel()
  const captured = options.stdio === 'capture' ? guest.captured() : {}
  return {exit, exitCode: timedOut ? RUN_EXIT.timeout : exitCodeOf(exit), timedOut, ...captured}
}

/** A cancellable timer whose promise resolves after `ms` (never rejects). */
export function delay(ms: number): {promise: Promise<void>; cancel(): void} {
  let timer: NodeJS.Timeout | undefined
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return {promise, cancel: () => clearTimeout(timer)}
}

/**
 * Processes by host pid, each with the start time /proc gave when it was seen: pids are reused
 * (32,768 of them by default), so a pid seen earlier names the same process only while its start
 * time is unchanged.
 */
export type ProcessSet = Map<number, string | undefined>

/** Every process below `pid`, from /proc (children of each of its threads). */
export async function descendantsOf(pid: number): Promise<ProcessSet> {
  const found: ProcessSet = new Map()
  const visit = async (parent: number): Promise<void> => {
    for (const task of await readdir(`/proc/${parent}/task`).catch(() => [] as string[])) {
      const children = await readFile(`/proc/${parent}/task/${task}/children`, 'utf8').catch(() => '')
      for (const child of children.split(/\s+/).filter(Boolean).map(Number)) {
        if (found.has(child)) continue
        found.set(child, processStart(child))
        await visit(child)
      }
    }
  }
  await visit(pid)
  return found
}

/**
 * SIGKILL to each process of `processes` that is still the one seen: a pid whose process has
 * exited since (its start time changed or is gone) is left alone, as it may name another
 * process by now (seen up to the kill grace earlier: seconds, on a machine spawning hundreds).
 */
export function killAll(processes: ProcessSet): void {
  for (const [pid, started] of processes) {
    if (started === undefined || processStart(pid) !== started) continue
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Exited since the check.
    }
  }
}
