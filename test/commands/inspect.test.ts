import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, runInProcess} from '../helpers/cli.js'

const example = (name: string) => join(ROOT, 'fixtures/examples', name)

describe('inspect (in-process)', () => {
  it('shows identity, digest, commands and closure', async () => {
    const result = await runInProcess(['inspect', example('my-tool-package')])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('my-tool@1.0.0')
    expect(result.stdout).toMatch(/digest: {2}sha256:[0-9a-f]{64}/)
    expect(result.stdout).toMatch(
      /my-tool {2}node_modules\/my-tool\/cli\.js {2}script \(\/usr\/bin\/env node\)/,
    )
    expect(result.stdout).toContain('Closure: 2 packages')
  })

  it('gives the agent block and provides under --json', async () => {
    const result = await runInProcess(['inspect', example('my-agent-package'), '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({
      name: 'my-agent',
      npmName: '@example/my-agent',
      version: '0.3.0',
      agent: {acpEntrypoint: 'my-agent-acp', launchArgs: ['--acp'], snapshot: false},
      provides: {env: {MY_AGENT_HOME: '/opt/agentos/my-agent'}},
      validation: {ok: true},
    })
    expect(report.commands.map((c: {name: string}) => c.name)).toEqual(['my-agent', 'my-agent-acp'])
    expect(report.closure).toMatchObject({packages: 1, files: 4})
  })

  it('still describes an invalid package (exit 0) and carries its problems', async () => {
    const result = await runInProcess(['inspect', join(ROOT, 'fixtures/examples/my-cmds'), '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.validation.ok).toBe(false)
    expect(report.validation.problems.map((p: {code: string}) => p.code)).toContain(
      'ERR_AGENTOS_BIN_ENTRY_MISSING',
    )
  })
})
