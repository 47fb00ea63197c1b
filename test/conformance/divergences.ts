import {type CaseResult, CASES, type Recording, RUNTIME_VERSION} from './cases.js'

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, '⏎')

const clip = (text: string, max = 90) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

/** A recorded result in a few words. */
function summary(result: CaseResult | undefined): string {
  if (!result) return '(not recorded)'
  if (result.refused !== undefined)
    return `refused: ${clip(result.refused.replace(/^sidecar rejected request N: invalid_state: /, ''))}`
  if (result.agent)
    return `agent ${result.agent.name}@${result.agent.version}, session cwd ${result.agent.sessionCwd}, reply "${result.agent.reply}"`
  const out = (result.stdout ?? '').trim()
  const err =
    (result.stderr ?? '')
      .replace(/\x1b\[[0-9;]*m/g, '')
      .trim()
      .split('\n')[0] ?? ''
  return `exit ${result.exitCode}${out ? `; \`${clip(out)}\`` : ''}${err ? `; stderr \`${clip(err, 60)}\`` : ''}`
}

/**
 * DIVERGENCES.md: every case, what runtime 0.2.21 gave, and how the emulation stands (agrees, or
 * the warning it gives), with what it did before it was made to agree. Generated; a test keeps
 * the committed file equal to it.
 */
export function renderDivergences(recording: Recording): string {
  const warned = CASES.filter((c) => c.emulation !== 'agrees')
  const changed = CASES.filter((c) => c.emulation === 'agrees' && c.before)
  const lines = [
    '# `run` (the emulation) against the agentOS runtime',
    '',
    `Generated from test/conformance/cases.ts and recorded-${RUNTIME_VERSION}.json (runtime`,
    `\`@rivet-dev/agentos-core@${RUNTIME_VERSION}\`, recorded by test/conformance/record.mjs); do not edit.`,
    'Regenerate: `AGENTOS_UPDATE_DIVERGENCES=1 npx vitest run test/conformance/divergences.test.ts`.',
    '',
    `${CASES.length} cases: ${CASES.length - warned.length} agree, ${warned.length} differ with a warning`,
    '(`WARN_AGENTOS_RUNTIME_…` on stderr and in `--json` `warnings`).',
    '',
    '## Differences, and the warning `run` gives',
    '',
    '| case | runtime ' + RUNTIME_VERSION + ' | emulation | warning | why |',
    '|---|---|---|---|---|',
    ...warned.map((c) => {
      const verdict = c.emulation as {warn: string; why: string}
      return `| \`${c.id}\` — ${cell(c.title)} | ${cell(summary(recording.results[c.id]))} | ${cell(c.before ?? '')} | \`${verdict.warn}\` | ${cell(verdict.why)} |`
    }),
    '',
    '## Changed to agree with the runtime',
    '',
    '| case | runtime ' + RUNTIME_VERSION + ' (the emulation now) | emulation before |',
    '|---|---|---|',
    ...changed.map(
      (c) =>
        `| \`${c.id}\` — ${cell(c.title)} | ${cell(summary(recording.results[c.id]))} | ${cell(c.before!)} |`,
    ),
    '',
    '## Every case',
    '',
    '| case | area | runtime ' + RUNTIME_VERSION + ' | emulation |',
    '|---|---|---|---|',
    ...CASES.map(
      (c) =>
        `| \`${c.id}\` | ${c.area} | ${cell(summary(recording.results[c.id]))} | ${c.emulation === 'agrees' ? 'agrees' : `\`${c.emulation.warn}\``} |`,
    ),
    '',
  ]
  return lines.join('\n')
}
