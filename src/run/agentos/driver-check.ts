import {randomUUID} from 'node:crypto'
import {timedStep, type Step} from './driver-agent.js'
import {shell} from './driver-commands.js'
import {clock, round, type DriverContext, type Vm} from './driver-context.js'
import type {DriverRequest} from './protocol.js'

// The driver's `check` operation (`validate --engine agentos`): in the one VM made with the
// package, each command looked up on $PATH (`command -v` prints only its first operand's answer,
// so one lookup per command), then, for an agent, a session opened and closed.

/** What `command -v <name>` answered in the VM. */
export interface CommandLookup {
  name: string
  /** It answered the package's link, `/opt/agentos/bin/<name>`. */
  found: boolean
  /** What it printed: a path, or a builtin's bare name. */
  path?: string
  exitCode: number
  /** The shell's stderr, when it said something. */
  stderr?: string
}

/** How the session went: opened, or the runtime's message (no agent listed, open refused…). */
export interface SessionCheck {
  agent?: string
  agents: string[]
  ok: boolean
  error?: string
  steps: Step[]
  stderrTail?: string
}

/** Looks every requested command up, then opens a session when asked; one `result` event. */
export async function check(
  ctx: DriverContext,
  vm: Vm,
  req: DriverRequest,
  agentStderr: string[],
): Promise<void> {
  const t = clock()
  const commands: CommandLookup[] = []
  try {
    for (const name of req.commands ?? []) {
      const probe = await shell(vm, 'command -v -- "$1"', [name], req)
      // Only the line end goes: a name may start or end with a space ("my-tool " is linked so).
      const path = probe.out.replace(/\r?\n$/, '')
      commands.push({
        name,
        // Only the package's link counts: the VM's shell answers a builtin's bare name before
        // $PATH, and skips a link that leads nowhere for the kernel's /bin/<name> stub (which exits
        // 0 doing nothing).
        found: probe.exitCode === 0 && path === `/opt/agentos/bin/${name}`,
        path: path || undefined,
        exitCode: probe.exitCode,
        stderr: probe.err.trim() || undefined,
      })
    }
  } catch (error) {
    ctx.fail('check', error)
    return
  }
  const session = req.session ? await openSession(vm, req, agentStderr) : undefined
  ctx.send({type: 'result', result: {commands, session, timings: {run: round(clock() - t)}}})
}

/** Opens a session with the request's agent (or the only one listed) and closes it. */
async function openSession(vm: Vm, req: DriverRequest, agentStderr: string[]): Promise<SessionCheck> {
  const steps: Step[] = []
  const result: SessionCheck = {agents: [], ok: false, steps}
  try {
    const agents = await timedStep(steps, 'agents/list', undefined, () => vm.agents.list())
    result.agents = agents.map((a) => a.id)
    // The package's own name when the runtime lists it, else the only agent listed.
    const picked =
      req.agent && result.agents.includes(req.agent)
        ? req.agent
        : result.agents.length === 1
          ? result.agents[0]
          : undefined
    if (!picked) {
      result.error =
        result.agents.length === 0
          ? 'the runtime lists no agent'
          : `the runtime lists several agents (${result.agents.join(', ')}), none named "${req.agent ?? ''}"`
      return result
    }
    result.agent = picked
    const sessionId = randomUUID()
    await timedStep(steps, 'session/open', req.timeouts?.session, () =>
      vm.sessions.open({agent: picked, sessionId}),
    )
    await timedStep(steps, 'close', undefined, () => vm.sessions.unload({sessionId})).catch(() => {})
    result.ok = true
  } catch (error) {
    result.error = (error as Error)?.message ?? String(error)
    result.stderrTail = agentStderr.join('').slice(-4096) || undefined
  }
  return result
}
