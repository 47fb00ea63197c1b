import {randomUUID} from 'node:crypto'
import {constants} from 'node:fs'
import {lstat, mkdir, open, readFile, readlink} from 'node:fs/promises'
import {dirname, posix} from 'node:path'
import {Writable} from 'node:stream'
import {StringDecoder} from 'node:string_decoder'
import {AGENT_EXIT, runError} from '../../errors.js'
import {openSession, planProcess, type VmSession} from '../process/exec.js'
import type {RunPackage} from '../../vm/mount.js'
import {assertRunnable, prepareVm, type RunIsolation, type RunOptions} from '../run.js'
import {resolveCommand} from '../resolve.js'
import {detectIsolation} from '../process/sandbox.js'
import {
  delay,
  descendantsOf,
  exitCodeOf,
  type GuestExit,
  type GuestProcess,
  killAll,
  startGuest,
} from '../process/spawn.js'
import {AGENTOS_BIN, AGENTOS_ROOT} from '../../vm/vm.js'

/** Time limits of the smoke test, in milliseconds (0: none). */
export interface AgentTimeouts {
  initialize: number
  session: number
  prompt: number
  /** Grace between SIGTERM and SIGKILL when closing. */
  killAfter: number
}

/** The runtime's limits: initialize 10 s, session/new 30 s, no limit on a prompt, SIGKILL after 5 s. */
export const DEFAULT_AGENT_TIMEOUTS: AgentTimeouts = {
  initialize: 10_000,
  session: 30_000,
  prompt: 0,
  killAfter: 5000,
}

/** How the smoke test ended. */
export type AgentOutcome = 'ok' | 'protocol-error' | 'timeout' | 'crashed'

/** One step of the smoke test and the time it took. */
export interface AgentStep {
  step: 'spawn' | 'initialize' | 'session/new' | 'session/prompt' | 'close'
  ms: number
  ok: boolean
  detail?: string
}

/** What `run --agent` reports. */
export interface AgentReport {
  outcome: AgentOutcome
  /** The CLI's exit code for this outcome (0 ok, 3 protocol error, 4 timeout, 5 crashed). */
  exitCode: number
  agent: {name: string; version?: string; dir: string; acpEntrypoint: string; argv: string[]}
  isolation: RunIsolation
  isolationReason?: string
  steps: AgentStep[]
  protocolVersion?: number
  agentInfo?: {name?: string; version?: string; title?: string}
  agentCapabilities?: unknown
  authMethods?: Array<{id: string; name?: string; description?: string}>
  sessionId?: string
  prompt?: {text: string; stopReason?: string; updates: unknown[]; reply: string}
  /** What went wrong, for every outcome but ok. */
  error?: {message: string; code?: number; data?: unknown; line?: string}
  /** The end of the agent's stderr (always kept; shown on failure). */
  stderrTail: string
  exit?: GuestExit
  close?: {how: 'exited' | 'SIGTERM' | 'SIGKILL'; ms: number}
}

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

class Failure extends Error {
  constructor(
    readonly outcome: Exclude<AgentOutcome, 'ok'>,
    message: string,
    readonly extra: {code?: number; data?: unknown; line?: string} = {},
  ) {
    super(message)
  }
}

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
  // A signal to the CLI (Ctrl-C, a kill) ends the smoke test through the same close sequence, so
  // the agent's processes and the per-run root go too; then the CLI dies of that signal.
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
    await Promise.race([handshake(guest, session, options, timeouts, report, terminals), interrupted])
  } catch (error) {
    if (!(error instanceof Failure)) throw error
    report.outcome = error.outcome
    report.error = {message: error.message, ...error.extra}
  } finally {
    for (const terminal of terminals.values()) await terminal.guest.terminate(500)
    if (guest) {
      const t = performance.now()
      // What the agent started: path-mapped, no pid namespace ends with the run and takes these
      // along, so whatever of them still runs once the agent is gone is killed below.
      const started = guest.child.pid === undefined ? [] : await descendantsOf(guest.child.pid)
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
    await session.root.remove()
    for (const signal of STOP_SIGNALS) process.off(signal, interrupt)
  }
  if (received && process.listenerCount(received) === 0) process.kill(process.pid, received)
  report.exitCode =
    report.outcome === 'ok'
      ? AGENT_EXIT.ok
      : report.outcome === 'protocol-error'
        ? AGENT_EXIT.protocolError
        : report.outcome === 'timeout'
          ? AGENT_EXIT.timeout
          : AGENT_EXIT.crashed
  return report
}

