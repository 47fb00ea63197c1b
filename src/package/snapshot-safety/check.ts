/**
 * Snapshot-safety check (spec "SDK snapshotting & snapshot-safety"): evaluates an agent package's
 * SDK module-init code in an isolated child Node process with traps on, and reports everything
 * that would not survive a V8 heap snapshot.
 *
 * What is evaluated — "the SDK's module-init code":
 * - `dist/sdk-snapshot.js` when the package ships it. That bundle (an IIFE publishing the SDK on a
 *   global) is exactly what the sidecar evaluates into its startup snapshot when `agent.snapshot`
 *   is true, so it is the only code whose init matters; it is evaluated as a CommonJS script, and
 *   additionally fed to `node --build-snapshot` to see whether a real startup snapshot builds.
 * - Otherwise the `bin` entry of `agent.acpEntrypoint`, imported as a module (not run as the main
 *   program: `require.main` is not it): the module graph a session loads before it speaks ACP.
 *   Without the bundle the runtime has nothing to snapshot (`snapshotBundlePath` is only set when
 *   the file exists), which is reported as a note.
 *
 * Which calls count: the first stack frame inside the package is blamed. Reads Node makes on the
 * package's behalf while loading modules, colouring console output or setting up debuglog are not
 * counted; reads through other built-ins are (`os.tmpdir()` reads `process.env.TMPDIR` and is
 * reported at the package line that called it). Timers, fds and promises count when they are still
 * pending once evaluation and its microtasks are done (a timer cleared or fired during init, a file
 * opened and closed, a promise that settled are fine); native addons, WebAssembly, sockets,
 * workers and the non-deterministic reads count whenever they happen. A native addon is never
 * loaded: its `require` gets empty exports.
 */
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {PackageModel} from '../analyze.js'
import type {Problem} from '../../errors.js'
import {MANIFEST_FILE} from '../../format/paths.js'
import {SNAPSHOT_BUNDLE_FILE} from '../../format/paths.js'
import type {PackageSnapshot} from '../snapshot.js'
import {hostNode} from '../../util/host-node.js'
import {PROBE_SOURCE} from './probe.js'

/** Package path of the snapshot bundle the sidecar evaluates into its V8 startup snapshot. */
export const SNAPSHOT_BUNDLE = SNAPSHOT_BUNDLE_FILE

/** How long the child may take to evaluate the SDK before it is killed (ms). */
export const SNAPSHOT_CHECK_TIMEOUT_MS = 10_000

/** One rule of the spec's snapshot-safety list. */
export type SnapshotRule =
  | 'NATIVE_ADDON'
  | 'WASM'
  | 'OPEN_FD'
  | 'SOCKET'
  | 'TIMER'
  | 'WORKER'
  | 'PENDING_PROMISE'
  | 'ENV_READ'
  | 'CWD_READ'
  | 'DATE_NOW'
  | 'MATH_RANDOM'
  | 'RANDOM_UUID'
  | 'CRYPTO_RANDOM'

const RULE_HINTS: Record<SnapshotRule, string> = {
  NATIVE_ADDON:
    'Load the addon lazily (inside a function called per session), or set agent.snapshot to false.',
  WASM: 'Compile and instantiate WebAssembly lazily, inside a function called per session.',
  OPEN_FD: 'Open files per session, or close them before module init ends.',
  SOCKET: 'Connect or listen per session, never at import time.',
  TIMER: 'Start timers per session, or clear them before module init ends.',
  WORKER: 'Start workers per session, never at import time.',
  PENDING_PROMISE: 'Do not start async work at import time; start it from a function called per session.',
  ENV_READ:
    'Read process.env when a session starts, not at import time: the snapshot would bake in the value.',
  CWD_READ: 'Read the working directory per session, not at import time.',
  DATE_NOW: 'Read the clock per session; a time taken at import time is frozen into the snapshot.',
  MATH_RANDOM: 'Draw random numbers per session; every session would start from the same value.',
  RANDOM_UUID: 'Make UUIDs per session; every session would share the one made at import time.',
  CRYPTO_RANDOM: 'Draw random bytes per session; every session would share the bytes drawn at import time.',
}

