import {type ChildProcess, spawn} from 'node:child_process'
import {cliCommand, ROOT} from './cli.js'

/** How a spawned CLI process ended. */
export interface Ended {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Milliseconds from spawn to exit. */
  ms: number
}

/** A CLI process that is running, and the promise of how it ends. */
export interface Running {
  child: ChildProcess
  ended: Promise<Ended>
}

/** Starts `agentos-toolchain <args>` as a real process (node bin/run.js, or AGENTOS_TOOLCHAIN_EXE). */
export function startCli(args: string[], options: {cwd?: string; uid?: number} = {}): Running {
  const {file, prefix} = cliCommand()
  const started = Date.now()
  const child = spawn(file, [...prefix, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : {uid: options.uid, gid: options.uid}),
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const ended = new Promise<Ended>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr, ms: Date.now() - started}))
  })
  return {child, ended}
}

/** Runs `tasks` with at most `limit` in flight, keeping their order in the results. */
export async function inPool<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length)
  let next = 0
  const lane = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]!()
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, tasks.length)}, lane))
  return results
}

/** The pid of a process that has certainly exited (for "left behind by a dead run" states). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], {stdio: 'ignore'})
  await new Promise((resolve) => child.on('close', resolve))
  return child.pid!
}
