/**
 * The client side of the ACP smoke test: `initialize`, `session/new` and optionally one
 * `session/prompt`, each a step with its own time limit, raced against a protocol violation and
 * the agent's exit.
 */
import type {VmSession} from '../process/exec.js'
import {mapVmPath} from '../process/sandbox.js'
import {delay, exitCodeOf, type GuestExit, type GuestProcess} from '../process/spawn.js'
import {answerAgent, type CallbackContext, type Terminal} from './callbacks.js'
import {readMessages, writeMessages} from './framing.js'
import {type AgentReport, type AgentStep, type AgentTimeouts, Failure, since} from './report.js'

type Acp = typeof import('@agentclientprotocol/sdk')
type Connection = ReturnType<ReturnType<Acp['client']>['connect']>

/** What the handshake takes of `runAgent`'s options. */
export interface HandshakeOptions {
  prompt?: string
  onUpdate?: CallbackContext['onUpdate']
}

/** Runs one step of the handshake: its result, or a {@link Failure} once it is recorded in the report. */
type Step = <T>(
  name: AgentStep['step'],
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<T>,
) => Promise<T>

/** Drives the agent through the handshake, recording each step in `report`. */
export async function handshake(
  guest: GuestProcess,
  session: VmSession,
  options: HandshakeOptions,
  timeouts: AgentTimeouts,
  report: AgentReport,
  terminals: Map<string, Terminal>,
): Promise<void> {
  const acp = await import('@agentclientprotocol/sdk')
  const output = readMessages(guest.stdout!)
  const conversation = {updates: [] as unknown[], reply: ''}
  const app = answerAgent(acp, acp.client({name: 'agentos-toolchain'}), {
    session,
    terminals,
    conversation,
    onUpdate: options.onUpdate,
  })
  const connection = app.connect(acp.ndJsonStream(writeMessages(guest.stdin!), output.readable))

  const crashed = guest.exited.then((exit) => {
    const truncated = output.truncated()
    throw truncated === undefined
      ? new Failure('crashed', `the agent exited (${describeExit(exit)}) before answering`)
      : new Failure('crashed', `the agent exited (${describeExit(exit)}) in the middle of a message`, {
          line: truncated,
        })
  })
  crashed.catch(() => {})

  const step = stepper(guest, report, output.violated, crashed)
  try {
    await clientSide(acp, connection, step, session, options, timeouts, report, conversation)
  } finally {
    connection.close()
  }
}

/** `initialize`, `session/new` and the prompt, with what the agent answered in the report. */
async function clientSide(
  acp: Acp,
  connection: Connection,
  step: Step,
  session: VmSession,
  options: HandshakeOptions,
  timeouts: AgentTimeouts,
  report: AgentReport,
  conversation: {updates: unknown[]; reply: string},
): Promise<void> {
  const {methods} = acp
  const options_ = {stopWaitingOnCancel: true}
  const init = await step('initialize', timeouts.initialize, (signal) =>
    connection.agent.request(
      methods.agent.initialize,
      {
        protocolVersion: 1,
        clientCapabilities: {fs: {readTextFile: true, writeTextFile: true}, terminal: true},
      },
      {...options_, cancellationSignal: signal},
    ),
  )
  report.protocolVersion = init.protocolVersion
  report.agentInfo = init.agentInfo
    ? {name: init.agentInfo.name, version: init.agentInfo.version, title: init.agentInfo.title ?? undefined}
    : undefined
  report.agentCapabilities = init.agentCapabilities
  report.authMethods = (init.authMethods ?? []).map((m) => ({
    id: m.id,
    name: m.name,
    description: m.description ?? undefined,
  }))
  if (init.protocolVersion !== 1) {
    // JSON, so that a string "1" does not read as the number the client speaks.
    const message = `the agent answered protocolVersion ${JSON.stringify(init.protocolVersion) ?? 'undefined'}; this client speaks 1`
    const initialize = report.steps.at(-1)!
    initialize.ok = false
    initialize.detail = message
    throw new Failure('protocol-error', message)
  }
  const created = await step('session/new', timeouts.session, (signal) =>
    connection.agent.request(
      methods.agent.session.new,
      {cwd: guestCwd(session), mcpServers: []},
      {...options_, cancellationSignal: signal},
    ),
  )
  if (typeof created.sessionId !== 'string' || created.sessionId === '') {
    throw new Failure('protocol-error', 'session/new returned no sessionId')
  }
  report.sessionId = created.sessionId
  if (options.prompt !== undefined) {
    const text = options.prompt
    report.prompt = {text, updates: conversation.updates, reply: ''}
    const answer = await step('session/prompt', timeouts.prompt, (signal) =>
      connection.agent.request(
        methods.agent.session.prompt,
        {sessionId: created.sessionId, prompt: [{type: 'text', text}]},
        {...options_, cancellationSignal: signal},
      ),
    )
    report.prompt.stopReason = answer.stopReason
    report.prompt.reply = conversation.reply
  }
}

/** The {@link Step} of a handshake: each raced against its timeout, a violation and a crash. */
function stepper(
  guest: GuestProcess,
  report: AgentReport,
  violated: Promise<never>,
  crashed: Promise<never>,
): Step {
  return async (name, timeoutMs, run) => {
    const t = performance.now()
    const abort = new AbortController()
    const timer = timeoutMs > 0 ? delay(timeoutMs) : undefined
    const timedOut = timer?.promise.then(() => {
      abort.abort()
      throw new Failure('timeout', `${name} got no answer within ${timeoutMs} ms`)
    })
    timedOut?.catch(() => {})
    try {
      const result = await Promise.race([
        run(abort.signal).catch((error: unknown) => {
          throw classify(error, name)
        }),
        violated,
        crashed,
        ...(timedOut ? [timedOut] : []),
      ])
      report.steps.push({step: name, ms: since(t), ok: true})
      return result
    } catch (error) {
      // A dead agent also closes the connection: report the crash, not the closed stream. The
      // exit is seen a moment after the stream ends, so a transport failure waits for it briefly.
      let final = error instanceof Failure ? error : classify(error, name)
      if (
        final.outcome === 'protocol-error' &&
        final.extra.line === undefined &&
        final.extra.code === undefined
      ) {
        const grace = delay(1000)
        await Promise.race([guest.exited, grace.promise])
        grace.cancel()
        if (guest.done) final = await crashed.catch((crash: Failure) => crash)
      }
      report.steps.push({step: name, ms: since(t), ok: false, detail: final.message})
      throw final
    } finally {
      timer?.cancel()
    }
  }
}

/** A JSON-RPC error or a transport failure of a step, as a protocol error. */
function classify(error: unknown, step: string): Failure {
  if (error instanceof Failure) return error
  const rpc = error as {code?: unknown; message?: string; data?: unknown}
  if (typeof rpc?.code === 'number') {
    return new Failure('protocol-error', `${step} failed: ${rpc.message} (JSON-RPC error ${rpc.code})`, {
      code: rpc.code,
      data: rpc.data,
    })
  }
  return new Failure('protocol-error', `${step} failed: ${(error as Error)?.message ?? String(error)}`)
}

/** How the agent ended, in words. */
function describeExit(exit: GuestExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exitCodeOf(exit)}`
}

/**
 * The session's cwd as the agent sees it: a VM path in bubblewrap; path-mapped, the agent is a
 * host process, so the VM path's place in the per-run root (`chdir` to `/home/agentos` would fail).
 */
function guestCwd(session: VmSession): string {
  const {vm, root} = session
  return session.isolation === 'bwrap' ? vm.cwd : mapVmPath(vm, root, vm.cwd)
}