/** Stable problem code of a rule: `WARN_AGENTOS_SNAPSHOT_<RULE>`. */
export function snapshotRuleCode(rule: SnapshotRule): string {
  return `WARN_AGENTOS_SNAPSHOT_${rule}`
}

/** One violation: the rule, what was done, and the package frame that did it. */
export interface SnapshotFinding {
  rule: SnapshotRule
  code: string
  /** What the code did (`reads process.env.HOME`). */
  what: string
  /** Package-relative file of the frame that did it. */
  file: string
  line: number
  column: number
  function?: string
  /** Package frames from the culprit outwards (`file:line:col (fn)`), at most 8. */
  stack: string[]
}

/** The module-init code that was (or would be) evaluated. */
export interface SnapshotTarget {
  /** `bundle`: dist/sdk-snapshot.js; `entry`: the acpEntrypoint's bin file. */
  kind: 'bundle' | 'entry'
  /** Package-relative path. */
  file: string
  /** The acpEntrypoint command, for `entry`. */
  command?: string
}

/** How evaluating the target ended. */
export interface SnapshotEvaluation {
  status: 'ok' | 'threw' | 'uncaught' | 'exited' | 'timeout' | 'killed' | 'crashed'
  /** For `threw`/`uncaught`: the error; for `exited`: the exit code; for `crashed`: the log tail. */
  message?: string
  /** Package frame of a thrown error (`file:line:col`). */
  at?: string
}

/** Outcome of `node --build-snapshot` on the snapshot bundle. */
export interface SnapshotBuild {
  ok: boolean
  /** Size of the blob written, when it built. */
  bytes?: number
  /** First lines of stderr, when it failed. */
  stderr?: string[]
  exitCode?: number | null
  signal?: string | null
  timedOut?: boolean
}

/** Result of {@link checkSnapshotSafety}. */
export interface SnapshotCheckResult {
  /** Absent when the check was skipped (see the INFO problem). */
  target?: SnapshotTarget
  evaluation?: SnapshotEvaluation
  findings: SnapshotFinding[]
  build?: SnapshotBuild
  /** Everything above as validator problems (warnings, plus notes). */
  problems: Problem[]
}

/** Options of {@link checkSnapshotSafety}. */
export interface SnapshotCheckOptions {
  /** Kill the evaluating child after this many ms (default 10 000). */
  timeoutMs?: number
  /** Node.js to evaluate with (default: the CLI's own, or `node` on PATH in the single binary). */
  node?: string
  /** Also try `node --build-snapshot` on dist/sdk-snapshot.js when it exists (default true). */
  build?: boolean
}

interface ProbeReport {
  version: number
  outcome: {
    status: string
    name?: string
    message?: string
    code?: number | string
    called?: boolean
    ms?: number
    frames?: Array<{file: string; line: number; column: number}>
  }
  findings: Array<Omit<SnapshotFinding, 'code'>>
  /** Findings past the per-rule limit, counted by rule. */
  omitted?: Record<string, number>
}

const RULES = new Set<string>(Object.keys(RULE_HINTS))

const skipped = ({skip, path}: {skip: string; path?: string}): SnapshotCheckResult => ({
  findings: [],
  problems: [{code: 'INFO_AGENTOS_SNAPSHOT_SKIPPED', severity: 'info', path, message: skip}],
})

/**
 * Decides what {@link checkSnapshotSafety} evaluates for a package: its snapshot bundle, else the
 * acpEntrypoint's bin file; `{skip, path}` says why there is nothing to evaluate.
 */
