import {spawn} from 'node:child_process'
import {Config} from '@oclif/core'
import {runCommand} from '@oclif/test'
import {type CliResult, cliCommand, ROOT} from './cli.js'

/** A CLI run with how it ended: `handled` is false when an error escaped the command's catch. */
export interface CliRun extends CliResult {
  handled: boolean
  /** The error that escaped, for the failure message. */
  escaped?: string
}

let config: Promise<Config> | undefined

/**
 * Runs a command in-process against the built CLI, loading the oclif config once per worker (a
 * load per run would dominate a large corpus). Unlike runInProcess it reports whether an error
 * escaped the command: in-process, oclif's top-level handler that would print that error's stack
 * never runs, so "no stack on stderr" alone would pass for an unhandled crash.
 */
export async function runCliInProcess(args: string[]): Promise<CliRun> {
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

/** Options of {@link runCliProcess}. */
export interface ProcessOptions {
  cwd?: string
  /** Run as this user and group (root only), e.g. to make permission checks apply. */
  uid?: number
  gid?: number
  env?: NodeJS.ProcessEnv
}

/** Runs the CLI as a real process (`node bin/run.js`, or AGENTOS_TOOLCHAIN_EXE). */
export function runCliProcess(args: string[], options: ProcessOptions = {}): Promise<CliRun> {
  const {file, prefix} = cliCommand()
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...prefix, ...args], {
      cwd: options.cwd ?? ROOT,
      env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', ...options.env},
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : {uid: options.uid, gid: options.gid ?? options.uid}),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) =>
      resolve({stdout, stderr, exitCode: code ?? 128, handled: signal === null}),
    )
  })
}
