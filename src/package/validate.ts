import {analyzePackage, sortProblems} from './analyze.js'
import type {Analysis, PackageModel} from './model.js'
import type {Problem} from '../errors.js'
import {readPackage} from './read.js'
import type {PackageSnapshot} from './snapshot.js'

/** Options of {@link validatePackage}. */
export interface ValidateOptions {
  /** Treat warnings as errors. */
  strict?: boolean
  /**
   * Run the snapshot-safety check (src/package/snapshot-safety/check.ts) on any agent package; it always runs
   * when `agent.snapshot` is true. Its findings are warnings, so they fail only under `strict`.
   */
  snapshot?: boolean
}

/** Counts of a validation run. */
export interface ValidationSummary {
  errors: number
  warnings: number
  infos: number
  commands: number
  files: number
}

/** Result of {@link validatePackage}: `ok` is false when an error (or, strict, a warning) was found. */
export interface ValidationReport {
  ok: boolean
  target: string
  problems: Problem[]
  summary: ValidationSummary
}

/** Summarizes problems; `strict` turns warnings into failures. */
export function summarize(problems: readonly Problem[], model: PackageModel, strict = false) {
  const count = (severity: Problem['severity']) => problems.filter((p) => p.severity === severity).length
  const summary: ValidationSummary = {
    errors: count('error'),
    warnings: count('warning'),
    infos: count('info'),
    commands: model.commands.length,
    files: model.files,
  }
  return {ok: summary.errors === 0 && (!strict || summary.warnings === 0), summary}
}

/**
 * Checks a package directory (or a tarball holding one) against every rule of the agentOS package
 * format and reports all problems at once.
 *
 * @throws AgentosError when the target cannot be read at all (missing, not a package archive).
 */
export async function validatePackage(
  target: string,
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const snapshot = await readPackage(target)
  const {model, problems} = await packageVerdict(snapshot, options)
  const {ok, summary} = summarize(problems, model, options.strict)
  return {ok, target: snapshot.origin.path, problems, summary}
}

/**
 * The one verdict on a package that `validate`, `inspect`, `pack` and `assemble-wasm` all report:
 * every rule of the analyzer, plus the snapshot-safety check when `agent.snapshot` is true (or
 * `options.snapshot` asks for it on any agent package).
 */
export async function packageVerdict(
  snapshot: PackageSnapshot,
  options: Pick<ValidateOptions, 'snapshot'> = {},
): Promise<Analysis> {
  const analysis = analyzePackage(snapshot)
  const {model, problems} = analysis
  if (model.manifest?.agent?.snapshot === true || options.snapshot) {
    const {checkPackageSnapshot} = await import('./snapshot-safety/check.js')
    problems.push(...(await checkPackageSnapshot(snapshot, model)).problems)
    sortProblems(problems)
  }
  return analysis
}
