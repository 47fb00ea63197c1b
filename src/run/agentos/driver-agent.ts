import {randomUUID} from 'node:crypto'
import {clock, round, type DriverContext, type Vm} from './driver-context.js'
import type {DriverRequest} from './protocol.js'

// The driver's agent operation: a session opened through the runtime's session API, one prompt
// if asked, every step timed.

/** One step of the session, as reported. */
export interface Step {
  step: string
  ms: number
  ok: boolean
  detail?: string
}

/** Runs `work` as the step `name`, recorded in `steps`; past `timeoutMs` it fails with `timeout`. */
export async function timedStep<T>(
  steps: Step[],
  name: string,
  timeoutMs: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const t = clock()
  let timer: NodeJS.Timeout | undefined
  try {
    const value = await Promise.race([
      work(),
      ...(timeoutMs
        ? [
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () =>
                  reject(
                    Object.assign(new Error(`${name} got no answer within ${timeoutMs} ms`), {
                      timeout: true,
                    }),
                  ),
                timeoutMs,
              )
            }),
          ]
        : []),
    ])
    steps.push({step: name, ms: round(clock() - t), ok: true})
    return value
  } catch (error) {
    steps.push({step: name, ms: round(clock() - t), ok: false, detail: (error as Error).message})
    throw error
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/**
 * Opens a session with the request's agent (or the only one), prompts it once if asked, and closes
 * it. The result carries what was learnt up to a failure, and the agent's stderr and exits.
 */
export async function agent(
  ctx: DriverContext,
  vm: Vm,
  req: DriverRequest,
  agentStderr: string[],
  agentExits: unknown[],
): Promise<void> {
  const steps: Step[] = []
  const result: Record<string, unknown> = {steps}
  const step = <T>(name: string, timeoutMs: number | undefined, work: () => Promise<T>) =>
    timedStep(steps, name, timeoutMs, work)
  try {
    const agents = await step('agents/list', undefined, () => vm.agents.list())
    result.agents = agents
    const names = agents.map((a) => a.id)
    const picked = req.agent ?? (names.length === 1 ? names[0] : undefined)
    if (!picked || !names.includes(picked)) {
      ctx.send({type: 'result', result: {...result, pick: {wanted: req.agent, names}}})
      return
    }
    result.agent = picked
    const sessionId = randomUUID()
    await step('session/open', req.timeouts?.session, () =>
      vm.sessions.open({
        agent: picked,
        sessionId,
        ...(req.cwd ? {cwd: req.cwd} : {}),
        ...(req.env ? {env: req.env} : {}),
      }),
    )
    result.sessionId = sessionId
    result.agentInfo = await step('agent-info', undefined, () => vm.sessions.getAgentInfo({sessionId}))
    result.agentCapabilities = await step('capabilities', undefined, () =>
      vm.sessions.getCapabilities({sessionId}),
    )
    result.session = await vm.sessions.get({sessionId}).catch(() => undefined)
    if (req.prompt !== undefined) result.prompt = await prompt(ctx, vm, sessionId, req.prompt, req, step)
    await step('close', undefined, () => vm.sessions.unload({sessionId})).catch(() => {})
    ctx.send({
      type: 'result',
      result: {...result, stderrTail: agentStderr.join('').slice(-4096), exits: agentExits},
    })
  } catch (error) {
    const e = error as {message?: string; timeout?: boolean}
    ctx.send({
      type: 'result',
      result: {
        ...result,
        error: {message: e?.message ?? String(error), timeout: e?.timeout === true},
        stderrTail: agentStderr.join('').slice(-4096),
        exits: agentExits,
      },
    })
  }
}

/** Sends one prompt, streaming the session's updates, and returns the reply. */
async function prompt(
  ctx: DriverContext,
  vm: Vm,
  sessionId: string,
  text: string,
  req: DriverRequest,
  step: <T>(name: string, timeoutMs: number | undefined, work: () => Promise<T>) => Promise<T>,
): Promise<{text: string; stopReason: string; reply: string}> {
  const off = forwardUpdates(ctx, vm, sessionId)
  try {
    const answer = await step('session/prompt', req.timeouts?.prompt, () =>
      vm.sessions.prompt({sessionId, content: [{type: 'text', text}]}),
    )
    return {
      text,
      stopReason: answer.stopReason,
      reply: (answer.message?.content ?? [])
        .map((block) => ((block as {type?: string}).type === 'text' ? (block as {text: string}).text : ''))
        .join(''),
    }
  } finally {
    off()
  }
}

/** Sends the session's events as `update`s; returns the function that stops it. */
function forwardUpdates(ctx: DriverContext, vm: Vm, sessionId: string): () => void {
  let ephemeral = false
  return vm.onSessionEvent(sessionId, (entry) => {
    const {durability, sessionId: _s, sequence: _q, timestamp: _ts, afterSequence: _a, type, ...rest} = entry
    if (type === 'user_message_chunk') return
    const chunk = type === 'agent_message_chunk' || type === 'agent_thought_chunk'
    // Message chunks come twice, live (ephemeral) and then recorded (durable): one is shown.
    if (chunk && durability === 'ephemeral') ephemeral = true
    else if (chunk && ephemeral) return
    ctx.send({type: 'update', update: {sessionUpdate: type, ...rest}})
  })
}
