import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create as createTar} from 'tar'
import {describe, expect, it} from 'vitest'
import {writeAospkg} from '../../../../src/output/write-aospkg.js'
import {checkSnapshotSafety} from '../../../../src/package/snapshot-safety/check.js'
import {snapshotRuleCode} from '../../../../src/package/snapshot-safety/rules.js'
import {validatePackage} from '../../../../src/package/validate.js'
import {REPO_ROOT} from '../../../helpers/fixtures.js'

/**
 * fixtures/snapshot/<case>/: `package/` is an agent package with agent.snapshot true,
 * `expected.json` lists the distinct warning codes, the info codes, and every finding by code, file
 * and line. Each line a finding must point at carries the comment `// snapshot-unsafe`.
 */
const CORPUS = join(REPO_ROOT, 'fixtures', 'snapshot')
const MARKER = '// snapshot-unsafe'

interface Expected {
  description: string
  codes: string[]
  infos: string[]
  findings: Array<{code: string; file: string; line: number}>
}

const cases = readdirSync(CORPUS, {withFileTypes: true})
  .filter((d) => d.isDirectory() && existsSync(join(CORPUS, d.name, 'expected.json')))
  .map((d) => d.name)
  .sort()

const distinctSorted = (codes: Iterable<string>) => [...new Set(codes)].sort()
const byPosition = (a: {file: string; line: number; code: string}, b: typeof a) =>
  a.file.localeCompare(b.file) || a.line - b.line || a.code.localeCompare(b.code)