export function snapshotTarget(
  snapshot: PackageSnapshot,
  model: PackageModel,
): SnapshotTarget | {skip: string; path?: string} {
  const entryField = `${MANIFEST_FILE}#agent.acpEntrypoint`
  if (snapshot.origin.type === 'aospkg' && snapshot.origin.member) {
    return {
      skip: `the snapshot check does not extract an .aospkg inside an npm tarball (${snapshot.origin.member}); validate the .aospkg itself`,
    }
  }
  const agent = model.manifest?.agent
  if (!agent)
    return {skip: 'the package has no agent block, so it has no SDK to snapshot', path: MANIFEST_FILE}
  if (snapshot.byPath.get(SNAPSHOT_BUNDLE)?.kind === 'file') return {kind: 'bundle', file: SNAPSHOT_BUNDLE}
  const command = model.commands.find((c) => c.name === agent.acpEntrypoint)
  if (!command) {
    return {
      skip: `agent.acpEntrypoint "${agent.acpEntrypoint}" is not a command of the package`,
      path: entryField,
    }
  }
  if (command.kind === 'missing' || command.kind === 'directory' || command.kind === 'symlink') {
    return {
      skip: `cannot evaluate agent.acpEntrypoint "${agent.acpEntrypoint}": its entry ${command.entry} is ${command.description}`,
      path: entryField,
    }
  }
  const shebang = command.header?.shebang
  const nodeScript =
    /\.(c|m)?js$/.test(command.entry) ||
    (command.kind === 'shebang' && /node/.test(`${shebang?.interpreter ?? ''} ${shebang?.argument ?? ''}`))
  if (!nodeScript || !['shebang', 'unknown'].includes(command.kind)) {
    return {
      skip: `agent.acpEntrypoint "${agent.acpEntrypoint}" (${command.entry}) is ${command.description}, not a Node.js program`,
      path: entryField,
    }
  }
  return {kind: 'entry', file: command.entry, command: command.name}
}

/**
 * Checks an agent package's SDK for snapshot safety: evaluates its module-init code (see the
 * module comment for which file) in a child Node process with traps on native addons,
 * WebAssembly, fds, sockets, timers, workers, pending promises and reads of the environment, cwd,
 * clock and random sources, and, when the package ships dist/sdk-snapshot.js, tries to build a V8
 * startup snapshot from it. Findings are warnings: the runtime falls back to per-session loading.
 *
 * Never throws for package content; a check that cannot run is reported as a warning.
 *
 * @throws AgentosError when the target cannot be read at all (as `readPackage`).
 */
export async function checkSnapshotSafety(
  packageDir: string,
  options: SnapshotCheckOptions = {},
): Promise<SnapshotCheckResult> {
  const [{readPackage}, {analyzePackage}] = await Promise.all([import('../read.js'), import('../analyze.js')])
  const snapshot = await readPackage(packageDir)
  const {model} = analyzePackage(snapshot)
  return checkPackageSnapshot(snapshot, model, options)
}

/** {@link checkSnapshotSafety} on a package already read and analyzed (what `validate` uses). */
export async function checkPackageSnapshot(
  snapshot: PackageSnapshot,
  model: PackageModel,
  options: SnapshotCheckOptions = {},
): Promise<SnapshotCheckResult> {
  const target = snapshotTarget(snapshot, model)
  if ('skip' in target) return skipped(target)
  // The check cannot run at all: one warning at the entry, and no findings.
  const cannotCheck = (message: string, hint: string): SnapshotCheckResult => ({
    target,
    findings: [],
    problems: [
      {code: 'WARN_AGENTOS_SNAPSHOT_CHECK_FAILED', severity: 'warning', path: target.file, message, hint},
    ],
  })
  let node: string
  try {
    node = options.node ?? hostNode()
  } catch (error) {
    return cannotCheck(
      `cannot check snapshot safety: ${(error as Error).message}`,
      'Install Node.js (>= 20) on PATH.',
    )
  }
  let files: {root: string; cleanup(): Promise<void>}
  try {
    files = await packageFiles(snapshot)
  } catch (error) {
    return cannotCheck(
      `cannot extract ${snapshot.origin.path} for the snapshot check: ${(error as Error).message}`,
      'Extract the archive and validate the package directory.',
    )
  }
  try {
    return await checkFiles(files.root, target, node, options)
  } finally {
    await files.cleanup()
  }
}

