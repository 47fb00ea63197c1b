import type {RuntimeAgentReport, RuntimeVmDescription, RuntimeWhich} from '../../run/agentos/results.js'
import {agentTail} from './run.js'
import {table} from './text.js'

export {formatUpdate} from './run.js'

const runtimeLine = (doc: {runtimeVersion: string; runtime: {reason: string}}) =>
  `agentOS runtime ${doc.runtimeVersion} (${doc.runtime.reason})`

/** Human output of `run --engine agentos --which`. */
export function renderWhich(which: RuntimeWhich): string {
  const out: string[] = [
    !which.found
      ? `${which.command}: not found`
      : which.builtin
        ? `${which.command} → a builtin of the VM's shell (command -v answers "${which.vmPath}")`
        : `${which.command} → ${which.vmPath}`,
    `  PATH: ${which.path.join(':')}`,
  ]
  if (which.shadowed) {
    const link = `/opt/agentos/bin/${which.command.split('/').pop()}`
    out.push(
      which.builtin
        ? `  ${which.package} lists ${which.command}, but a shell line runs the builtin instead of ${link} (spawned by name, the package's runs)`
        : `  ${which.package} lists ${which.command}, but the VM runs ${which.vmPath} instead of ${link} (the entry file is missing)`,
    )
  }
  const rows: string[][] = []
  if (which.listing) rows.push(['listing', which.listing])
  if (which.package) rows.push(['package', which.package])
  if (which.kind) rows.push(['header', `${which.kind}${which.description ? ` — ${which.description}` : ''}`])
  if (rows.length > 0) out.push(table(rows.map(([k, v]) => [`${k}:`, v!])))
  out.push(`  ${runtimeLine(which)}`)
  return out.join('\n')
}

/** Human output of `run --engine agentos <packages>` without a command. */
export function renderVm(vm: RuntimeVmDescription): string {
  const out: string[] = [`Software (${vm.packages.length} packages):`]
  out.push(
    table(
      vm.packages.map((p) => [
        p.name,
        p.commands.length > 8
          ? `${p.commands.slice(0, 8).join(' ')} … (${p.commands.length} commands)`
          : p.commands.join(' '),
      ]),
    ),
  )
  if (vm.agents.length > 0) out.push('', `Agents: ${vm.agents.map((a) => a.id).join(', ')}  — try --agent`)
  out.push('', 'Environment:')
  out.push(table(Object.entries(vm.env).map(([k, v]) => [`${k}=${v}`])))
  out.push('', `cwd: ${vm.cwd}   ${runtimeLine(vm)}`)
  return out.join('\n')
}

/** Human output of `run --engine agentos --agent`. */
export function renderAgent(report: RuntimeAgentReport): string {
  const info = report.agentInfo
  const out: string[] = [`agent ${report.agent.name}  [${runtimeLine(report)}]`]
  if (info)
    out.push(
      `  agentInfo:     ${info.name ?? '?'} ${info.version ?? ''}${info.title ? ` (${info.title})` : ''}`,
    )
  if (report.agentCapabilities !== undefined)
    out.push(`  capabilities:  ${JSON.stringify(report.agentCapabilities)}`)
  if (report.sessionId) out.push(`  session:       ${report.sessionId}`)
  if (report.prompt?.stopReason) out.push(`  stop reason:   ${report.prompt.stopReason}`)
  out.push('  steps:')
  out.push(
    table(
      [
        ['✔', 'vm/create', `${report.timings.create} ms`, ''],
        ...report.steps.map((s) => [s.ok ? '✔' : '✖', s.step, `${s.ms} ms`, s.detail ?? '']),
      ],
      '    ',
    ),
  )
  out.push(...agentTail(report))
  return out.join('\n')
}