/** Every `file:line` holding the marker in a package. */
function markedLines(dir: string, rel = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(dir, rel), {withFileTypes: true})) {
    const path = rel ? `${rel}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...markedLines(dir, path))
    else if (/\.(c|m)?js$/.test(entry.name)) {
      readFileSync(join(dir, path), 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (line.includes(MARKER)) out.push(`${path}:${index + 1}`)
        })
    }
  }
  return out.sort()
}

describe('snapshot-safety check fixtures', () => {
  it('has a clean case and one case per rule', () => {
    expect(cases).toContain('clean')
    const covered = new Set(
      cases.flatMap(
        (name) => (JSON.parse(readFileSync(join(CORPUS, name, 'expected.json'), 'utf8')) as Expected).codes,
      ),
    )
    for (const rule of [
      'NATIVE_ADDON',
      'WASM',
      'OPEN_FD',
      'SOCKET',
      'TIMER',
      'WORKER',
      'PENDING_PROMISE',
      'ENV_READ',
      'CWD_READ',
      'DATE_NOW',
      'MATH_RANDOM',
      'RANDOM_UUID',
      'CRYPTO_RANDOM',
    ] as const) {
      expect(covered).toContain(snapshotRuleCode(rule))
    }
    expect(covered).toContain('WARN_AGENTOS_SNAPSHOT_EVAL_FAILED')
    expect(covered).toContain('WARN_AGENTOS_SNAPSHOT_BUILD_FAILED')
  })

  for (const name of cases) {
    const expected = JSON.parse(readFileSync(join(CORPUS, name, 'expected.json'), 'utf8')) as Expected
    it(`${name}: ${expected.description}`, async () => {
      const dir = join(CORPUS, name, 'package')
      const result = await checkSnapshotSafety(dir)
      const warnings = result.problems.filter((p) => p.severity !== 'info')
      const infos = result.problems.filter((p) => p.severity === 'info')
      expect({
        codes: distinctSorted(warnings.map((p) => p.code)),
        infos: distinctSorted(infos.map((p) => p.code)),
      }).toEqual({codes: distinctSorted(expected.codes), infos: distinctSorted(expected.infos)})

      // Exactly the expected findings, each at the marked line of the right file.
      const findings = result.findings
        .map((f) => ({code: f.code, file: f.file, line: f.line}))
        .sort(byPosition)
      expect(findings).toEqual([...expected.findings].sort(byPosition))
      const marked = markedLines(dir)
      if (result.evaluation?.status === 'ok') {
        expect(distinctSorted(findings.map((f) => `${f.file}:${f.line}`))).toEqual(marked)
      }
      for (const finding of result.findings) {
        const line = readFileSync(join(dir, finding.file), 'utf8').split('\n')[finding.line - 1]
        expect(line, `${finding.code} at ${finding.file}:${finding.line}`).toContain(MARKER)
        expect(finding.column).toBeGreaterThan(0)
        expect(finding.stack[0]).toMatch(
          new RegExp(`^${finding.file.replace(/[.]/g, '\\.')}:${finding.line}:`),
        )
      }
      // Every warning names where it happened and what to do.
      for (const problem of warnings) {
        expect(problem.severity).toBe('warning')
        expect(problem.code).toMatch(/^WARN_AGENTOS_SNAPSHOT_[A-Z_]+$/)
        expect(problem.hint).toBeTruthy()
        expect(problem.path).toBeTruthy()
      }
      if (expected.codes.includes('WARN_AGENTOS_SNAPSHOT_EVAL_FAILED')) {
        const failed = warnings.find((p) => p.code === 'WARN_AGENTOS_SNAPSHOT_EVAL_FAILED')!
        const [at] = marked
        expect(failed.path).toMatch(new RegExp(`^${at!.replace(/[.]/g, '\\.')}(:\\d+)?$`))
      }
    })
  }

  it('reports the call chain of a violation made in a helper function', async () => {
    const result = await checkSnapshotSafety(join(CORPUS, 'timer', 'package'))
    const interval = result.findings.find((f) => f.line === 2)!
    expect(interval.function).toBe('startPolling')
    expect(interval.stack).toEqual([
      'node_modules/my-sdk/index.js:2:10 (startPolling)',
      'node_modules/my-sdk/index.js:4:14',
    ])
    expect(interval.what).toContain('setInterval')
  })

  it('reports the outcome of node --build-snapshot for a bundle', async () => {
    const ok = await checkSnapshotSafety(join(CORPUS, 'bundle-builds', 'package'))
    expect(ok.target).toEqual({kind: 'bundle', file: 'dist/sdk-snapshot.js'})
    expect(ok.build?.ok).toBe(true)
    expect(ok.build?.bytes).toBeGreaterThan(0)
    const failed = await checkSnapshotSafety(join(CORPUS, 'bundle-fails', 'package'))
    expect(failed.build?.ok).toBe(false)
    const problem = failed.problems.find((p) => p.code === 'WARN_AGENTOS_SNAPSHOT_BUILD_FAILED')!
    expect(problem.message).toContain('Cannot find module')
    const skipped = await checkSnapshotSafety(join(CORPUS, 'bundle-fails', 'package'), {build: false})
    expect(skipped.build).toBeUndefined()
    expect(skipped.problems.map((p) => p.code)).toEqual(['INFO_AGENTOS_SNAPSHOT_CHECKED'])
  })

  it('validate runs the check when agent.snapshot is true; --strict turns the warnings into a failure', async () => {
    const dir = join(CORPUS, 'date-now', 'package')
    const report = await validatePackage(dir)
    expect(report.ok).toBe(true)
    expect(report.problems.map((p) => p.code)).toContain('WARN_AGENTOS_SNAPSHOT_DATE_NOW')
    const strict = await validatePackage(dir, {strict: true})
    expect(strict.ok).toBe(false)
  })

  it('validate --snapshot checks an agent whose agent.snapshot is false; without it nothing runs', async () => {
    const dir = join(REPO_ROOT, 'fixtures', 'validate', 'good-agent', 'package')
    const plain = await validatePackage(dir)
    expect(plain.problems.filter((p) => p.code.includes('SNAPSHOT'))).toEqual([])
    const checked = await validatePackage(dir, {snapshot: true})
    const codes = checked.problems.map((p) => p.code)
    expect(codes).toContain('INFO_AGENTOS_SNAPSHOT_NO_BUNDLE')
    expect(checked.ok).toBe(true)
  })

  it('skips a package without an agent block with a note', async () => {
    const report = await validatePackage(join(REPO_ROOT, 'fixtures', 'examples', 'my-tool-package'), {
      snapshot: true,
    })
    expect(report.problems.filter((p) => p.code.includes('SNAPSHOT')).map((p) => p.code)).toEqual([
      'INFO_AGENTOS_SNAPSHOT_SKIPPED',
    ])
  })

  it('checks a package inside a .tgz and an .aospkg the same as its directory', async () => {
    const dir = join(CORPUS, 'timer', 'package')
    const work = await mkdtemp(join(tmpdir(), 'snapshot-archive-'))
    try {
      const tgz = join(work, 'timer.tgz')
      await createTar({gzip: true, file: tgz, cwd: join(CORPUS, 'timer'), portable: true}, ['package'])
      const aospkg = join(work, 'timer.aospkg')
      await writeAospkg(dir, aospkg)
      const wanted = (await checkSnapshotSafety(dir)).findings
      expect(wanted).toHaveLength(3)
      for (const archive of [tgz, aospkg]) {
        const result = await checkSnapshotSafety(archive)
        expect(result.findings, archive).toEqual(wanted)
      }
    } finally {
      await rm(work, {recursive: true, force: true})
    }
  })

  it('stops an SDK whose init never finishes, and reports what it left pending', async () => {
    const dir = await tempAgent(
      'await new Promise((resolve) => setTimeout(resolve, 60_000)) // snapshot-unsafe\nexport const x = 1\n',
    )
    try {
      const started = Date.now()
      const result = await checkSnapshotSafety(dir, {timeoutMs: 4000})
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(result.evaluation?.status).toBe('timeout')
      expect(distinctSorted(result.problems.filter((p) => p.severity !== 'info').map((p) => p.code))).toEqual(
        [
          'WARN_AGENTOS_SNAPSHOT_EVAL_TIMEOUT',
          'WARN_AGENTOS_SNAPSHOT_PENDING_PROMISE',
          'WARN_AGENTOS_SNAPSHOT_TIMER',
        ],
      )
      expect(result.findings.every((f) => f.file === 'bin/acp.mjs' && f.line === 2)).toBe(true)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('reports a top-level await that nothing will ever settle', async () => {
    const dir = await tempAgent('await new Promise(() => {}) // snapshot-unsafe\n')
    try {
      const result = await checkSnapshotSafety(dir)
      expect(result.evaluation?.status).toBe('exited')
      const codes = result.problems.map((p) => p.code)
      expect(codes).toContain('WARN_AGENTOS_SNAPSHOT_EVAL_FAILED')
      expect(codes).toContain('WARN_AGENTOS_SNAPSHOT_PENDING_PROMISE')
      expect(result.problems.find((p) => p.code === 'WARN_AGENTOS_SNAPSHOT_EVAL_FAILED')?.message).toContain(
        'top-level await never settled',
      )
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('reports an fd left open by a call it does not trace (Linux /proc/self/fd), without a frame', async () => {
    const dir = await tempAgent("import {opendirSync} from 'node:fs'\nexport const dir = opendirSync('/')\n")
    try {
      const result = await checkSnapshotSafety(dir)
      const untraced = process.platform === 'linux' ? ['WARN_AGENTOS_SNAPSHOT_OPEN_FD'] : []
      expect(result.problems.filter((p) => p.severity !== 'info').map((p) => p.code)).toEqual(untraced)
      if (process.platform === 'linux') {
        expect(result.findings[0]).toMatchObject({file: 'bin/acp.mjs', line: 0, stack: []})
        expect(result.findings[0]!.what).toContain('does not trace')
        expect(result.problems.find((p) => p.severity === 'warning')!.path).toBe('bin/acp.mjs')
      }
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('lists at most 50 findings per rule and counts the rest', async () => {
    const dir = await tempAgent(`export const times = [\n${'  Date.now(),\n'.repeat(60)}]\n`)
    try {
      const result = await checkSnapshotSafety(dir)
      expect(result.findings).toHaveLength(50)
      expect(result.findings.map((f) => f.line)).toEqual(Array.from({length: 50}, (_, i) => i + 3))
      const more = result.problems.find((p) => p.code === 'INFO_AGENTOS_SNAPSHOT_MORE')
      expect(more?.message).toContain('10 more WARN_AGENTOS_SNAPSHOT_DATE_NOW findings')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('reports a module init that ends the process', async () => {
    const dir = await tempAgent('process.exit(3)\n')
    try {
      const result = await checkSnapshotSafety(dir)
      expect(result.problems.find((p) => p.code === 'WARN_AGENTOS_SNAPSHOT_EVAL_FAILED')?.message).toContain(
        'process.exit(3)',
      )
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

/** A minimal agent package in a temporary directory whose ESM entry is `#!` + `body`. */
async function tempAgent(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-check-'))
  await mkdir(join(dir, 'bin'))
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({name: 'tmp-agent', version: '1.0.0', bin: {'tmp-agent-acp': 'bin/acp.mjs'}}),
  )
  await writeFile(
    join(dir, 'agentos-package.json'),
    JSON.stringify({name: 'tmp-agent', agent: {acpEntrypoint: 'tmp-agent-acp', snapshot: true}}),
  )
  await writeFile(join(dir, 'bin', 'acp.mjs'), `#!/usr/bin/env node\n${body}`, {mode: 0o755})
  return dir
}
