// A vitest reporter that ends the run with what was skipped and why: one line per reason, counted,
// after the default reporter's totals. A skip without a reason is listed by name, so it shows up
// as the defect it is (every conditional skip goes through test/helpers/requirements.ts).
import type {Reporter, TestModule} from 'vitest/node'

/** Groups skipped tests by their skip note; tests skipped without one are kept by name. */
export function summarizeSkips(modules: ReadonlyArray<TestModule>): {
  reasons: Map<string, number>
  unexplained: string[]
} {
  const reasons = new Map<string, number>()
  const unexplained: string[] = []
  for (const module of modules) {
    for (const test of module.children.allTests()) {
      const result = test.result()
      if (result.state !== 'skipped') continue
      if (result.note) reasons.set(result.note, (reasons.get(result.note) ?? 0) + 1)
      else unexplained.push(`${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`)
    }
  }
  return {reasons, unexplained}
}

/** Formats the summary lines; none when nothing was skipped. */
export function skipSummaryLines(summary: ReturnType<typeof summarizeSkips>): string[] {
  const total = [...summary.reasons.values()].reduce((sum, n) => sum + n, 0) + summary.unexplained.length
  if (total === 0) return []
  const lines = [`${total} skipped:`]
  const sorted = [...summary.reasons].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
  for (const [reason, count] of sorted) lines.push(`  ${count} skipped: ${reason}`)
  if (summary.unexplained.length > 0) {
    lines.push(`  ${summary.unexplained.length} skipped without a reason:`)
    for (const name of summary.unexplained) lines.push(`    ${name}`)
  }
  return lines
}

export default class SkipSummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const lines = skipSummaryLines(summarizeSkips(modules))
    if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`)
  }
}
