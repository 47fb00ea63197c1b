import {relative} from 'node:path'
import type {AssembledCommand, AssembleResult, CheckResult, ProblemSummary} from '../../wasm/types.js'
import type {Problem} from '../../errors.js'
import {WASM_PAGE_BYTES} from '../../wasm/module.js'
import {formatBytes, renderProblem, table} from './text.js'

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel
}

function commandTable(commands: readonly AssembledCommand[]): string {
  return table([
    ['NAME', 'FROM', 'SIZE', 'SHA256', 'MEMORY', 'IMPORTS'],
    ...commands.map((c) => [
      c.name,
      c.source,
      formatBytes(c.size),
      c.sha256.slice(0, 12),
      c.facts.memory ? formatBytes(c.facts.memory.initialPages * WASM_PAGE_BYTES) : '-',
      c.facts.imports.map((group) => `${group.module} (${group.names.length})`).join(', ') || '-',
    ]),
  ])
}

function problemLines(problems: readonly Problem[], verbose: boolean): string[] {
  return problems.filter((p) => verbose || p.severity !== 'info').map(renderProblem)
}

function counts(summary: ProblemSummary): string {
  return `${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}, ${plural(summary.infos, 'note')}`
}

/** Human output of `assemble-wasm`: the commands, the problems, then the verdict and digest. */
export function renderAssemble(result: AssembleResult, verbose = false): string {
  const out: string[] = []
  if (result.commands.length > 0) {
    out.push(`Commands (${result.commands.length}):`, commandTable(result.commands))
  }
  if (result.included.length > 0) out.push(`Included: ${plural(result.included.length, 'file')}`)
  out.push(...problemLines(result.problems, verbose))
  if (result.written) {
    out.push(
      `✔ assembled ${result.name}@${result.version} → ${shown(result.out)} (${plural(result.commands.length, 'command')}, ${plural(result.files, 'file')}, ${formatBytes(result.bytes)}; ${counts(result.summary)})`,
      `  digest: ${result.digest}`,
    )
    if (result.aospkg && result.format === 'both') out.push(`  aospkg: ${shown(result.aospkg.path)}`)
  } else {
    out.push(`✖ not assembled: ${counts(result.summary)}; nothing was written to ${shown(result.out)}`)
  }
  return out.join('\n')
}

/** Human output of `assemble-wasm --check`. */
export function renderCheck(result: CheckResult, verbose = false): string {
  const out: string[] = []
  if (result.commands.length > 0) {
    out.push(`WebAssembly commands (${result.commands.length}):`, commandTable(result.commands))
  }
  out.push(...problemLines(result.problems, verbose))
  const action =
    result.manifest === 'created'
      ? 'wrote agentos-package.json'
      : result.manifest === 'present'
        ? 'agentos-package.json already present, nothing written'
        : 'agentos-package.json missing and not written'
  out.push(
    `${result.ok ? '✔ valid' : '✖ invalid'}: ${shown(result.dir)} — ${counts(result.summary)}; ${action}`,
  )
  if (result.digest) out.push(`  digest: ${result.digest}`)
  return out.join('\n')
}
