import type {ChildProcess} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core'
import {runCommand} from '@oclif/test'
import {execa} from 'execa'

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')

/** Outcome of a CLI invocation, in-process or as a real process. */
export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
}

/** An in-process run, and whether the command handled its own ending. */
export interface CliRun extends CliResult {
  /** False when an error escaped the command's catch (in a process: it died of a signal). */
  handled: boolean
  /** The error that escaped, for the failure message. */
  escaped?: string
}

let config: Promise<Config> | undefined

/**
 * The one in-process runner: a command through oclif (`@oclif/test` runCommand) against the built
 * CLI, the oclif config loaded once per worker. It also says whether an error escaped the command:
 * in-process, oclif's top-level handler that would print that error's stack never runs, so "no
 * stack on stderr" alone would pass for an unhandled crash.
 */
export async function runInProcess(args: string[]): Promise<CliRun> {
  config ??= Config.load({root: ROOT})
  const {stdout, stderr, error} = await runCommand(args, await config)
  const oclif = (error as {oclif?: {exit?: number}} | undefined)?.oclif
  // Only oclif's ExitError (code EEXIT, from this.exit()) means the command ended the run itself.
  const handled =
    error === undefined || ((error as {code?: unknown}).code === 'EEXIT' && oclif?.exit !== undefined)
  return {
    stdout,
    stderr,
    exitCode: error ? (oclif?.exit ?? 1) : 0,
    handled,
    ...(handled ? {} : {escaped: String((error as Error).stack ?? error)}),
  }
}

/**
 * The executable the end-to-end tests drive: `node bin/run.js` by default, or the file named by
 * AGENTOS_TOOLCHAIN_EXE (the single binary), so one suite covers both.
 */
export function cliCommand(): {file: string; prefix: string[]} {
  const exe = process.env.AGENTOS_TOOLCHAIN_EXE
  return exe ? {file: exe, prefix: []} : {file: process.execPath, prefix: [join(ROOT, 'bin/run.js')]}
}

/** Options of a real process. */
export interface ProcessOptions {
  cwd?: string
  /** The whole environment (default: this process's); runProcess and startCli add to theirs. */
  env?: NodeJS.ProcessEnv
  /** Written to stdin, which is closed after it; without it stdin is /dev/null. */
  input?: string
  /** Run as this user and group (root only), e.g. to make permission checks apply. */
  uid?: number
  gid?: number
}

/** How a real process ended. */
export interface Ended extends CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  /** Milliseconds from spawn to exit. */
  ms: number
}

/** A real process that is running, and the promise of how it ends. */
export interface Running {
  child: ChildProcess
  ended: Promise<Ended>
}

/**
 * The one process runner: starts `file args` (execa, output collected in full, never rejected
 * for a non-zero exit or a signal: the tests look at both) and says how it ended. A program that
 * cannot be started rejects.
 */
export function startProcess(file: string, args: string[], options: ProcessOptions = {}): Running {
  const started = Date.now()
  const child = execa(file, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    extendEnv: false,
    ...(options.input === undefined ? {stdin: 'ignore' as const} : {input: options.input}),
    ...(options.uid === undefined ? {} : {uid: options.uid, gid: options.gid ?? options.uid}),
    reject: false,
    stripFinalNewline: false,
    // Some tests flood stdout on purpose; execa would stop the process at its default cap.
    maxBuffer: 2 ** 31,
  })
  const ended = child.then((result) => {
    if (result.exitCode === undefined && result.signal === undefined) throw result
    const signal = (result.signal ?? null) as NodeJS.Signals | null
    return {
      stdout: result.stdout,
      stderr: result.stderr,
      code: result.exitCode ?? null,
      signal,
      exitCode: result.exitCode ?? 128,
      handled: signal === null,
      ms: Date.now() - started,
    }
  })
  return {child, ended}
}

/** Runs a program as a real child process and collects its output and exit code. */
export function spawnCapture(file: string, args: string[], options: ProcessOptions = {}): Promise<Ended> {
  return startProcess(file, args, options).ended
}

/** Starts the CLI as a real process (`node bin/run.js`, or AGENTOS_TOOLCHAIN_EXE). */
export function startCli(args: string[], options: ProcessOptions = {}): Running {
  const {file, prefix} = cliCommand()
  return startProcess(file, [...prefix, ...args], {
    ...options,
    env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', ...options.env},
  })
}

/** Runs the CLI as a real child process (stdin empty unless `input`). */
export function runProcess(args: string[], options: ProcessOptions = {}): Promise<Ended> {
  return startCli(args, {input: '', ...options}).ended
}

/** True when text contains something that looks like a JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+[(:]\d+/.test(text) || /^\s+at /m.test(text)
}
