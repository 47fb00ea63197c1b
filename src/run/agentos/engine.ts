import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {AgentosError} from '../../errors.js'
import {isPosixEnvName} from '../../format/paths.js'
import {detectHeader, type HeaderKind} from '../../format/header.js'
import type {Engine, EngineCommandRun, EngineOptions} from '../engine.js'
import {parseEnvPairs} from '../vm/env-pairs.js'
import {AGENT_EXIT, RUN_EXIT, runError} from '../errors.js'
import {runDriver, type DriverOutcome} from './client.js'
import type {DriverRequest} from './driver.js'
import {resolveRuntime, type ResolvedRuntime, type RuntimeSource} from '../../runtime/resolve.js'

/** Settings only the real runtime has. */
export interface AgentosSettings {
  /** `--runtime <dir>`. */
  runtime?: string
  /** The Node.js that runs the driver. */
  node: () => string
  /** Show the runtime's log lines. */
  verbose?: boolean
  /** Where the project is (the runtime it depends on is preferred); default process.cwd(). */
  cwd?: string
}

/** The runtime a result came from. */
export interface RuntimeInfo {
  version: string
  source: RuntimeSource
  reason: string
  packageDir: string
}

/** What every document of the real engine carries. */
interface RuntimeDocument {
  engine: 'agentos'
  runtimeVersion: string
  runtime: RuntimeInfo
}

/** A command run in the real VM: the emulation's document, less what only an emulation has. */
export interface RuntimeCommandRun extends EngineCommandRun, RuntimeDocument {
  /** The packages as the runtime mounted them (directories and `.aospkg` files). */
  packages: string[]
  timings: {
    resolve: number
    start: number
    import: number
    create: number
    run: number
    dispose: number
    total: number
  }
}

/** `--which` in the real VM: what `command -v` answers there, and the file's header. */
export interface RuntimeWhich extends RuntimeDocument {
  command: string
  found: boolean
  /** The guest's PATH. */
  path: string[]
  /** What `command -v` printed (a path, or a shell builtin's name). */
  vmPath?: string
  /** `ls -l` of it: the link in /opt/agentos/bin and where it points. */
  listing?: string
  /** The package that lists the command, when one does. */
  package?: string
  kind?: HeaderKind
  description?: string
  exitCode: number
}

/** The real VM without a command: its software, agents, environment and working directory. */
export interface RuntimeVmDescription extends RuntimeDocument {
  packages: Array<{name: string; commands: string[]}>
  agents: Array<{id: string; installed: boolean}>
  env: Record<string, string>
  cwd: string
}

/** One step of an agent session in the real runtime. */
export interface RuntimeAgentStep {
  step: string
  ms: number
  ok: boolean
  detail?: string
}

/** `--agent` in the real runtime: a session opened through its session API. */
export interface RuntimeAgentReport extends RuntimeDocument {
  outcome: 'ok' | 'protocol-error' | 'timeout' | 'crashed'
  exitCode: number
  agent: {name: string}
  agentInfo?: {name?: string; version?: string; title?: string}
  agentCapabilities?: unknown
  sessionId?: string
  session?: unknown
  steps: RuntimeAgentStep[]
  prompt?: {text: string; stopReason?: string; reply: string}
  error?: {message: string}
  stderrTail: string
  timings: {resolve: number; start: number; create: number; dispose: number; total: number}
}

/** The real engine's results. */
export interface AgentosResults {
  describe: RuntimeVmDescription
  which: RuntimeWhich
  exec: RuntimeCommandRun
  agent: RuntimeAgentReport
}

const round = (ms: number) => Math.round(ms * 10) / 10

/**
 * The real agentOS runtime as an {@link Engine}. Each operation resolves the runtime
 * (src/core/runtime/resolve.ts), starts the driver (src/core/runtime/driver.ts) in a child Node.js,
 * has it create one VM with the packages as `software`, do the operation and dispose of the VM.
 */
