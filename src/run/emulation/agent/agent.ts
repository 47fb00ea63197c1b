/**
 * `run --agent`: the ACP smoke test. This module picks the agent, starts it in the VM and closes it
 * again; handshake.ts drives the protocol, callbacks.ts answers the agent, framing.ts reads its
 * stdout, report.ts holds what is reported.
 */
import type {Writable} from 'node:stream'
import {AGENT_EXIT, runError} from '../../errors.js'
import {openSession, planProcess} from '../process/exec.js'
import type {RunPackage} from '../../vm/mount.js'
import {assertRunnable, prepareVm, type RunOptions} from '../run.js'
import {resolveCommand} from '../resolve.js'
import {detectIsolation} from '../process/sandbox.js'
import {delay, descendantsOf, type GuestProcess, killAll, startGuest} from '../process/spawn.js'
import {AGENTOS_BIN} from '../../vm/vm.js'
import type {Terminal} from './callbacks.js'
import {handshake} from './handshake.js'
import {
  type AgentOutcome,
  type AgentReport,
  type AgentTimeouts,
  DEFAULT_AGENT_TIMEOUTS,
  Failure,
  since,
} from './report.js'

/** Options of {@link runAgent}. */
export interface AgentRunOptions extends RunOptions {
  /** Agent name (the package name); undefined picks the only agent among the packages. */
  agentName?: string
  /** Caller arguments, after `launchArgs`. */
  args: string[]
  prompt?: string
  timeouts?: Partial<AgentTimeouts>
  /** Called with each `session/update` while a prompt runs. */
  onUpdate?: (update: {sessionUpdate: string; [key: string]: unknown}) => void
  /** Mirror the agent's stderr here as it arrives. */
  stderr?: Writable
}

/** The agent package: the one named, or the only one among the packages. */
function pickAgent(packages: RunPackage[], name: string | undefined): RunPackage {
  const agents = packages.filter((pkg) => pkg.agent)
  const list = agents.map((pkg) => pkg.name).join(', ')
  if (name !== undefined) {
    const found = agents.find((pkg) => pkg.name === name)
    if (found) return found
    throw runError('ERR_AGENTOS_RUN_AGENT_NOT_FOUND', `no package named "${name}" declares an agent`, {
      hint:
        agents.length > 0
          ? `Agents here: ${list}.`
          : 'Add the agent package, or an "agent" block to its manifest.',
    })
  }
  if (agents.length === 1) return agents[0]!
  throw runError(
    agents.length === 0 ? 'ERR_AGENTOS_RUN_NO_AGENT' : 'ERR_AGENTOS_RUN_AGENT_AMBIGUOUS',
    agents.length === 0
      ? 'none of the packages declares an agent (agent.acpEntrypoint)'
      : `several packages declare an agent: ${list}`,
    {
      hint:
        agents.length === 0
          ? 'Pass an agent package (one whose agentos-package.json has "agent": {"acpEntrypoint": …}).'
          : 'Name one: --agent=<name>.',
    },
  )
}

/** Signals that stop a smoke test (and then the CLI) instead of killing the CLI at once. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * The ACP smoke test: launches the agent's `acpEntrypoint` inside the VM (launchArgs before the
 * caller's args, agent.env under the user env) and drives it with the official SDK's client:
 * `initialize`, `session/new`, optionally one `session/prompt`, then a clean close (stdin closed,
 * SIGTERM, SIGKILL after the grace). Every failure is an outcome, never an exception: protocol
 * errors, timeouts and crashes each have their own exit code.
 */
