import {runError} from '../core/run/errors.js'
import type {IsolationChoice} from '../core/run/sandbox.js'

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
  /** Node.js for Node guests (`--node`); default this CLI's. */
  node?: string
  json: boolean
}

/** Flag defaults, shared by the oclif command and the fast path. */
export const RUN_DEFAULTS = {
  cwd: '/home/agentos',
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

/**
 * Runs what the flags ask for — `--which`, `--agent`, a command, or a description of the VM —
 * and says what to print. Shared by the oclif command and the fast path, so both behave alike.
 */
export async function dispatchRun(input: RunInput, io: RunIo): Promise<RunOutcome> {
  // A command (the common case) needs run.js: it loads alongside node.js instead of after it.
  const running =
    input.command !== undefined && input.which === undefined && input.agent === undefined
      ? import('../core/run/run.js')
      : undefined
  running?.catch(() => {})
  const {useNode} = await import('../core/run/node.js')
  useNode(input.node)
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
  if (input.which !== undefined) {
    const [{whichInVm}, {renderWhich}] = await Promise.all([
      import('../core/run/run.js'),
      import('./render-run.js'),
    ])
    const resolution = await whichInVm({...base, command: input.which})
    return {
      result: resolution,
      render: renderWhich as RunOutcome['render'],
      exitCode: resolution.error?.exitCode ?? 0,
    }
  }
  if (input.agent !== undefined) {
    const [{runAgent}, {formatUpdate, renderAgent}] = await Promise.all([
      import('../core/run/agent.js'),
      import('./render-run.js'),
    ])
    const report = await runAgent({
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
      onUpdate: input.json ? undefined : (update) => io.write(formatUpdate(update)),
    })
    if (!input.json && report.prompt?.reply) io.write('\n')
    return {result: report, render: renderAgent as RunOutcome['render'], exitCode: report.exitCode}
  }
  if (input.command === undefined) {
    const [{describeVm}, {renderVm}] = await Promise.all([
      import('../core/run/run.js'),
      import('./render-run.js'),
    ])
    return {result: await describeVm(base), render: renderVm as RunOutcome['render'], exitCode: 0}
  }
  const {runCommandInVm} = await (running ?? import('../core/run/run.js'))
  const run = await runCommandInVm({
    ...base,
    command: input.command,
    args: input.args,
    capture: input.json,
    timeoutMs: input.timeout,
    killAfterMs: input.killAfter,
    keepRoot: input.keepRoot,
  })
  if (run.root) io.note(`run: the VM root is kept at ${run.root}`)
  // Without --json the guest's own output is the output and its exit code the CLI's; with --json
  // the document carries both and the CLI reports success in producing it.
  return {result: {ok: run.exitCode === 0, ...run}, render: () => '', exitCode: input.json ? 0 : run.exitCode}
}