/** Signals that stop a smoke test (and then the CLI) instead of killing the CLI at once. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** The longest stdout line (one JSON-RPC message) the client takes: 64 Mi characters. */
const MAX_LINE = 64 * 1024 * 1024

const since = (t: number) => Math.round((performance.now() - t) * 10) / 10

async function handshake(
  guest: GuestProcess,
  session: VmSession,
  options: AgentRunOptions,
  timeouts: AgentTimeouts,
  report: AgentReport,
  terminals: Map<string, Terminal>,
): Promise<void> {
  const acp = await import('@agentclientprotocol/sdk')
  const {methods} = acp

  // stdout is reserved for the protocol: the first line that is not JSON-RPC is a protocol error,
  // reported at once instead of after a timeout.
  let violation: (failure: Failure) => void = () => {}
  const violated = new Promise<never>((_, reject) => (violation = reject))
  violated.catch(() => {})
  const encoder = new TextEncoder()
  let cancelled = false
  let truncated: string | undefined
  const readable = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true
    },
    start(controller) {
      const decoder = new StringDecoder('utf8')
      // The unfinished line, in pieces: only new text is searched for a newline, so a long line
      // costs its length once, not once per chunk.
      let pieces: string[] = []
      let pending = 0
      let overflow = false
      const line = (text: string) => {
        if (cancelled || text.trim() === '') return
        let message: unknown
        try {
          message = JSON.parse(text)
        } catch {
          message = undefined
        }
        if (
          typeof message !== 'object' ||
          message === null ||
          (message as {jsonrpc?: unknown}).jsonrpc !== '2.0'
        ) {
          violation(
            new Failure('protocol-error', 'the agent wrote something that is not JSON-RPC 2.0 to stdout', {
              line: text.slice(0, 200),
            }),
          )
          return
        }
        controller.enqueue(encoder.encode(`${text}\n`))
      }
      guest.stdout!.on('data', (chunk: Buffer) => {
        if (overflow) return
        let text = decoder.write(chunk)
        let newline: number
        while ((newline = text.indexOf('\n')) >= 0) {
          line(pieces.join('') + text.slice(0, newline))
          pieces = []
          pending = 0
          text = text.slice(newline + 1)
        }
        if (text === '') return
        pieces.push(text)
        pending += text.length
        if (pending > MAX_LINE) {
          // Kept no further: a message this long is not one the client could take anyway.
          overflow = true
          violation(
            new Failure(
              'protocol-error',
              `the agent wrote a line of more than ${MAX_LINE} characters to stdout`,
              {
                line: pieces[0]!.slice(0, 200),
              },
            ),
          )
          pieces = []
        }
      })
      guest.stdout!.on('end', () => {
        if (overflow) return
        // An unfinished last line is what an agent dying mid-write leaves: the exit, reported as
        // a crash, is the failure, not the fragment (kept for the report).
        const rest = pieces.join('') + decoder.end()
        if (rest.trim() !== '' && !isJson(rest)) truncated = rest.slice(0, 200)
        else line(rest)
        if (!cancelled) controller.close()
      })
    },
  })

  const updates: unknown[] = []
  let reply = ''
  const app = acp
    .client({name: 'agentos-toolchain'})
    .onNotification(methods.client.session.update, ({params}) => {
      updates.push(params.update)
      if (params.update.sessionUpdate === 'agent_message_chunk' && params.update.content.type === 'text') {
        reply += params.update.content.text
      }
      options.onUpdate?.(params.update as {sessionUpdate: string})
    })
    .onRequest(methods.client.session.requestPermission, ({params}) => {
      // A smoke test has nobody to ask: allow once (the guest is confined to the VM's writable layer).
      const option =
        params.options.find((o) => o.kind === 'allow_once') ??
        params.options.find((o) => o.kind === 'allow_always') ??
        params.options[0]
      return option
        ? {outcome: {outcome: 'selected', optionId: option.optionId}}
        : {outcome: {outcome: 'cancelled'}}
    })
    .onRequest(methods.client.fs.readTextFile, async ({params}) => {
      const file = await vmFile(session, params.path)
      let content = await readFile(file.host, 'utf8')
      if (params.line || params.limit) {
        const lines = content.split('\n')
        const first = Math.max(0, (params.line ?? 1) - 1)
        content = lines.slice(first, params.limit ? first + params.limit : undefined).join('\n')
      }
      return {content}
    })
    .onRequest(methods.client.fs.writeTextFile, async ({params}) => {
      const file = await vmFile(session, params.path)
      if (!file.writable)
        throw new acp.RequestError(-32603, `${params.path} is on a read-only mount of the VM`)
      await mkdir(dirname(file.host), {recursive: true})
      // Every link on the way was followed inside the VM: the file itself must not be one.
      const handle = await open(
        file.host,
        constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
        0o644,
      )
      try {
        await handle.writeFile(params.content)
      } finally {
        await handle.close()
      }
      return {}
    })
    .onRequest(methods.client.terminal.create, async ({params}) => {
      const id = `term-${randomUUID()}`
      terminals.set(id, await startTerminal(session, params))
      return {terminalId: id}
    })
    .onRequest(methods.client.terminal.output, ({params}) => {
      const terminal = terminalOf(terminals, params.terminalId)
      return {output: terminal.output, truncated: terminal.truncated, exitStatus: terminal.exitStatus ?? null}
    })
    .onRequest(methods.client.terminal.waitForExit, async ({params}) => {
      const terminal = terminalOf(terminals, params.terminalId)
      await terminal.guest.exited
      return terminal.exitStatus!
    })
    .onRequest(methods.client.terminal.kill, async ({params}) => {
      await terminalOf(terminals, params.terminalId).guest.terminate(1000)
      return {}
    })
    .onRequest(methods.client.terminal.release, async ({params}) => {
      const terminal = terminals.get(params.terminalId)
      terminals.delete(params.terminalId)
      if (terminal) await terminal.guest.terminate(1000)
      return {}
    })
  const connection = app.connect(acp.ndJsonStream(Writable.toWeb(guest.stdin!), readable))

  const crashed = guest.exited.then((exit) => {
    throw truncated === undefined
      ? new Failure('crashed', `the agent exited (${describeExit(exit)}) before answering`)
      : new Failure('crashed', `the agent exited (${describeExit(exit)}) in the middle of a message`, {
          line: truncated,
        })
  })
  crashed.catch(() => {})

  const step = async <T>(
    name: AgentStep['step'],
    timeoutMs: number,
    run: (signal: AbortSignal) => Promise<T>,
  ) => {
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

  const options_ = {stopWaitingOnCancel: true}
  try {
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
        {cwd: session.vm.cwd, mcpServers: []},
        {...options_, cancellationSignal: signal},
      ),
    )
    if (typeof created.sessionId !== 'string' || created.sessionId === '') {
      throw new Failure('protocol-error', 'session/new returned no sessionId')
    }
    report.sessionId = created.sessionId
    if (options.prompt !== undefined) {
      const text = options.prompt
      report.prompt = {text, updates, reply: ''}
      const answer = await step('session/prompt', timeouts.prompt, (signal) =>
        connection.agent.request(
          methods.agent.session.prompt,
          {sessionId: created.sessionId, prompt: [{type: 'text', text}]},
          {...options_, cancellationSignal: signal},
        ),
      )
      report.prompt.stopReason = answer.stopReason
      report.prompt.reply = reply
    }
  } finally {
    connection.close()
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

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

function describeExit(exit: GuestExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exitCodeOf(exit)}`
}

/**
 * Where a VM path of an agent's fs request lives on the host, and whether the VM may write there:
 * packages (read-only), the rest of /opt/agentos (read-only, like its mount), overlays and
 * everything else of the writable root, or the host's read-only system directories. Links are
 * followed as the VM would (an absolute target from the VM's /, `..` stopping there), never on
 * the host: this client is a host process, and a link the guest made in its root must not lead it
 * to host files the guest cannot see.
 */
async function vmFile(session: VmSession, vmPath: string): Promise<{host: string; writable: boolean}> {
  if (!vmPath.startsWith('/')) throw new Error(`${vmPath} is not an absolute path`)
  return hostOf(session, await resolveVmPath(session, vmPath))
}

/** The VM path `vmPath` names once every link in it is followed inside the VM. */
async function resolveVmPath(session: VmSession, vmPath: string): Promise<string> {
  let pending = vmPath.split('/').filter(Boolean)
  let resolved = '/'
  let links = 0
  while (pending.length > 0) {
    const name = pending.shift()!
    if (name === '.') continue
    if (name === '..') {
      resolved = posix.dirname(resolved)
      continue
    }
    const next = posix.join(resolved, name)
    const host = hostOf(session, next).host
    const info = await lstat(host).catch(() => undefined)
    if (!info?.isSymbolicLink()) {
      resolved = next
      continue
    }
    if (++links > 40) throw new Error(`${vmPath}: too many levels of symbolic links`)
    const target = await readlink(host)
    if (target.startsWith('/')) resolved = '/'
    pending = [...target.split('/').filter(Boolean), ...pending]
  }
  return resolved
}

/** The host path of a VM path without links (see {@link vmFile}). */
function hostOf(session: VmSession, path: string): {host: string; writable: boolean} {
  const {vm, root} = session
  for (const pkg of vm.packages) {
    const mount = `${AGENTOS_ROOT}/${pkg.name}`
    if (path === mount || path.startsWith(`${mount}/`))
      return {host: pkg.dir + path.slice(mount.length), writable: false}
  }
  if (path === AGENTOS_ROOT || path.startsWith(`${AGENTOS_ROOT}/`)) {
    return {host: root.hostPath(path), writable: false}
  }
  if (vm.overlays.some((o) => path === o.target || path.startsWith(`${o.target}/`))) {
    return {host: root.hostPath(path), writable: true}
  }
  if (/^\/(usr|bin|sbin|lib|lib32|lib64|libx32|etc)(\/|$)/.test(path)) return {host: path, writable: false}
  return {host: root.hostPath(path), writable: true}
}

interface Terminal {
  guest: GuestProcess
  output: string
  truncated: boolean
  exitStatus?: {exitCode: number | null; signal: string | null}
}

function terminalOf(terminals: Map<string, Terminal>, id: string): Terminal {
  const terminal = terminals.get(id)
  if (!terminal) throw new Error(`unknown terminal ${id}`)
  return terminal
}

/** An ACP terminal: a command run in the same VM, its output kept up to the requested limit. */
async function startTerminal(
  session: VmSession,
  params: {
    command: string
    args?: string[]
    env?: Array<{name: string; value: string}>
    outputByteLimit?: number | null
  },
): Promise<Terminal> {
  const resolution = await resolveCommand(session.vm, params.command)
  assertRunnable(resolution)
  const env = {...session.vm.env, ...Object.fromEntries((params.env ?? []).map((e) => [e.name, e.value]))}
  const plan = planProcess(session, resolution, params.args ?? [], env)
  const guest = await startGuest({
    file: plan.file,
    args: plan.args,
    env: plan.env,
    cwd: plan.cwd,
    infoFd: plan.infoFd,
    stdio: 'pipe',
  })
  guest.stdin?.end()
  const terminal: Terminal = {guest, output: '', truncated: false}
  const limit = params.outputByteLimit ?? 1024 * 1024
  const append = (chunk: Buffer) => {
    terminal.output += chunk.toString('utf8')
    if (Buffer.byteLength(terminal.output) > limit) {
      terminal.output = Buffer.from(terminal.output).subarray(-limit).toString('utf8')
      terminal.truncated = true
    }
  }
  guest.stdout?.on('data', append)
  guest.child.stderr?.on('data', append)
  void guest.exited.then((exit) => {
    terminal.exitStatus = {exitCode: exit.code, signal: exit.signal}
  })
  return terminal
}
