import {DIST_DIR, distFile} from '../../../util/dist-file.js'

// Not `import … from 'node:fs'`: run.ts loads this module for every WASM command (see the note there).
const {existsSync} = process.getBuiltinModule('node:fs')

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

/** The runner's entry in the npm package. */
const RUNNER_SCRIPT = distFile('run/emulation/wasi/main.js')

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
  return {program: node(), args: [RUNNER_SCRIPT], hostPaths: [DIST_DIR], selfContained: false}
}

/**
 * The runner as this very process can start it (`spawn(argv[0], argv.slice(1))`): the same
 * executable, which is Node.js for the npm package and the binary inside the single binary.
 */
export function selfRunnerArgv(): string[] | undefined {
  if (binary) return [process.execPath, BINARY_RUNNER_ARG]
  return existsSync(RUNNER_SCRIPT) ? [process.execPath, RUNNER_SCRIPT] : undefined
}
