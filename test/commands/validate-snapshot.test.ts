import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, runInProcess} from '../helpers/cli.js'

const snapshotCase = (name: string) => join(ROOT, 'fixtures/snapshot', name, 'package')

interface JsonProblem {
  code: string
  severity: string
  path?: string
  message: string
}

describe('validate: snapshot-safety check (in-process)', () => {
  it('reports a snapshot-unsafe SDK as warnings and still exits 0', async () => {
    const result = await runInProcess(['validate', snapshotCase('date-now'), '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.ok).toBe(true)
    const unsafe = report.problems.filter((p: JsonProblem) => p.code === 'WARN_AGENTOS_SNAPSHOT_DATE_NOW')
    expect(unsafe.map((p: JsonProblem) => p.path)).toEqual([
      'node_modules/my-sdk/index.js:1:24',
      'node_modules/my-sdk/index.js:2:15',
      'node_modules/my-sdk/index.js:3:14',
    ])
    expect(unsafe.every((p: JsonProblem) => p.severity === 'warning')).toBe(true)
    // The three findings, and the fixture's lack of an SDK bundle (runtime rule).
    expect(report.summary.warnings).toBe(4)
  })

  it('fails with exit 1 under --strict', async () => {
    const result = await runInProcess(['validate', snapshotCase('date-now'), '--strict', '--json'])
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout).ok).toBe(false)
  })

  it('finds nothing in a clean SDK (only that it ships no bundle), and lists what was checked with --verbose', async () => {
    const json = await runInProcess(['validate', snapshotCase('clean'), '--json'])
    expect(json.exitCode).toBe(0)
    const codes = JSON.parse(json.stdout).problems.map((p: JsonProblem) => p.code)
    // Problems come by severity: the warning first.
    expect(codes).toEqual([
      'WARN_AGENTOS_RUNTIME_SNAPSHOT_BUNDLE_MISSING',
      'INFO_AGENTOS_SNAPSHOT_CHECKED',
      'INFO_AGENTOS_SNAPSHOT_NO_BUNDLE',
    ])
    const human = await runInProcess(['validate', snapshotCase('clean'), '--verbose'])
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toContain('INFO_AGENTOS_SNAPSHOT_CHECKED')
  })

  it('--snapshot checks an agent with agent.snapshot false; without the flag it is not checked', async () => {
    const agent = join(ROOT, 'fixtures/validate/good-agent/package')
    const plain = await runInProcess(['validate', agent, '--json'])
    expect(JSON.parse(plain.stdout).problems).toEqual([])
    const checked = await runInProcess(['validate', agent, '--snapshot', '--json'])
    expect(checked.exitCode).toBe(0)
    const codes = JSON.parse(checked.stdout).problems.map((p: JsonProblem) => p.code)
    expect(codes).toContain('INFO_AGENTOS_SNAPSHOT_NO_BUNDLE')
  })

  it('reports a snapshot bundle that node --build-snapshot cannot build; --strict fails on it', async () => {
    const result = await runInProcess(['validate', snapshotCase('bundle-fails'), '--json'])
    expect(result.exitCode).toBe(0)
    const failed = JSON.parse(result.stdout).problems.find(
      (p: JsonProblem) => p.code === 'WARN_AGENTOS_SNAPSHOT_BUILD_FAILED',
    )
    expect(failed).toMatchObject({severity: 'warning', path: 'dist/sdk-snapshot.js'})
    const strict = await runInProcess(['validate', snapshotCase('bundle-fails'), '--strict'])
    expect(strict.exitCode).toBe(1)
    expect(strict.stdout).toContain('WARN_AGENTOS_SNAPSHOT_BUILD_FAILED')
  })
})
