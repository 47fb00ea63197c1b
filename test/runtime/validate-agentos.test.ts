import {cp, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, ROOT, runProcess} from '../helpers/cli.js'
import {agentosRuntime, requires} from '../helpers/requirements.js'
import {example} from '../helpers/run-fixtures.js'

// `validate --engine agentos` against the real runtime (AGENTOS_TOOLCHAIN_RUNTIME=<dir>, a project
// install or `runtime install`); skipped without one. Each check boots a VM: seconds, not ms.
let work: string
const engine = ['validate', '--engine', 'agentos', '--json']

interface Report {
  ok: boolean
  engine: string
  runtime: {
    version: string
    commands?: Array<{name: string; path?: string}>
    session?: {agent?: string; opened: boolean}
  }
  problems: Array<{code: string; severity: string; message: string; hint?: string}>
}

const ACP = 'node_modules/@example/my-agent/acp.js'

/** The example agent package with its ACP entrypoint replaced by `body` (a Node.js script). */
async function agentWithAcp(name: string, body: string): Promise<string> {
  const dir = join(work, name)
  await cp(example('my-agent-package'), dir, {recursive: true})
  await writeFile(join(dir, ACP), `#!/usr/bin/env node\n${body}`, {mode: 0o755})
  return dir
}

const runtimeCodes = (report: Report) =>
  report.problems.map((p) => p.code).filter((code) => code.startsWith('ERR_AGENTOS_RUNTIME_'))

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-validate-engine-'))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('validate --engine agentos (the real runtime)', {timeout: 120_000}, () => {
  it('a good package: every command resolves on $PATH, no runtime problems', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess([...engine, example('my-tool-package')])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout) as Report
    expect(report).toMatchObject({ok: true, engine: 'agentos'})
    expect(report.runtime.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(report.runtime.commands).toEqual([{name: 'my-tool', path: '/opt/agentos/bin/my-tool'}])
    expect(runtimeCodes(report)).toEqual([])
    // The runtime's own log lines stay off the terminal without --verbose.
    expect(result.stderr).not.toMatch(/level=info|agentos-v8-runtime:/)
  })

  it('a command the default software also provides: the VM refusal, with the runtime message', async (context) => {
    requires(context, agentosRuntime)
    const target = join(ROOT, 'fixtures/validate/runtime-default-command/package')
    const result = await runProcess([...engine, target])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout) as Report
    expect(report.ok).toBe(false)
    const refused = report.problems.find((p) => p.code === 'ERR_AGENTOS_RUNTIME_VM_REFUSED')
    expect(refused).toMatchObject({severity: 'error', hint: expect.any(String)})
    expect(refused!.message).toContain('command "cat" is already provided by another package')
    // The static rule that predicts it is still there.
    expect(report.problems.map((p) => p.code)).toContain('WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND')
  })

  it('an agent package: its session opens', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess([...engine, example('my-agent-package')])
    const report = JSON.parse(result.stdout) as Report
    expect(runtimeCodes(report)).toEqual([])
    expect(report.runtime.session).toEqual({agent: 'my-agent', opened: true})
    expect(report.runtime.commands?.map((c) => c.name).sort()).toEqual(['my-agent', 'my-agent-acp'])
    expect(result.exitCode).toBe(0)
  })

  it('a command named like a builtin of the VM shell: command -v answers the builtin, unresolved', async (context) => {
    requires(context, agentosRuntime)
    const target = join(ROOT, 'fixtures/validate/runtime-shell-builtin/package')
    const result = await runProcess([...engine, target])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout) as Report
    // Runtime 0.2.21 links /opt/agentos/bin/help, but its sh resolves "help" to its builtin.
    expect(report.runtime.commands).toEqual([
      {name: 'help', path: 'help'},
      {name: 'my-tool', path: '/opt/agentos/bin/my-tool'},
    ])
    const unresolved = report.problems.filter((p) => p.code === 'ERR_AGENTOS_RUNTIME_COMMAND_UNRESOLVED')
    expect(unresolved).toHaveLength(1)
    expect(unresolved[0]!.message).toContain(
      '"command -v help" answered "help", a builtin of the VM\'s shell',
    )
    // The static rule that predicts it.
    expect(report.problems.map((p) => p.code)).toContain('WARN_AGENTOS_RUNTIME_SHELL_BUILTIN')
  })

  it('a bin entry that is missing: the VM boots, command -v answers the /bin stub, unresolved', async (context) => {
    requires(context, agentosRuntime)
    const target = join(ROOT, 'fixtures/validate/cmd-entry-missing/package')
    const report = JSON.parse((await runProcess([...engine, target])).stdout) as Report
    // The runtime links the command to the missing file; its shell skips the dangling link and
    // finds the kernel's /bin/my-tool stub, which exits 0 doing nothing.
    expect(report.runtime.commands).toEqual([{name: 'my-tool', path: '/bin/my-tool'}])
    const unresolved = report.problems.find((p) => p.code === 'ERR_AGENTOS_RUNTIME_COMMAND_UNRESOLVED')
    expect(unresolved?.message).toContain('answered /bin/my-tool, not /opt/agentos/bin/my-tool')
    expect(report.problems.map((p) => p.code)).toContain('ERR_AGENTOS_BIN_ENTRY_MISSING')
  })

  it('an agent that exits before answering initialize: the session fails with the runtime message', async (context) => {
    requires(context, agentosRuntime)
    const target = await agentWithAcp(
      'exits',
      'console.error("my-agent: cannot start: MY_AGENT_TOKEN is not set")\nprocess.exit(1)\n',
    )
    const result = await runProcess([...engine, target])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout) as Report
    expect(runtimeCodes(report)).toEqual(['ERR_AGENTOS_RUNTIME_SESSION_FAILED'])
    expect(report.runtime.session).toEqual({agent: 'my-agent', opened: false})
    const failed = report.problems.find((p) => p.code === 'ERR_AGENTOS_RUNTIME_SESSION_FAILED')!
    expect(failed.message).toContain('exited with code 1 before response id=1')
    expect(failed.message).toContain('MY_AGENT_TOKEN is not set')
  })

  it('an agent whose session/new answers an error: the session fails with the agent message', async (context) => {
    requires(context, agentosRuntime)
    const acp = await readFile(join(example('my-agent-package'), ACP), 'utf8')
    const refusing = acp.replace(
      'send({id, result: {sessionId: `session-${++sessions}`}})',
      'send({id, error: {code: -32603, message: "no model configured"}})',
    )
    expect(refusing).not.toBe(acp)
    const target = await agentWithAcp('refuses', refusing.replace(/^#!.*\n/, ''))
    const report = JSON.parse((await runProcess([...engine, target])).stdout) as Report
    expect(runtimeCodes(report)).toEqual(['ERR_AGENTOS_RUNTIME_SESSION_FAILED'])
    const failed = report.problems.find((p) => p.code === 'ERR_AGENTOS_RUNTIME_SESSION_FAILED')!
    expect(failed.message).toContain('ACP session/new failed: no model configured')
  })

  it('human output names the runtime used', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess(['validate', '--engine', 'agentos', example('my-tool-package')])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/checked in the agentOS runtime \d+\.\d+\.\d+/)
  })
})

