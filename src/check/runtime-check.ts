import {AgentosError, type Problem} from '../errors.js'
import {sortProblems} from '../package/analyze.js'
import type {PackageModel} from '../package/model.js'
import {readPackage} from '../package/read.js'
import {packageVerdict, summarize, type ValidateOptions, type ValidationReport} from '../package/validate.js'
import {runDriver} from '../run/agentos/client.js'
import type {CommandLookup, SessionCheck} from '../run/agentos/driver-check.js'
import {failure, type AgentosSettings} from '../run/agentos/operation.js'
import {resolveRuntime, type ResolvedRuntime} from '../runtime/resolve.js'

// `validate --engine agentos`: the static verdict, then the real runtime's: one VM made with the
// package, every command looked up on its $PATH, and for an agent a session opened. What the
// runtime refuses becomes a problem carrying the runtime's own message.

/** The validate report, with the runtime that was asked. */
export interface RuntimeValidationReport extends ValidationReport {
  engine: 'agentos'
  runtime: {
    version: string
    source: ResolvedRuntime['source']
    reason: string
    /** Where each command resolved in the VM (absent when the VM was refused). */
    commands?: Array<{name: string; path?: string}>
    /** The agent's session, for an agent package whose VM was made. */
    session?: {agent?: string; opened: boolean}
  }
}

/** What the driver's `check` operation answers (src/run/agentos/driver-check.ts). */
interface CheckResult {
  commands: CommandLookup[]
  session?: SessionCheck
}

/** How long opening the agent's session may take (as `run --agent`'s --session-timeout default). */
const SESSION_TIMEOUT_MS = 30_000

/**
 * Validates `target` (a package directory or `.aospkg`) and checks it in the real agentOS runtime.
 *
 * @throws AgentosError `ERR_AGENTOS_RUNTIME_NOT_FOUND` (no runtime resolvable),
 *   `ERR_AGENTOS_RUNTIME_LOAD_FAILED`, `ERR_AGENTOS_RUNTIME_DRIVER_FAILED`,
 *   `ERR_AGENTOS_VALIDATE_ENGINE_TARGET` (a tarball: the runtime mounts directories and `.aospkg`s).
 */
export async function validateWithRuntime(
  target: string,
  settings: AgentosSettings,
  options: ValidateOptions = {},
): Promise<RuntimeValidationReport> {
  const runtime = await resolveRuntime({runtime: settings.runtime, cwd: settings.cwd})
  const snapshot = await readPackage(target)
  if (snapshot.origin.type === 'tarball' || snapshot.origin.member) {
    throw new AgentosError(
      'ERR_AGENTOS_VALIDATE_ENGINE_TARGET',
      `${target} is a tarball; the agentOS runtime mounts a package directory or an .aospkg`,
      {hint: 'Extract it (tar -xzf) and validate the package directory, or pass the .aospkg.', exitCode: 2},
    )
  }
  const {model, problems} = await packageVerdict(snapshot, options)
  const asked = await askRuntime(snapshot.origin.path, model, runtime, settings)
  problems.push(...asked.problems)
  sortProblems(problems)
  const {ok, summary} = summarize(problems, model, options.strict)
  return {
    ok,
    target: snapshot.origin.path,
    engine: 'agentos',
    runtime: {
      version: runtime.version,
      source: runtime.source,
      reason: runtime.reason,
      commands: asked.result?.commands.map((c) => ({name: c.name, path: c.path})),
      session: asked.result?.session && {agent: asked.result.session.agent, opened: asked.result.session.ok},
    },
    problems,
    summary,
  }
}

/** Asks the runtime (one driver, one VM) and turns what it refused into problems. */
async function askRuntime(
  packagePath: string,
  model: PackageModel,
  runtime: ResolvedRuntime,
  settings: AgentosSettings,
): Promise<{problems: Problem[]; result?: CheckResult}> {
  const agent = model.manifest?.agent !== undefined
  const outcome = await runDriver(
    {
      op: 'check',
      entry: runtime.entry,
      packages: [packagePath],
      commands: model.commands.map((c) => c.name),
      session: agent,
      agent: agent ? model.name : undefined,
      timeouts: {session: SESSION_TIMEOUT_MS},
    },
    {node: settings.node(), verbose: settings.verbose},
  )
  const version = runtime.version
  if (outcome.fail?.stage === 'create') {
    const refused: Problem = {
      code: 'ERR_AGENTOS_RUNTIME_VM_REFUSED',
      severity: 'error',
      path: 'agentos-package.json',
      message: `the agentOS runtime ${version} refused to create a VM with this package: ${outcome.fail.message}`,
      hint: 'Fix what the runtime names (a command also provided by the default software, a manifest it cannot read, …); run with --verbose to see its log.',
    }
    return {problems: [refused]}
  }
  if (outcome.fail) throw failure(outcome, runtime)
  const result = outcome.result as unknown as CheckResult
  const problems = result.commands.filter((c) => !c.found).map((c) => unresolved(c, model, version))
  if (result.session && !result.session.ok) problems.push(sessionFailed(result.session, model, version))
  return {problems, result}
}

function unresolved(lookup: CommandLookup, model: PackageModel, version: string): Problem {
  const entry = model.commands.find((c) => c.name === lookup.name)
  const name = lookup.name
  const link = `/opt/agentos/bin/${name}`
  let answer: string
  let hint: string
  if (lookup.exitCode !== 0 || !lookup.path) {
    answer = `found nothing on $PATH (exit ${lookup.exitCode}${lookup.stderr ? `: ${lookup.stderr}` : ''})`
    hint = `The runtime links each command at ${link}; check the bin map and that ${entry?.entry ?? 'the entry'} is in the package`
  } else if (!lookup.path.startsWith('/')) {
    answer = `answered "${lookup.path}", a builtin of the VM's shell: "${name}" in sh runs the builtin, not ${link}`
    hint = `Rename the command, or call it by its path ${link}`
  } else {
    answer = `answered ${lookup.path}, not ${link}: the package's link leads to nothing the shell can run`
    hint = `Check that ${entry?.entry ?? 'the entry'} is a file in the package`
  }
  return {
    code: 'ERR_AGENTOS_RUNTIME_COMMAND_UNRESOLVED',
    severity: 'error',
    path: model.binSource === 'aospkg' ? entry?.entry : `package.json#bin.${name}`,
    message: `in the agentOS runtime ${version}, "command -v ${name}" ${answer}`,
    hint: `${hint} (run --engine agentos <package> --which ${name} shows the VM's PATH).`,
  }
}

function sessionFailed(session: SessionCheck, model: PackageModel, version: string): Problem {
  const stderr = session.stderrTail
    ? `; the agent's stderr ends: ${session.stderrTail.trim().slice(-400)}`
    : ''
  return {
    code: 'ERR_AGENTOS_RUNTIME_SESSION_FAILED',
    severity: 'error',
    path: 'agentos-package.json#agent',
    message: `the agentOS runtime ${version} could not open a session with ${session.agent ? `agent "${session.agent}"` : `the agent of ${model.name ?? 'this package'}`}: ${session.error ?? 'unknown error'}${stderr}`,
    hint: `Run it to see the whole exchange: agentos-toolchain run --engine agentos <package> --agent --verbose${model.manifest?.agent?.snapshot ? ' (with agent.snapshot, the runtime loads the SDK from dist/sdk-snapshot.js)' : ''}.`,
  }
}
