/**
 * How a spawned command runs: a child Node.js process running the WASI runner, started at once on
 * the spawner thread when its standard descriptors are all host descriptors, else with `spawnSync`
 * when its result is needed (see process.ts).
 */
import {spawnSync} from 'node:child_process'
import {constants} from 'node:os'
import {Worker} from 'node:worker_threads'
import type {Preopen} from './abi.js'
import type {Description, FdTable, Pipe} from './fd-table.js'
import type {GuestIo} from './guest-io.js'
import {SPAWNER_SOURCE} from './spawner.js'

/** A spawned command, run on demand. */
export interface Child {
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

const MAX_CAPTURE = 64 << 20
/** How long a spawn waits for the spawner thread to start the child. */
const SPAWNER_START_MS = 20_000

/** What running children needs of the guest's host layer. */
export interface RunnerContext {
  table: FdTable
  io: GuestIo
  /** Host descriptors behind the guest's 0, 1, 2. */
  stdio: [number, number, number]
  /** The command line that starts the WASI runner (set whenever there are children). */
  runner?: string[]
  preopens: Preopen[]
  /** Takes up to `max` bytes from a pipe (pipes.ts). */
  readPipe(pipe: Pipe, max: number): Buffer
}

/** Starts, runs and watches children; owns the spawner thread. */
export class ChildRunner {
  private spawner: Worker | null | undefined
  private readonly preopenArgs: string[]

  constructor(private readonly ctx: RunnerContext) {
    this.preopenArgs = ctx.preopens.flatMap((p) => [
      p.readOnly ? '--ro-preopen' : '--preopen',
      `${p.guest}=${p.host}`,
    ])
  }

  /** The `spawnSync` stdio of a child run on demand, and what it reads on a pipe. */
  private onDemandStdio(child: Child): {io: Array<'pipe' | 'ignore' | number>; input?: Buffer} {
    const {stdio} = this.ctx
    const [inDesc, outDesc, errDesc] = child.stdio
    let input: Buffer | undefined
    const io: Array<'pipe' | 'ignore' | number> = ['ignore', 'ignore', 'ignore']
    if (inDesc?.kind === 'native') {
      if (inDesc.fd <= 2) io[0] = stdio[inDesc.fd]!
      else {
        input = this.ctx.io.readNative(inDesc.fd)
        io[0] = 'pipe'
      }
    } else if (inDesc?.kind === 'pipe-read') {
      input = this.ctx.readPipe(inDesc.pipe, Number.MAX_SAFE_INTEGER)
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
    return {io, input}
  }

  /** Runs a child to its end with `spawnSync`. */
  runOnDemand(child: Child): void {
    child.running = true
    const [, outDesc, errDesc] = child.stdio
    const {io, input} = this.onDemandStdio(child)
    const runner = this.ctx.runner!
    const result = spawnSync(
      runner[0]!,
      [...runner.slice(1), ...this.preopenArgs, '--', child.module, ...child.argv],
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
      else if (desc.kind === 'native' && desc.fd > 2) this.ctx.io.writeNative(desc.fd, data)
    }
    const signal = result.signal ? (constants.signals[result.signal] ?? 9) : 0
    child.status = {code: result.status ?? (signal ? 128 + signal : 1), signal}
    if (result.error && result.status === null && !result.signal) {
      this.ctx.io.writeNative(2, Buffer.from(`${child.argv[0]}: ${result.error.message}\n`))
      child.status = {code: 126, signal: 0}
    }
    this.releaseStdio(child)
  }

  /** Releases the descriptors a child held until it started. */
  releaseStdio(child: Child): void {
    for (const desc of child.stdio) if (desc) this.ctx.table.release(desc)
    child.stdio = []
  }

  private spawnerThread(): Worker | null {
    if (this.spawner !== undefined) return this.spawner
    try {
      this.spawner = new Worker(SPAWNER_SOURCE, {eval: true})
      this.spawner.unref()
    } catch {
      this.spawner = null
    }
    return this.spawner
  }

  /** The host descriptors of a child's 0, 1, 2, when none of them is captured here. */
  private directStdio(child: Child): Array<number | 'ignore'> | undefined {
    const {stdio} = this.ctx
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
  startAsync(child: Child): void {
    const io = this.directStdio(child)
    if (!io) return
    const thread = this.spawnerThread()
    if (!thread) return
    const runner = this.ctx.runner!
    const slots = new Int32Array(new SharedArrayBuffer(12))
    thread.postMessage({
      type: 'spawn',
      id: child.pid,
      file: runner[0],
      args: [...runner.slice(1), ...this.preopenArgs, '--', child.module, ...child.argv],
      env: child.env,
      stdio: io,
      slots: slots.buffer,
    })
    // The descriptors must reach the child before this process may close them.
    const deadline = Date.now() + SPAWNER_START_MS
    while (Atomics.load(slots, 0) === 0 && Date.now() < deadline) Atomics.wait(slots, 0, 0, 100)
    if (Atomics.load(slots, 0) === 0) {
      // The spawner thread never answered: the child runs on demand instead.
      this.spawner = null
      return
    }
    child.slots = slots
    child.running = true
    this.releaseStdio(child)
  }

  /** Whether a child's status is known, collecting it from the spawner thread. */
  ended(child: Child): boolean {
    if (child.status) return true
    if (!child.slots || Atomics.load(child.slots, 0) !== 2) return false
    child.status = {code: Atomics.load(child.slots, 1), signal: Atomics.load(child.slots, 2)}
    return true
  }

  /** Blocks until a child's status is known. */
  finish(child: Child): void {
    if (this.ended(child)) return
    if (!child.slots) return this.runOnDemand(child)
    while (!this.ended(child)) Atomics.wait(child.slots, 0, 1, 1000)
  }

  /** Ends a child: a signal to a started one, the status `128 + signal` for one not yet run. */
  kill(child: Child, signal: number): void {
    if (child.slots) this.spawner?.postMessage({type: 'kill', id: child.pid, signal})
    else {
      child.status = {code: 128 + signal, signal}
      this.releaseStdio(child)
    }
  }
}
