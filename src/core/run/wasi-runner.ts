import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {isAgentosError} from '../errors.js'
import {mapPathsInValue} from './path-values.js'
import {type Preopen, runWasi} from './wasi.js'

/**
 * How a child process runs one WASI command — the VM's links for WASM commands (the host kernel
 * cannot exec `\0asm`), WASM agents and terminals, and commands a WASM guest spawns through
 * `host_process`: `program …args [--preopen G=H]… -- MODULE ARGV0 [ARG]…`.
 */
export interface WasiRunnerCommand {
  /** The executable, as the host sees it: a Node.js for the npm package, else the single binary. */
  program: string
  /** Arguments before the runner's own. */
  args: string[]
  /** Host paths a bubblewrap namespace must bind (read-only, at the same path) for it to start. */
  hostPaths: string[]
  /** The program is the runner itself (the single binary), not a Node.js that needs a script. */
  selfContained: boolean
}

/** First argument that makes the single binary act as the WASI runner instead of the CLI. */
export const BINARY_RUNNER_ARG = '__agentos-wasi-runner'

/** dist/core/run/wasi-main.js: the runner's entry in the npm package. */
const RUNNER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'wasi-main.js')

let binary: string | undefined

/**
 * Declares that this process is the single binary at `path`: its code is inside the executable,
 * so there is no runner script, and the binary runs WASM commands itself when started with
 * {@link BINARY_RUNNER_ARG}. Called once by the binary's entry, before any command runs.
 */
export function useBinaryRunner(path: string): void {
  binary = path
}

/**
 * The runner for child processes, given the Node.js that runs guests (`node`, needed only when the
 * runner is a script); undefined when this build has neither a script nor a binary to run.
 */
export function wasiRunner(node: () => string): WasiRunnerCommand | undefined {
  if (binary) return {program: binary, args: [BINARY_RUNNER_ARG], hostPaths: [binary], selfContained: true}
  if (!existsSync(RUNNER_SCRIPT)) return undefined
  // The directory holding the compiled code: the script imports its siblings.
  const dist = dirname(dirname(dirname(RUNNER_SCRIPT)))
  return {program: node(), args: [RUNNER_SCRIPT], hostPaths: [dist], selfContained: false}
}

/**
 * The runner as this very process can start it (`spawn(argv[0], argv.slice(1))`): the same
 * executable, which is Node.js for the npm package and the binary inside the single binary.
 */
export function selfRunnerArgv(): string[] | undefined {
  if (binary) return [process.execPath, BINARY_RUNNER_ARG]
  return existsSync(RUNNER_SCRIPT) ? [process.execPath, RUNNER_SCRIPT] : undefined
}

/**
 * The runner's main: parses `[--preopen GUEST=HOST]… [--ro-preopen GUEST=HOST]… -- MODULE ARGV0
 * [ARG]…`, runs the module with this process's env and standard descriptors, and returns its exit
 * code. Without preopens the guest's `/` is this process's `/` (inside bubblewrap, the VM).
 */
export async function wasiRunnerMain(argv: readonly string[]): Promise<number> {
  const preopens: Preopen[] = []
  let index = 0
  for (; index < argv.length && argv[index] !== '--'; index += 2) {
    const [flag, value] = [argv[index]!, argv[index + 1] ?? '']
    const eq = value.indexOf('=')
    preopens.push({guest: value.slice(0, eq), host: value.slice(eq + 1), readOnly: flag === '--ro-preopen'})
  }
  const [module, ...args] = argv.slice(index + 1)
  if (!module || args.length === 0) {
    process.stderr.write('usage: wasi runner [--preopen G=H]… -- MODULE ARGV0 [ARG]…\n')
    return 2
  }
  if (preopens.length === 0) preopens.push({guest: '/', host: '/'})
  const toVm = unmapper(preopens.find((p) => p.guest === '/')?.host)
  const env = Object.fromEntries(
    Object.entries(process.env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([name, value]) => [name, toVm(value)]),
  )
  try {
    return await runWasi({module, args: args.map(toVm), env, preopens})
  } catch (error) {
    process.stderr.write(
      isAgentosError(error) ? `${args[0]}: ${error.message}\n` : `${args[0]}: ${(error as Error).stack}\n`,
    )
    return isAgentosError(error) ? error.exitCode : 1
  }
}

/**
 * Path-mapped mode rewrites VM paths in env and argv to the assembled root (sandbox.ts), for guests
 * that see the host's files. A WASI guest sees the VM through its preopens, so the runner turns
 * them back into VM paths.
 */
function unmapper(root: string | undefined): (value: string) => string {
  if (!root || root === '/') return (value) => value
  const toVm = (path: string) =>
    path === root ? '/' : path.startsWith(`${root}/`) ? path.slice(root.length) : path
  return (value) => mapPathsInValue(value, toVm)
}