export async function runAgent(options: AgentRunOptions): Promise<AgentReport> {
  const timeouts = {...DEFAULT_AGENT_TIMEOUTS, ...options.timeouts}
  let agentPackage: RunPackage | undefined
  const {vm} = await prepareVm(options, (packages) => (agentPackage = pickAgent(packages, options.agentName)))
  const pkg = agentPackage!
  const agentBlock = pkg.agent!
  const resolution = await resolveCommand(vm, `${AGENTOS_BIN}/${agentBlock.acpEntrypoint}`)
  assertRunnable(resolution)

  const probe = await detectIsolation(options.isolation)
  if (probe.isolation === 'path-mapped') {
    options.note?.(`run: no mount namespace (${probe.reason}); path-mapped mode`)
  }
  const session = await openSession(vm, probe.isolation, probe.bwrap)
  let plan: ReturnType<typeof planProcess>
  try {
    plan = planProcess(session, resolution, [...agentBlock.launchArgs, ...options.args])
  } catch (error) {
    await session.root.remove()
    throw error
  }
  const report: AgentReport = {
    outcome: 'ok',
    exitCode: AGENT_EXIT.ok,
    agent: {
      name: pkg.name,
      version: pkg.version,
      dir: pkg.dir,
      acpEntrypoint: agentBlock.acpEntrypoint,
      argv: plan.guestArgv,
    },
    isolation: probe.isolation,
    isolationReason: probe.reason,
    steps: [],
    stderrTail: '',
  }
  const terminals = new Map<string, Terminal>()
  let guest: GuestProcess | undefined
  const stop = stopOnSignals()
  try {
    const t = performance.now()
    guest = await startGuest({
      file: plan.file,
      args: plan.args,
      env: plan.env,
      cwd: plan.cwd,
      infoFd: plan.infoFd,
      stdio: 'pipe',
      stderrMirror: options.stderr,
    })
    report.steps.push({step: 'spawn', ms: since(t), ok: true})
    await Promise.race([handshake(guest, session, options, timeouts, report, terminals), stop.interrupted])
  } catch (error) {
    if (!(error instanceof Failure)) throw error
    report.outcome = error.outcome
    report.error = {message: error.message, ...error.extra}
  } finally {
    for (const terminal of terminals.values()) await terminal.guest.terminate(500)
    if (guest) await closeAgent(guest, timeouts, report)
    await session.root.remove()
    stop.dispose()
  }
  stop.reraise()
  report.exitCode = exitCodeFor(report.outcome)
  return report
}

/**
 * A signal to the CLI (Ctrl-C, a kill) ends the smoke test through the same close sequence, so
 * the agent's processes and the per-run root go too; then the CLI dies of that signal.
 */
function stopOnSignals(): {interrupted: Promise<never>; dispose(): void; reraise(): void} {
  let received: NodeJS.Signals | undefined
  let interrupt: (signal: NodeJS.Signals) => void = () => {}
  const interrupted = new Promise<never>((_, reject) => {
    interrupt = (signal) => {
      received ??= signal
      reject(new Failure('crashed', `interrupted by ${signal}`))
    }
  })
  interrupted.catch(() => {})
  for (const signal of STOP_SIGNALS) process.on(signal, interrupt)
  return {
    interrupted,
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, interrupt)
    },
    reraise: () => {
      if (received && process.listenerCount(received) === 0) process.kill(process.pid, received)
    },
  }
}

/** The clean close: stdin closed, then SIGTERM and SIGKILL after the grace; recorded in the report. */
async function closeAgent(guest: GuestProcess, timeouts: AgentTimeouts, report: AgentReport): Promise<void> {
  const t = performance.now()
  // What the agent started: path-mapped, no pid namespace ends with the run and takes these
  // along, so whatever of them still runs once the agent is gone is killed below.
  const started = guest.child.pid === undefined ? new Map() : await descendantsOf(guest.child.pid)
  guest.stdin?.end()
  const grace = delay(Math.min(500, timeouts.killAfter))
  const exitedAlone = await Promise.race([guest.exited.then(() => true), grace.promise.then(() => false)])
  grace.cancel()
  const how = exitedAlone ? 'exited' : await guest.terminate(timeouts.killAfter)
  report.exit = await guest.exited
  killAll(started)
  report.close = {how, ms: since(t)}
  report.steps.push({
    step: 'close',
    ms: report.close.ms,
    ok: true,
    detail: how === 'exited' ? 'exited on stdin close' : how,
  })
  report.stderrTail = guest.stderrTail()
}

/** The CLI's exit code of an outcome. */
function exitCodeFor(outcome: AgentOutcome): number {
  return outcome === 'ok'
    ? AGENT_EXIT.ok
    : outcome === 'protocol-error'
      ? AGENT_EXIT.protocolError
      : outcome === 'timeout'
        ? AGENT_EXIT.timeout
        : AGENT_EXIT.crashed
}
