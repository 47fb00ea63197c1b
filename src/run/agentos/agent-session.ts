import {AgentosError} from '../../errors.js'
import type {EngineAgentOptions, EngineOutcome} from '../engine.js'
import {AGENT_EXIT, runError} from '../errors.js'
import {drive, prepare, round, runtimeDocument, type AgentosSettings} from './operation.js'
import type {RuntimeAgentReport, RuntimeAgentStep} from './results.js'

/** The driver's result of an `agent` operation. */
interface AgentResult {
  agents?: Array<{id: string}>
  pick?: {wanted?: string; names: string[]}
  agent?: string
  sessionId?: string
  session?: unknown
  agentInfo?: {name?: string; version?: string; title?: string} | null
  agentCapabilities?: unknown
  steps: RuntimeAgentStep[]
  prompt?: {text: string; stopReason?: string; reply: string}
  error?: {message: string; timeout: boolean}
  stderrTail?: string
  exits?: unknown[]
}

const EXIT_CODES: Record<RuntimeAgentReport['outcome'], number> = {
  ok: AGENT_EXIT.ok,
  'protocol-error': AGENT_EXIT.protocolError,
  timeout: AGENT_EXIT.timeout,
  crashed: AGENT_EXIT.crashed,
}

/**
 * `run --engine agentos <packages> --agent`: a session opened through the runtime's session API,
 * with one prompt when asked; its updates are passed to `onUpdate` as they come.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_AGENT_NOT_FOUND`, `ERR_AGENTOS_RUN_NO_AGENT` or
 *   `ERR_AGENTOS_RUN_AGENT_AMBIGUOUS` when no one agent is picked, besides the errors of every
 *   operation.
 */
export async function agentSession(
  settings: AgentosSettings,
  options: EngineAgentOptions,
): Promise<EngineOutcome<RuntimeAgentReport>> {
  const {runtime, packages, env, resolveMs, started} = await prepare(settings, options)
  if (options.args.length > 0) {
    options.note?.(
      'WARN_AGENTOS_RUNTIME_AGENT_ARGS: the runtime launches the agent with its own launchArgs; the arguments after -- are not passed',
    )
  }
  const outcome = await drive(
    settings,
    {
      op: 'agent',
      packages,
      env: Object.keys(env).length > 0 ? env : undefined,
      cwd: options.cwd,
      agent: options.agentName,
      prompt: options.prompt,
      timeouts: {session: options.timeouts?.session, prompt: options.timeouts?.prompt || undefined},
    },
    runtime,
    {
      onEvent: (event) => {
        if (event.type === 'update') options.onUpdate?.(event.update as {sessionUpdate: string})
      },
    },
  )
  const r = outcome.result as unknown as AgentResult
  if (r.pick) throw pickError(r.pick)
  const outcomeName = outcomeOf(r)
  const exitCode = EXIT_CODES[outcomeName]
  return {
    result: {
      ...runtimeDocument(runtime),
      outcome: outcomeName,
      exitCode,
      agent: {name: r.agent ?? options.agentName ?? ''},
      agentInfo: r.agentInfo ?? undefined,
      agentCapabilities: r.agentCapabilities,
      sessionId: r.sessionId,
      session: r.session,
      steps: r.steps,
      prompt: r.prompt,
      error: r.error ? {message: r.error.message} : undefined,
      stderrTail: r.stderrTail ?? '',
      timings: {
        resolve: resolveMs,
        start: outcome.phases.start ?? 0,
        create: outcome.phases.create ?? 0,
        dispose: outcome.phases.dispose ?? 0,
        total: round(performance.now() - started),
      },
    },
    exitCode,
  }
}

/** How the session went: a timeout, the agent gone (crashed), or another error of the protocol. */
function outcomeOf(r: AgentResult): RuntimeAgentReport['outcome'] {
  return !r.error
    ? 'ok'
    : r.error.timeout
      ? 'timeout'
      : (r.exits?.length ?? 0) > 0
        ? 'crashed'
        : 'protocol-error'
}

function pickError(pick: {wanted?: string; names: string[]}): AgentosError {
  const list = pick.names.join(', ')
  if (pick.wanted !== undefined) {
    return runError(
      'ERR_AGENTOS_RUN_AGENT_NOT_FOUND',
      `the agentOS runtime lists no agent "${pick.wanted}"`,
      {
        hint:
          pick.names.length > 0
            ? `Agents here: ${list}.`
            : 'Add the agent package, or an "agent" block to its manifest.',
      },
    )
  }
  return pick.names.length === 0
    ? runError('ERR_AGENTOS_RUN_NO_AGENT', 'the agentOS runtime lists no agent among the packages', {
        hint: 'Pass an agent package (one whose agentos-package.json has "agent": {"acpEntrypoint": …}).',
      })
    : runError('ERR_AGENTOS_RUN_AGENT_AMBIGUOUS', `the agentOS runtime lists several agents: ${list}`, {
        hint: 'Name one: --agent=<name>.',
      })
}
