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
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {PackageModel} from '../model.js'
import type {Problem} from '../../errors.js'
import {MANIFEST_FILE} from '../../format/paths.js'
import {SNAPSHOT_BUNDLE_FILE} from '../../format/paths.js'
import type {PackageSnapshot} from '../snapshot.js'
import {hostNode} from '../../util/host-node.js'
import {RULE_HINTS, RULES, type SnapshotRule, snapshotRuleCode} from './rules.js'
import {buildSnapshot, type ProbeResult, runProbe} from './run-probe.js'
import type {
  SnapshotBuild,
  SnapshotCheckOptions,
  SnapshotCheckResult,
  SnapshotEvaluation,
  SnapshotTarget,
} from './types.js'

/** Package path of the snapshot bundle the sidecar evaluates into its V8 startup snapshot. */
export const SNAPSHOT_BUNDLE = SNAPSHOT_BUNDLE_FILE

/** How long the child may take to evaluate the SDK before it is killed (ms). */
export const SNAPSHOT_CHECK_TIMEOUT_MS = 10_000

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
  const timeoutMs = options.timeoutMs ?? SNAPSHOT_CHECK_TIMEOUT_MS
  const [probe, build] = await Promise.all([
    runProbe(node, root, target, timeoutMs),
    target.kind === 'bundle' && options.build !== false
      ? buildSnapshot(node, join(root, SNAPSHOT_BUNDLE), timeoutMs)
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
  problems.push(...findingProblems(probe, target))
  const evaluation = probe.evaluation
  const failed = evaluationProblem(evaluation, target, what, timeoutMs)
  if (failed) problems.push(failed)
  if (build) problems.push(buildProblem(build))
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

/** A warning per finding, and a note per rule whose findings went past the probe's limit. */
function findingProblems(probe: ProbeResult, target: SnapshotTarget): Problem[] {
  const problems: Problem[] = []
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
  return problems
}

/** The warning for an evaluation that did not end well; none when it did. */
function evaluationProblem(
  evaluation: SnapshotEvaluation,
  target: SnapshotTarget,
  what: string,
  timeoutMs: number,
): Problem | undefined {
  if (evaluation.status === 'timeout' || evaluation.status === 'killed') {
    return {
      code: 'WARN_AGENTOS_SNAPSHOT_EVAL_TIMEOUT',
      severity: 'warning',
      path: target.file,
      message: `evaluating ${what} did not finish within ${timeoutMs} ms`,
      hint: 'Module init must finish without waiting on I/O or timers: defer that work to a function called per session.',
    }
  }
  if (evaluation.status === 'crashed') {
    return {
      code: 'WARN_AGENTOS_SNAPSHOT_CHECK_FAILED',
      severity: 'warning',
      path: target.file,
      message: `the snapshot check of ${what} stopped without a report${evaluation.message ? `: ${evaluation.message}` : ''}`,
      hint: 'Run the entry with node yourself to see what happens; it may crash the process at import time.',
    }
  }
  if (evaluation.status !== 'ok') {
    return {
      code: 'WARN_AGENTOS_SNAPSHOT_EVAL_FAILED',
      severity: 'warning',
      path: evaluation.at ?? target.file,
      message: `evaluating ${what} failed: ${evaluation.message}${evaluation.at ? ` (at ${evaluation.at})` : ''}`,
      hint: 'Module init must evaluate on its own, without a session: fix the error, or defer that code to a function.',
    }
  }
  return undefined
}

/** The note or warning on the `node --build-snapshot` attempt. */
function buildProblem(build: SnapshotBuild): Problem {
  return build.ok
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
          build.timedOut ? 'timed out' : build.signal ? `signal ${build.signal}` : `exit ${build.exitCode}`
        })${build.stderr?.length ? `: ${build.stderr.join(' | ')}` : ''}`,
        hint: 'The bundle must be one self-contained script: no require of package files, nothing left running.',
      }
}
