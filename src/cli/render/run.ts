import type {AgentReport} from '../../run/emulation/agent/report.js'
import type {Resolution} from '../../run/emulation/resolution.js'
import type {VmDescription} from '../../run/emulation/run.js'
import {table} from './text.js'

/** Human output of `run --which`. */
export function renderWhich(resolution: Resolution): string {
  const out: string[] = []
  out.push(
    resolution.vmPath
      ? `${resolution.command} → ${resolution.vmPath}${resolution.target && resolution.target !== resolution.vmPath ? ` → ${resolution.target}` : ''}`
      : `${resolution.command}: not found`,
  )
  out.push(
    resolution.lookup === 'path'
      ? `  PATH walk (${resolution.path.join(':')}):`
      : '  direct path (no PATH walk):',
  )
  for (const step of resolution.search) {
    out.push(`    ${step.vmPath.padEnd(40)} ${step.result === 'found' ? 'found' : step.result}`)
  }
  const rows: string[][] = []
  if (resolution.package) {
    rows.push([
      'package',
      `${resolution.package.name}${resolution.package.version ? `@${resolution.package.version}` : ''}  (${resolution.package.dir})`,
    ])
  }
  if (resolution.entry) rows.push(['entry', resolution.entry])
  if (resolution.hostPath) rows.push(['host file', resolution.hostPath])
  if (resolution.kind)
    rows.push(['header', `${resolution.kind}${resolution.description ? ` — ${resolution.description}` : ''}`])
  const interpreter = resolution.interpreter
  if (interpreter) {
    const line = `${interpreter.path}${interpreter.argument ? ` ${interpreter.argument}` : ''}`
    const via =
      interpreter.via === 'node'
        ? `Node.js ${interpreter.version ?? ''} (${interpreter.hostPath})`.replace('  ', ' ')
        : interpreter.via === 'package'
          ? `VM command (${interpreter.hostPath})`
          : `host ${interpreter.hostPath ?? interpreter.path}`
    rows.push(['interpreter', `${line} → ${via}`])
  }
  if (resolution.executor) rows.push(['executor', resolution.executor])
  if (rows.length > 0) out.push(table(rows.map(([k, v]) => [`${k}:`, v!])))
  if (resolution.error) {
    out.push(
      `  ✖ ${resolution.error.code}: ${resolution.error.message}`,
      `    hint: ${resolution.error.hint}`,
    )
  }
  return out.join('\n')
}

/** Human output of `run <packages>` without a command: the VM the packages make. */
export function renderVm(vm: VmDescription): string {
  const out: string[] = ['Mounts (read-only):']
  out.push(table(vm.packages.map((p) => [p.mount, `${p.name}${p.version ? `@${p.version}` : ''}`, p.dir])))
  out.push('', `Commands (${vm.commands.length}):`)
  if (vm.commands.length > 0) out.push(table(vm.commands.map((c) => [c.link, '→', c.target, c.kind])))
  if (vm.overlays.length > 0) {
    out.push('', 'Overlays (read-only, copy-up on write):')
    out.push(table(vm.overlays.map((o) => [o.target, `← ${o.package}`, o.source])))
  }
  out.push('', 'Environment:')
  out.push(table(Object.entries(vm.env).map(([k, v]) => [`${k}=${v}`, `(${vm.envSources[k]})`])))
  const agents = vm.packages.filter((p) => p.agent)
  if (agents.length > 0)
    out.push('', `Agents: ${agents.map((p) => `${p.name} (${p.agent})`).join(', ')}  — try --agent`)
  out.push('', `cwd: ${vm.cwd}   Run a command with: run <packages…> -- <command> [args…]`)
  return out.join('\n')
}

/** One streamed `session/update`, as a line (agent text is printed as it comes). */
export function formatUpdate(update: {sessionUpdate: string; [key: string]: unknown}): string {
  const content = update.content as {type?: string; text?: string} | undefined
  if (update.sessionUpdate === 'agent_message_chunk' && content?.type === 'text') return content.text ?? ''
  const title = typeof update.title === 'string' ? ` ${update.title}` : ''
  return `\n[${update.sessionUpdate}]${title}\n`
}

const OUTCOME_TEXT: Record<AgentReport['outcome'], string> = {
  ok: '✔ ok',
  'protocol-error': '✖ protocol error',
  timeout: '✖ timeout',
  crashed: '✖ crashed',
}

/** Human output of `run --agent`. */
export function renderAgent(report: AgentReport): string {
  const out: string[] = []
  const info = report.agentInfo
  out.push(
    `agent ${report.agent.name}${report.agent.version ? `@${report.agent.version}` : ''}: ${report.agent.argv.join(' ')}  [${report.isolation}]`,
  )
  if (info)
    out.push(
      `  agentInfo:     ${info.name ?? '?'} ${info.version ?? ''}${info.title ? ` (${info.title})` : ''}`,
    )
  if (report.protocolVersion !== undefined) out.push(`  protocol:      ${report.protocolVersion}`)
  if (report.agentCapabilities !== undefined)
    out.push(`  capabilities:  ${JSON.stringify(report.agentCapabilities)}`)
  if (report.authMethods) {
    out.push(
      `  auth methods:  ${report.authMethods.length > 0 ? report.authMethods.map((m) => m.id).join(', ') : 'none'}`,
    )
  }
  if (report.sessionId) out.push(`  session:       ${report.sessionId}`)
  if (report.prompt?.stopReason) out.push(`  stop reason:   ${report.prompt.stopReason}`)
  out.push('  steps:')
  out.push(
    table(
      report.steps.map((s) => [s.ok ? '✔' : '✖', s.step, `${s.ms} ms`, s.detail ?? '']),
      '    ',
    ),
  )
  out.push(...agentTail(report))
  return out.join('\n')
}

/**
 * The end of an agent report, the same for both engines: the outcome with its exit code and error,
 * the line that broke the protocol when there is one, and the agent's stderr when it failed.
 */
export function agentTail(report: {
  outcome: AgentReport['outcome']
  exitCode: number
  error?: {message: string; line?: string}
  stderrTail: string
}): string[] {
  const out = [
    `${OUTCOME_TEXT[report.outcome]} (exit ${report.exitCode})${report.error ? `: ${report.error.message}` : ''}`,
  ]
  if (report.error?.line !== undefined) out.push(`  offending line: ${JSON.stringify(report.error.line)}`)
  if (report.outcome !== 'ok' && report.stderrTail.trim()) {
    out.push(
      '  agent stderr (tail):',
      ...report.stderrTail
        .trimEnd()
        .split('\n')
        .slice(-20)
        .map((l) => `    | ${l}`),
    )
  }
  return out
}