/**
 * The package as real files: a directory as it is; a tarball or an `.aospkg` extracted into a
 * temporary directory (evaluating code needs files on disk).
 */
async function packageFiles(snapshot: PackageSnapshot): Promise<{root: string; cleanup(): Promise<void>}> {
  const {origin} = snapshot
  if (origin.type === 'directory') return {root: origin.path, cleanup: async () => {}}
  const work = await mkdtemp(join(tmpdir(), 'agentos-snapshot-pkg-'))
  const cleanup = () => rm(work, {recursive: true, force: true})
  try {
    const root = join(work, 'package')
    if (origin.type === 'aospkg') {
      const {extractAospkg} = await import('../../archive/extract.js')
      await extractAospkg(origin.path, root)
      return {root, cleanup}
    }
    const {x} = await import('tar')
    await mkdir(root)
    const prefix = origin.prefix
    await x({
      file: origin.path,
      cwd: root,
      strict: true,
      preservePaths: false,
      strip: prefix ? prefix.split('/').length : 0,
      filter: (path) => {
        const clean = path.replace(/^\.\//, '')
        return !prefix || clean === prefix || clean.startsWith(`${prefix}/`)
      },
    })
    return {root, cleanup}
  } catch (error) {
    await cleanup()
    throw error
  }
}

async function checkFiles(
  root: string,
  target: SnapshotTarget,
  node: string,
  options: SnapshotCheckOptions,
): Promise<SnapshotCheckResult> {
  const [probe, build] = await Promise.all([
    runProbe(node, root, target, options.timeoutMs ?? SNAPSHOT_CHECK_TIMEOUT_MS),
    target.kind === 'bundle' && options.build !== false
      ? buildSnapshot(node, join(root, SNAPSHOT_BUNDLE), options.timeoutMs ?? SNAPSHOT_CHECK_TIMEOUT_MS)
      : undefined,
  ])
  const problems: Problem[] = []
  const what =
    target.kind === 'bundle' ? SNAPSHOT_BUNDLE : `${target.file} (agent.acpEntrypoint "${target.command}")`
  if (target.kind === 'entry') {
    problems.push({
      code: 'INFO_AGENTOS_SNAPSHOT_NO_BUNDLE',
      severity: 'info',
      path: SNAPSHOT_BUNDLE,
      message: `the package ships no ${SNAPSHOT_BUNDLE}, so the runtime has nothing to snapshot; checked the modules ${target.file} loads instead`,
    })
  }
  for (const finding of probe.findings) {
    // Line 0: an fd found open afterwards whose opening call was not traced; no frame to name.
    const where = finding.line ? `${finding.file}:${finding.line}:${finding.column}` : finding.file
    const via = finding.stack.length > 1 ? ` (called from ${finding.stack.slice(1, 4).join(' ← ')})` : ''
    problems.push({
      code: finding.code,
      severity: 'warning',
      path: where,
      message: `snapshot-unsafe module init: ${where}${finding.function ? ` in ${finding.function}()` : ''} ${finding.what}${via}`,
      hint: RULE_HINTS[finding.rule],
    })
  }
  for (const [rule, count] of Object.entries(probe.omitted ?? {})) {
    if (!RULES.has(rule) || !(count > 0)) continue
    problems.push({
      code: 'INFO_AGENTOS_SNAPSHOT_MORE',
      severity: 'info',
      path: target.file,
      message: `${count} more ${snapshotRuleCode(rule as SnapshotRule)} finding${count === 1 ? '' : 's'} not listed (at most 50 per rule)`,
    })
  }
  const evaluation = probe.evaluation
  if (evaluation.status === 'timeout' || evaluation.status === 'killed') {
    problems.push({
      code: 'WARN_AGENTOS_SNAPSHOT_EVAL_TIMEOUT',
      severity: 'warning',
      path: target.file,
      message: `evaluating ${what} did not finish within ${options.timeoutMs ?? SNAPSHOT_CHECK_TIMEOUT_MS} ms`,
      hint: 'Module init must finish without waiting on I/O or timers: defer that work to a function called per session.',
    })
  } else if (evaluation.status === 'crashed') {
    problems.push({
      code: 'WARN_AGENTOS_SNAPSHOT_CHECK_FAILED',
      severity: 'warning',
      path: target.file,
      message: `the snapshot check of ${what} stopped without a report${evaluation.message ? `: ${evaluation.message}` : ''}`,
      hint: 'Run the entry with node yourself to see what happens; it may crash the process at import time.',
    })
  } else if (evaluation.status !== 'ok') {
    problems.push({
      code: 'WARN_AGENTOS_SNAPSHOT_EVAL_FAILED',
      severity: 'warning',
      path: evaluation.at ?? target.file,
      message: `evaluating ${what} failed: ${evaluation.message}${evaluation.at ? ` (at ${evaluation.at})` : ''}`,
      hint: 'Module init must evaluate on its own, without a session: fix the error, or defer that code to a function.',
    })
  }
  if (build) {
    problems.push(
      build.ok
        ? {
            code: 'INFO_AGENTOS_SNAPSHOT_BUILD_OK',
            severity: 'info',
            path: SNAPSHOT_BUNDLE,
            message: `node --build-snapshot built a V8 startup snapshot from ${SNAPSHOT_BUNDLE} (${build.bytes} bytes)`,
          }
        : {
            code: 'WARN_AGENTOS_SNAPSHOT_BUILD_FAILED',
            severity: 'warning',
            path: SNAPSHOT_BUNDLE,
            message: `node --build-snapshot could not build a startup snapshot from ${SNAPSHOT_BUNDLE} (${
              build.timedOut
                ? 'timed out'
                : build.signal
                  ? `signal ${build.signal}`
                  : `exit ${build.exitCode}`
            })${build.stderr?.length ? `: ${build.stderr.join(' | ')}` : ''}`,
            hint: 'The bundle must be one self-contained script: no require of package files, nothing left running.',
          },
    )
  }
  if (problems.every((p) => p.severity === 'info') && evaluation.status === 'ok') {
    problems.push({
      code: 'INFO_AGENTOS_SNAPSHOT_CHECKED',
      severity: 'info',
      path: target.file,
      message: `evaluated ${what} in a child Node.js with snapshot traps on: nothing snapshot-unsafe found`,
    })
  }
  return {target, evaluation, findings: probe.findings, build, problems}
}

interface ProbeResult {
  evaluation: SnapshotEvaluation
  findings: SnapshotFinding[]
  omitted?: Record<string, number>
}

/** Runs the probe on `target` in a fresh temporary directory with an empty environment. */
async function runProbe(
  node: string,
  root: string,
  target: SnapshotTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const work = await mkdtemp(join(tmpdir(), 'agentos-snapshot-'))
  try {
    // Stack frames name real paths; the root must be one too for them to be recognised.
    root = await realpath(root)
    const probe = join(work, 'probe.cjs')
    const report = join(work, 'report.json')
    const log = join(work, 'output.log')
    await writeFile(probe, PROBE_SOURCE)
    const config = {
      root,
      entry: join(root, target.file),
      mode: target.kind === 'bundle' ? 'script' : 'module',
      report,
      // The probe stops itself a little before the parent would kill it, so a slow init still
      // gets its findings reported.
      deadlineMs: Math.max(100, timeoutMs - 1500),
    }
    const logFd = openSync(log, 'w')
    let exit: {code: number | null; signal: string | null; killed: boolean}
    try {
      exit = await runChild(node, [probe, JSON.stringify(config)], work, ['ignore', logFd, logFd], timeoutMs)
    } finally {
      closeSync(logFd)
    }
    const text = await readFile(report, 'utf8').catch(() => undefined)
    if (text === undefined) {
      const tail = (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-3)
        .join(' | ')
      return {
        evaluation: exit.killed
          ? {status: 'killed'}
          : {
              status: 'crashed',
              message: `${exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`}${tail ? `; ${tail}` : ''}`,
            },
        findings: [],
      }
    }
    return parseReport(JSON.parse(text) as ProbeReport)
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

function parseReport(report: ProbeReport): ProbeResult {
  const findings = report.findings
    .filter((f) => RULES.has(f.rule))
    .map((f) => ({...f, code: snapshotRuleCode(f.rule)}))
  const outcome = report.outcome
  const frame = outcome.frames?.[0]
  const at = frame ? `${frame.file}:${frame.line}${frame.column ? `:${frame.column}` : ''}` : undefined
  let evaluation: SnapshotEvaluation
  switch (outcome.status) {
    case 'ok':
      evaluation = {status: 'ok'}
      break
    case 'threw':
    case 'uncaught':
      evaluation = {
        status: outcome.status,
        message: `${outcome.status === 'uncaught' ? 'uncaught ' : ''}${outcome.name}: ${outcome.message}`,
        at,
      }
      break
    case 'exited':
      evaluation = {
        status: 'exited',
        message: outcome.called
          ? `module init ended the process (process.exit(${outcome.code}))`
          : 'top-level await never settled: the event loop ran dry while module init still waited on a promise nothing resolves',
      }
      break
    default:
      evaluation = {status: 'timeout'}
  }
  return {evaluation, findings, omitted: report.omitted}
}

/** Tries `node --snapshot-blob <tmp>/snap.blob --build-snapshot <bundle>` in a temporary dir. */
async function buildSnapshot(node: string, bundle: string, timeoutMs: number): Promise<SnapshotBuild> {
  const work = await mkdtemp(join(tmpdir(), 'agentos-snapshot-build-'))
  try {
    const blob = join(work, 'snap.blob')
    const stderr: Buffer[] = []
    const exit = await runChild(
      node,
      ['--snapshot-blob', blob, '--build-snapshot', bundle],
      work,
      ['ignore', 'ignore', 'pipe'],
      timeoutMs,
      stderr,
    )
    const size = await stat(blob).then(
      (s) => s.size,
      () => 0,
    )
    if (exit.code === 0 && size > 0) return {ok: true, bytes: size}
    const lines = Buffer.concat(stderr)
      .toString('utf8')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.trim() !== '' && !/^#\s*$/.test(l) && !isNodeNoise(l))
      .slice(0, 5)
    return {ok: false, stderr: lines, exitCode: exit.code, signal: exit.signal, timedOut: exit.killed}
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

const STDERR_LIMIT = 64 * 1024

function runChild(
  file: string,
  args: string[],
  cwd: string,
  stdio: Array<'ignore' | 'pipe' | number>,
  timeoutMs: number,
  stderr?: Buffer[],
): Promise<{code: number | null; signal: string | null; killed: boolean}> {
  return new Promise((resolve) => {
    // An empty environment: nothing of the caller's leaks into what the SDK could read.
    const child = spawn(file, args, {cwd, env: {}, stdio: stdio as never})
    let killed = false
    let kept = 0
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr && kept < STDERR_LIMIT) {
        stderr.push(chunk)
        kept += chunk.length
      }
    })
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', () => {
      clearTimeout(timer)
      resolve({code: null, signal: null, killed})
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, killed})
    })
  })
}

/**
 * Lines Node prints around a snapshot build that are not its outcome: the per-builtin "not yet
 * fully verified" warnings (a real SDK bundle gets one per builtin it requires), their follow-up
 * lines, and the internal frame printed above an uncaught rejection. Left in, they fill the five
 * lines reported and hide the error itself.
 */
function isNodeNoise(line: string): boolean {
  return (
    /^\(node:\d+\) Warning: It's not yet fully verified/.test(line) ||
    /^It may still work/.test(line) ||
    /^To request support for the module/.test(line) ||
    /^\(Use `node --trace-warnings/.test(line) ||
    /^node:internal\//.test(line) ||
    /^\s*triggerUncaughtException\(/.test(line) ||
    /^\s*\^+\s*$/.test(line)
  )
}
