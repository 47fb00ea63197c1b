import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {runCommand} from '@oclif/test'

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')

/** Outcome of a CLI invocation, in-process or as a real process. */
export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
}

/** Runs a command in-process through oclif (`@oclif/test` runCommand) against the built CLI. */
export async function runInProcess(args: string[]): Promise<CliResult> {
  const {stdout, stderr, error} = await runCommand(args, {root: ROOT})
  const exit = (error as {oclif?: {exit?: number}} | undefined)?.oclif?.exit
  return {stdout, stderr, exitCode: error ? (exit ?? 1) : 0}
}

/**
 * The executable the end-to-end tests drive: `node bin/run.js` by default, or the file named by
 * AGENTOS_TOOLCHAIN_EXE (the single binary), so one suite covers both.
 */
export function cliCommand(): {file: string; prefix: string[]} {
  const exe = process.env.AGENTOS_TOOLCHAIN_EXE
  return exe ? {file: exe, prefix: []} : {file: process.execPath, prefix: [join(ROOT, 'bin/run.js')]}
}

/** Runs a program as a real child process and collects its output and exit code. */
export function spawnCapture(
  file: string,
  args: string[],
  options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({stdout, stderr, exitCode: code ?? 1}))
    child.stdin?.end(options.input)
  })
}

/** Runs the CLI as a real child process. */
export function runProcess(
  args: string[],
  options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<CliResult> {
  const {file, prefix} = cliCommand()
  return spawnCapture(file, [...prefix, ...args], {
    cwd: options.cwd,
    env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', ...options.env},
    input: options.input ?? '',
  })
}

/** True when text contains something that looks like a JavaScript stack trace. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+[(:]\d+/.test(text) || /^\s+at /m.test(text)
}