export function createAgentosEngine(settings: AgentosSettings): Engine<AgentosResults> {
  async function prepare(options: EngineOptions) {
    const t = performance.now()
    if (options.inputs.length === 0) {
      throw runError('ERR_AGENTOS_RUN_NO_PACKAGE', 'no package given', {
        hint: 'Pass at least one package directory or software module: run --engine agentos ./my-tool-package -- my-tool',
        exitCode: 2,
      })
    }
    const env = parseEnvPairs(options.env ?? [])
    const runtime = await resolveRuntime({runtime: settings.runtime, cwd: settings.cwd})
    const {inputPackagePaths} = await import('../vm/inputs.js')
    const packages = await inputPackagePaths(options.inputs, options.baseDir)
    await checkMountable(packages)
    return {runtime, packages, env, resolveMs: round(performance.now() - t), started: t}
  }

  const doc = (runtime: ResolvedRuntime): RuntimeDocument => ({
    engine: 'agentos',
    runtimeVersion: runtime.version,
    runtime: {
      version: runtime.version,
      source: runtime.source,
      reason: runtime.reason,
      packageDir: runtime.packageDir,
    },
  })

  async function drive(
    request: Omit<DriverRequest, 'entry'>,
    runtime: ResolvedRuntime,
    extra: Partial<Parameters<typeof runDriver>[1]> = {},
  ): Promise<DriverOutcome & {result: Record<string, unknown>}> {
    const outcome = await runDriver(
      {...request, entry: runtime.entry},
      {node: settings.node(), verbose: settings.verbose, ...extra},
    )
    if (outcome.fail) throw failure(outcome, runtime)
    return outcome as DriverOutcome & {result: Record<string, unknown>}
  }

  return {
    name: 'agentos',

    async exec(options) {
      const {runtime, packages, env, resolveMs, started} = await prepare(options)
      let stdout = ''
      let stderr = ''
      const outcome = await drive(
        {
          op: 'exec',
          packages,
          env,
          cwd: options.cwd,
          command: options.command,
          args: options.args,
          timeoutMs: options.timeoutMs,
          stdin: !process.stdin.isTTY,
        },
        runtime,
        {
          stdin: !process.stdin.isTTY,
          onEvent: (event) => {
            if (event.type !== 'stdout' && event.type !== 'stderr') return
            const bytes = Buffer.from(event.data, 'base64')
            if (options.capture) {
              if (event.type === 'stdout') stdout += bytes.toString('utf8')
              else stderr += bytes.toString('utf8')
            } else (event.type === 'stdout' ? process.stdout : process.stderr).write(bytes)
          },
        },
      )
      const result = outcome.result as {
        exit: {outcome: string; exitCode?: number; signal?: string}
        timedOut: boolean
        rejected?: {kind: string; message: string}
        timings: {run: number}
      }
      if (result.rejected) {
        const notFound = /command not found/.test(result.rejected.message)
        throw runError(
          notFound ? 'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND' : 'ERR_AGENTOS_RUN_CANNOT_EXECUTE',
          `the agentOS runtime refused to start ${options.command}: ${result.rejected.kind}: ${result.rejected.message}`,
          {
            hint: notFound
              ? `See what the VM has: run --engine agentos <packages…> --which ${options.command}`
              : 'Run again with --verbose to see the runtime log.',
            exitCode: notFound ? RUN_EXIT.notFound : RUN_EXIT.cannotExecute,
          },
        )
      }
      if (result.timedOut)
        options.note?.(`run: ${options.command} ran past --timeout ${options.timeoutMs} ms and was stopped`)
      const exitCode = result.timedOut
        ? RUN_EXIT.timeout
        : outcome.signal
          ? 128 + signalNumber(outcome.signal)
          : (result.exit.exitCode ?? (result.exit.signal ? 128 + signalNumber(result.exit.signal) : 1))
      return {
        ...doc(runtime),
        exitCode,
        ...(options.capture ? {stdout, stderr} : {}),
        timedOut: result.timedOut,
        argv: [options.command, ...options.args],
        packages,
        timings: {
          resolve: resolveMs,
          start: outcome.phases.start ?? 0,
          import: outcome.phases.import ?? 0,
          create: outcome.phases.create ?? 0,
          run: result.timings.run,
          dispose: outcome.phases.dispose ?? 0,
          total: round(performance.now() - started),
        },
      }
    },

    async which(options) {
      const {runtime, packages, env} = await prepare(options)
      const outcome = await drive(
        {op: 'which', packages, env, cwd: options.cwd, command: options.command},
        runtime,
      )
      const r = outcome.result as {
        out: string
        exitCode: number
        head?: string
        software: Array<{packageName: string; commands: string[]}>
      }
      const path = (/^PATH=(.*)$/m.exec(r.out)?.[1] ?? '').split(':').filter(Boolean)
      const vmPath = /^FOUND=(.*)$/m.exec(r.out)?.[1]
      const listing = r.out
        .split('\n')
        .find((line) => line !== '' && !line.startsWith('PATH=') && !line.startsWith('FOUND='))
      const name = options.command.split('/').pop()!
      const header = r.head ? detectHeader(Buffer.from(r.head, 'base64')) : undefined
      const found = vmPath !== undefined
      return {
        result: {
          ...doc(runtime),
          command: options.command,
          found,
          path,
          vmPath,
          listing,
          package: r.software.find((s) => s.commands.includes(name))?.packageName,
          kind: header?.kind,
          description: header?.shebang
            ? `#!${header.shebang.interpreter}${header.shebang.argument ? ` ${header.shebang.argument}` : ''}`
            : header?.wasmLayer
              ? `WebAssembly ${header.wasmLayer} module`
              : undefined,
          exitCode: found ? 0 : RUN_EXIT.notFound,
        },
        exitCode: found ? 0 : RUN_EXIT.notFound,
      }
    },

    async describe(options) {
      const {runtime, packages, env} = await prepare(options)
      const outcome = await drive({op: 'describe', packages, env, cwd: options.cwd}, runtime)
      const r = outcome.result as {
        software: Array<{packageName: string; commands: string[]}>
        agents: Array<{id: string; installed: boolean}>
        probe: {out: string}
      }
      const [cwd = '', ...lines] = r.probe.out.split('\n')
      const vmEnv: Record<string, string> = {}
      for (const line of lines) {
        const eq = line.indexOf('=')
        if (eq > 0 && isPosixEnvName(line.slice(0, eq))) vmEnv[line.slice(0, eq)] = line.slice(eq + 1)
      }
      return {
        result: {
          ...doc(runtime),
          packages: r.software.map((s) => ({name: s.packageName, commands: s.commands})),
          agents: r.agents,
          env: Object.fromEntries(Object.entries(vmEnv).sort(([a], [b]) => (a < b ? -1 : 1))),
          cwd,
        },
        exitCode: 0,
      }
    },

    async agentSession(options) {
      const {runtime, packages, env, resolveMs, started} = await prepare(options)
      if (options.args.length > 0) {
        options.note?.(
          'WARN_AGENTOS_RUNTIME_AGENT_ARGS: the runtime launches the agent with its own launchArgs; the arguments after -- are not passed',
        )
      }
      const outcome = await drive(
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
      const r = outcome.result as {
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
      if (r.pick) throw pickError(r.pick)
      const outcomeName: RuntimeAgentReport['outcome'] = !r.error
        ? 'ok'
        : r.error.timeout
          ? 'timeout'
          : (r.exits?.length ?? 0) > 0
            ? 'crashed'
            : 'protocol-error'
      const exitCode = {
        ok: AGENT_EXIT.ok,
        'protocol-error': AGENT_EXIT.protocolError,
        timeout: AGENT_EXIT.timeout,
        crashed: AGENT_EXIT.crashed,
      }[outcomeName]
      return {
        result: {
          ...doc(runtime),
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
    },
  }
}

/**
 * The runtime mounts a package directory only when it holds `agentos-package.json` (or a
 * `package.aospkg`); said up front with the file named, instead of the runtime's error after a VM
 * start. The emulation also takes a bare `package.json`, which is one of its divergences.
 */
async function checkMountable(packages: string[]): Promise<void> {
  for (const dir of packages) {
    const info = await stat(dir).catch(() => undefined)
    if (!info) {
      throw runError('ERR_AGENTOS_RUN_PACKAGE_NOT_FOUND', `${dir} does not exist`, {
        hint: 'Pass a package directory, an .aospkg archive or a software module.',
        path: dir,
      })
    }
    if (!info.isDirectory()) continue
    const has = async (name: string) =>
      (await stat(join(dir, name)).catch(() => undefined))?.isFile() === true
    if (!(await has('agentos-package.json')) && !(await has('package.aospkg'))) {
      throw runError(
        'ERR_AGENTOS_RUNTIME_PACKAGE_UNSUPPORTED',
        `${join(dir, 'agentos-package.json')} is missing, and the agentOS runtime mounts no package directory without it`,
        {
          hint: 'Write {"name": …, "version": …} there (pack and assemble-wasm do), or pass the package as an .aospkg.',
          path: join(dir, 'agentos-package.json'),
        },
      )
    }
  }
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

/** The coded error for a driver that reported a failure, by the stage it failed in. */
function failure(outcome: DriverOutcome, runtime: ResolvedRuntime): AgentosError {
  const fail = outcome.fail!
  const details = {stage: fail.stage, name: fail.name, code: fail.code, logTail: outcome.logTail}
  if (fail.stage === 'load') {
    return new AgentosError(
      'ERR_AGENTOS_RUNTIME_LOAD_FAILED',
      `cannot load the agentOS runtime ${runtime.version} from ${runtime.entry}: ${fail.message}`,
      {
        hint: `Reinstall it (agentos-toolchain runtime install --force) or pick another (--runtime <dir>); it was chosen from ${runtime.reason}.`,
        path: runtime.entry,
        details,
      },
    )
  }
  return runError(
    fail.stage === 'create' ? 'ERR_AGENTOS_RUNTIME_VM_FAILED' : 'ERR_AGENTOS_RUNTIME_FAILED',
    `the agentOS runtime ${runtime.version} failed (${fail.stage}): ${fail.message.split('\n')[0]}`,
    {hint: 'Run again with --verbose to see the runtime log.', details},
  )
}

const SIGNALS: Record<string, number> = {SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15}
const signalNumber = (signal: string) => SIGNALS[signal] ?? 1
