import {createEmulationEngine} from '../../run/emulation/engine.js'
import type {Engine, EngineName, EngineResults} from '../../run/engine.js'
import {runError} from '../../run/errors.js'
import type {IsolationChoice} from '../../run/emulation/process/sandbox.js'

/** Everything `run` was asked to do, after flag parsing (by oclif or the fast path). */
export interface RunInput {
  packages: string[]
  command?: string
  args: string[]
  env: string[]
  which?: string
  /** Agent name; `''` for "the only agent". */
  agent?: string
  prompt?: string
  cwd?: string
  isolation: IsolationChoice
  timeout?: number
  initTimeout: number
  sessionTimeout: number
  promptTimeout: number
  killAfter: number
  keepRoot: boolean
  /** Node.js for Node guests (`--node`); default this CLI's. With the agentos engine: the runtime's. */
  node?: string
  /** Which engine runs the packages (default emulation). */
  engine?: EngineName
  /** `--runtime <dir>` (agentos engine). */
  runtime?: string
  /** Show the runtime's own log lines (agentos engine). */
  verbose?: boolean
  json: boolean
}

/** Flag defaults, shared by the oclif command and the fast path. */
export const RUN_DEFAULTS = {
  isolation: 'auto' as IsolationChoice,
  initTimeout: 10_000,
  sessionTimeout: 30_000,
  promptTimeout: 0,
  killAfter: 5000,
} as const

/** What to print and how to exit. */
export interface RunOutcome {
  result: unknown
  render: (result: never) => string
  exitCode: number
}

/** Output channels of a run: diagnostics and streamed agent text. */
export interface RunIo {
  note(message: string): void
  write(text: string): void
}

/** A pack or assemble-wasm killed mid-commit may have left a package set aside: put it back. */
async function restoreCommits(packages: readonly string[]): Promise<void> {
  // Loading the output modules costs a WASM run about a tenth of its time: they are loaded only
  // when a package's directory holds a commit journal or a package set aside (names with these
  // marks, see output/staging.ts).
  const {readdirSync} = process.getBuiltinModule('node:fs')
  const {dirname, resolve} = process.getBuiltinModule('node:path')
  const pending = packages
    .map((path) => resolve(path))
    .filter((path) => {
      try {
        return readdirSync(dirname(path)).some(
          (name) => name.includes('.agentos-commit-') || name.includes('.agentos-old-'),
        )
      } catch {
        return false
      }
    })
  if (pending.length === 0) return
  const {restoreInterruptedCommit} = await import('../../output/staging.js')
  for (const path of pending) await restoreInterruptedCommit(path).catch(() => undefined)
}

/**
 * Runs what the flags ask for — `--which`, `--agent`, a command, or a description of the VM —
 * and says what to print. Shared by the oclif command and the fast path, so both behave alike.
 */
export async function dispatchRun(input: RunInput, io: RunIo): Promise<RunOutcome> {
  // A command (the common case) needs run.js: it loads alongside node.js instead of after it.
  const running =
    input.command !== undefined &&
    input.which === undefined &&
    input.agent === undefined &&
    input.engine !== 'agentos'
      ? import('../../run/emulation/run.js')
      : undefined
  running?.catch(() => {})
  const {useNode} = await import('../../util/host-node.js')
  useNode(input.node)
  await restoreCommits(input.packages)
  const base = {
    inputs: input.packages,
    env: input.env,
    cwd: input.cwd,
    isolation: input.isolation,
    note: io.note,
  }
  if (input.prompt !== undefined && input.agent === undefined) {
    throw runError('ERR_AGENTOS_RUN_USAGE', '--prompt needs --agent', {
      hint: 'run <packages…> --agent --prompt "hi"',
      exitCode: 2,
    })
  }
  if (input.which !== undefined && (input.agent !== undefined || input.command !== undefined)) {
    throw runError('ERR_AGENTOS_RUN_USAGE', '--which only resolves a command; it runs nothing', {
      hint: 'Drop --agent and the command after --, or drop --which.',
      exitCode: 2,
    })
  }
  const engine = await engineFor(input)
  const renders =
    engine.name === 'agentos' ? await import('../render/runtime.js') : await import('../render/run.js')
  if (input.which !== undefined) {
    const {result, exitCode} = await engine.which({...base, command: input.which})
    return {result, render: renders.renderWhich as RunOutcome['render'], exitCode}
  }
  if (input.agent !== undefined) {
    const {result: report, exitCode} = await engine.agentSession({
      ...base,
      agentName: input.agent === '' ? undefined : input.agent,
      args: input.command === undefined ? [] : [input.command, ...input.args],
      prompt: input.prompt,
      timeouts: {
        initialize: input.initTimeout,
        session: input.sessionTimeout,
        prompt: input.promptTimeout,
        killAfter: input.killAfter,
      },
      onUpdate: input.json ? undefined : (update) => io.write(renders.formatUpdate(update)),
    })
    if (!input.json && (report as {prompt?: {reply?: string}}).prompt?.reply) io.write('\n')
    return {result: report, render: renders.renderAgent as RunOutcome['render'], exitCode}
  }
  if (input.command === undefined) {
    const {result} = await engine.describe(base)
    return {result, render: renders.renderVm as RunOutcome['render'], exitCode: 0}
  }
  await running
  const run = await engine.exec({
    ...base,
    command: input.command,
    args: input.args,
    capture: input.json,
    timeoutMs: input.timeout,
    killAfterMs: input.killAfter,
  })
  const root = (run as {root?: string}).root
  if (root) io.note(`run: the VM root is kept at ${root}`)
  // Without --json the guest's own output is the output and its exit code the CLI's; with --json
  // the document carries both and the CLI reports success in producing it.
  return {
    result: {ok: run.exitCode === 0, ...(engine.name === 'emulation' ? {engine: 'emulation'} : {}), ...run},
    render: () => '',
    exitCode: input.json ? 0 : run.exitCode,
  }
}

/**
 * The engine the flags ask for. Flags of one engine given to the other are usage errors rather
 * than silently ignored: a smoke test that did not test what was asked is worse than none.
 */
async function engineFor(input: RunInput): Promise<Engine<EngineResults>> {
  if (input.engine !== 'agentos') {
    if (input.runtime !== undefined || input.verbose) {
      throw runError(
        'ERR_AGENTOS_RUN_USAGE',
        `${input.runtime !== undefined ? '--runtime' : '--verbose'} needs --engine agentos`,
        {
          hint: 'Add --engine agentos to run in the real agentOS runtime.',
          exitCode: 2,
        },
      )
    }
    return createEmulationEngine({
      isolation: input.isolation,
      keepRoot: input.keepRoot,
    }) as Engine<EngineResults>
  }
  const emulationOnly =
    input.isolation !== RUN_DEFAULTS.isolation ? '--isolation' : input.keepRoot ? '--keep-root' : undefined
  if (emulationOnly) {
    throw runError(
      'ERR_AGENTOS_RUN_USAGE',
      `${emulationOnly} belongs to the emulation; the agentOS runtime has its own VM`,
      {
        hint: `Drop ${emulationOnly}, or use --engine emulation.`,
        exitCode: 2,
      },
    )
  }
  const [{createAgentosEngine}, {hostNode}] = await Promise.all([
    import('../../run/agentos/engine.js'),
    import('../../util/host-node.js'),
  ])
  return createAgentosEngine({
    runtime: input.runtime,
    node: hostNode,
    verbose: input.verbose,
  }) as Engine<EngineResults>
}
