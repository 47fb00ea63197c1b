/** How `assemble-wasm` and its `--check` mode settle a result from the problems found. */
import type {Problem} from '../errors.js'
import {sortProblems} from '../package/analyze.js'
import type {ProblemSummary} from './types.js'

/** Sorts `problems` into `result`, counts them, and sets `ok` (no errors). */
export function finishResult<T extends {ok: boolean; problems: Problem[]; summary: ProblemSummary}>(
  result: T,
  problems: Problem[],
): T {
  result.problems = sortProblems(problems)
  result.summary = summarizeProblems(result.problems)
  result.ok = result.summary.errors === 0
  return result
}

function summarizeProblems(problems: readonly Problem[]): ProblemSummary {
  const count = (severity: Problem['severity']) => problems.filter((p) => p.severity === severity).length
  return {errors: count('error'), warnings: count('warning'), infos: count('info')}
}