describe('validate --engine agentos without a runtime', () => {
  it('exits 1 with ERR_AGENTOS_RUNTIME_NOT_FOUND and the install hint; one JSON document', async () => {
    const options = {
      cwd: work,
      env: {AGENTOS_TOOLCHAIN_CACHE: join(work, 'cache'), AGENTOS_TOOLCHAIN_RUNTIME: ''},
    }
    const text = await runProcess(['validate', '--engine', 'agentos', example('my-tool-package')], options)
    expect(text.exitCode).toBe(1)
    expect(text.stderr).toContain('ERR_AGENTOS_RUNTIME_NOT_FOUND')
    expect(text.stderr).toContain('hint: agentos-toolchain runtime install')
    expect(hasStackTrace(text.stderr)).toBe(false)
    const json = await runProcess([...engine, example('my-tool-package')], options)
    expect(json.exitCode).toBe(1)
    const doc = JSON.parse(json.stdout) as {ok: boolean; error: {code: string; hint: string}}
    expect(doc).toMatchObject({ok: false, error: {code: 'ERR_AGENTOS_RUNTIME_NOT_FOUND'}})
    expect(doc.error.hint).toContain('runtime install')
  })

  it('--runtime without --engine agentos is a usage error (exit 2)', async () => {
    const result = await runProcess(['validate', '--runtime', work, example('my-tool-package')])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toContain('--runtime needs --engine agentos')
  })
})
