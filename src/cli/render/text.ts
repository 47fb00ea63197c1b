import type {Problem} from '../../errors.js'
import type {InspectReport} from '../../package/inspect.js'
import type {ValidationReport} from '../../package/validate.js'

/** 1234567 → "1.2 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['kB', 'MB', 'GB']
  let value = bytes
  let unit = -1
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

/** Plain-text table with left-aligned columns. */
export function table(rows: string[][], indent = '  '): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
    )
    .join('\n')
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

/** One problem as two lines: severity, code, path and message, then the hint. */
export function renderProblem(problem: Problem): string {
  const head = `${problem.severity.padEnd(7)} ${problem.code}  ${problem.path ?? ''}\n        ${problem.message}`
  return problem.hint ? `${head}\n        hint: ${problem.hint}` : head
}

/** Human output of `validate`. */
export function renderValidation(report: ValidationReport, verbose = false): string {
  const shown = report.problems.filter((p) => verbose || p.severity !== 'info')
  const {errors, warnings, infos, commands, files} = report.summary
  const verdict = report.ok ? '✔ valid' : '✖ invalid'
  const lines = shown.map(renderProblem)
  // validate --engine agentos: which real runtime was asked.
  const runtime = (report as {runtime?: {version: string; reason: string}}).runtime
  if (runtime) lines.push(`checked in the agentOS runtime ${runtime.version} (${runtime.reason})`)
  lines.push(
    `${verdict}: ${report.target} — ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${plural(infos, 'note')}; ${plural(commands, 'command')}, ${plural(files, 'file')}`,
  )
  return lines.join('\n')
}

/** Human output of `inspect`. */
export function renderInspect(report: InspectReport): string {
  const out: string[] = []
  out.push(
    `${report.name ?? '(unnamed)'}@${report.version ?? '(no version)'}${report.npmName && report.npmName !== report.name ? `  (npm: ${report.npmName})` : ''}`,
  )
  out.push(
    `  source:  ${report.source.type} ${report.source.path}${report.source.prefix ? ` (${report.source.prefix}/)` : ''}`,
  )
  out.push(`  digest:  ${report.digest}`)
  out.push(`  size:    ${plural(report.files, 'file')}, ${formatBytes(report.bytes)}`)
  out.push('')
  if (report.commands.length > 0) {
    out.push(`Commands (${report.commands.length}):`)
    out.push(
      table([
        ['NAME', 'ENTRY', 'KIND', 'SIZE'],
        ...report.commands.map((c) => [c.name, c.entry, c.description, formatBytes(c.size)]),
      ]),
    )
  } else {
    out.push('Commands: none')
  }
  if (report.agent) {
    out.push('', 'Agent:')
    out.push(`  acpEntrypoint: ${report.agent.acpEntrypoint}`)
    out.push(`  snapshot:      ${report.agent.snapshot ?? false}`)
    if (report.agent.launchArgs?.length)
      out.push(`  launchArgs:    ${JSON.stringify(report.agent.launchArgs)}`)
    for (const [key, value] of Object.entries(report.agent.env ?? {})) out.push(`  env ${key}=${value}`)
  }
  if (report.provides) {
    out.push('', 'Provides:')
    for (const [key, value] of Object.entries(report.provides.env ?? {})) out.push(`  env  ${key}=${value}`)
    for (const file of report.provides.files ?? []) out.push(`  file ${file.source} → ${file.target}`)
  }
  const {closure} = report
  if (closure.packages > 0) {
    out.push(
      '',
      `Closure: ${plural(closure.packages, 'package')}, ${plural(closure.files, 'file')}, ${formatBytes(closure.bytes)}`,
    )
    out.push(
      table([
        ['LARGEST', 'VERSION', 'FILES', 'SIZE'],
        ...closure.largest.map((p) => [p.name, p.version, String(p.files), formatBytes(p.bytes)]),
      ]),
    )
  }
  const {summary} = report.validation
  out.push(
    '',
    `Validation: ${report.validation.ok ? '✔ valid' : '✖ invalid'} — ${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}`,
  )
  for (const problem of report.validation.problems.filter((p) => p.severity !== 'info')) {
    out.push(`  ${problem.severity} ${problem.code} ${problem.path ?? ''}: ${problem.message}`)
  }
  return out.join('\n')
}
