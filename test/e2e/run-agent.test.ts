import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, runProcess} from '../helpers/cli.js'
import {ISOLATIONS, requiresIsolation} from '../helpers/requirements.js'
import {example, processesMatching, runFixture, sdkAgentPackage} from '../helpers/run-fixtures.js'

// `run --agent` against real agent processes: one written with the SDK's agent side, the
// hand-written example, and three that misbehave. Timeouts are short so every failure outcome
// shows up quickly; bounds on duration only check that an outcome came within its own timeout.
let work: string
let sdkAgent: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-agent-test-'))
  sdkAgent = await sdkAgentPackage(work)
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})
afterEach(async () => {
  // No agent, bwrap or shim may outlive the run that started it.
  for (const marker of ['sdk-agent-acp', 'my-agent-acp', 'hang-acp', 'garbage-acp', 'die-acp']) {
    // A killed process may take a moment to be reaped after the CLI has exited.
    let left = await processesMatching(marker)
    for (let i = 0; i < 30 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      left = await processesMatching(marker)
    }
    expect(left, marker).toEqual([])
  }
})

interface Report {
  outcome: string
  exitCode: number
  steps: Array<{step: string; ms: number; ok: boolean; detail?: string}>
  agentInfo?: {name: string; version: string; title?: string}
  agentCapabilities?: Record<string, unknown>
  authMethods?: Array<{id: string}>
  sessionId?: string
  protocolVersion?: number
  prompt?: {reply: string; stopReason: string; updates: unknown[]}
  error?: {message: string; code?: number; line?: string}
  stderrTail: string
  close?: {how: string}
  isolation: string
}

async function agentRun(
  args: string[],
): Promise<{report: Report; exitCode: number; stderr: string; ms: number}> {
  const start = performance.now()
  const dashes = args.indexOf('--')
  const withJson =
    dashes < 0 ? [...args, '--json'] : [...args.slice(0, dashes), '--json', ...args.slice(dashes)]
  const result = await runProcess(['run', ...withJson])
  const ms = performance.now() - start
  expect(hasStackTrace(result.stderr), result.stderr).toBe(false)
  return {report: JSON.parse(result.stdout) as Report, exitCode: result.exitCode, stderr: result.stderr, ms}
}

describe('run --agent: the ACP handshake', () => {
  it.for(ISOLATIONS)('initializes an SDK agent and opens a session (%s)', async (isolation, context) => {
    requiresIsolation(context, isolation)
    const {report, exitCode} = await agentRun([sdkAgent, '--agent', '--isolation', isolation])
    expect(exitCode, JSON.stringify(report)).toBe(0)
    expect(report).toMatchObject({
      outcome: 'ok',
      isolation,
      protocolVersion: 1,
      agentInfo: {name: 'sdk-agent', version: '2.0.0', title: 'SDK test agent'},
      agentCapabilities: {loadSession: false, promptCapabilities: {embeddedContext: true}},
      authMethods: [{id: 'token'}],
      // The agent is a host process: path-mapped mode hands it its cwd as the per-run root's path.
      sessionId:
        isolation === 'bwrap'
          ? 'sdk-/home/agentos'
          : expect.stringMatching(/^sdk-\/.*\/root\/home\/agentos$/),
      close: {how: 'exited'},
    })
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['spawn', true],
      ['initialize', true],
      ['session/new', true],
      ['close', true],
    ])
    for (const step of report.steps) expect(step.ms).toBeGreaterThanOrEqual(0)
  })

  it('sends one prompt, streams the updates, and answers the agent’s fs request from the VM', async () => {
    const {report} = await agentRun([sdkAgent, '--agent=sdk-agent', '--prompt', 'ping', '--', 'extra'])
    expect(report.outcome).toBe('ok')
    // launchArgs come before the caller's args; agent.env reaches the agent.
    expect(report.prompt).toMatchObject({
      stopReason: 'end_turn',
      reply: 'echo from sdk-agent: ping (launch args: --acp --verbose extra; SDK_AGENT_MODE=from-agent-env)',
    })
    expect(report.prompt!.updates).toHaveLength(2)
    const human = await runProcess([
      'run',
      sdkAgent,
      '--agent',
      '--prompt',
      'hi',
      '-e',
      'SDK_AGENT_MODE=from-user',
    ])
    expect(human.exitCode).toBe(0)
    // The user env wins over agent.env; the reply streams before the summary.
    expect(human.stdout).toMatch(/^echo from sdk-agent: hi \(.*SDK_AGENT_MODE=from-user\)\n/)
    expect(human.stdout).toContain('session:       sdk-/home/agentos')
    expect(human.stdout).toMatch(/✔ +initialize +\d/)
    expect(human.stdout).toContain('✔ ok (exit 0)')
  })

  it('runs the packed example agent (the spec’s agent quick start)', async () => {
    const result = await runProcess(['run', example('my-agent-package'), '--agent'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('agentInfo:     my-agent 0.3.0')
    expect(result.stdout).toContain('session:       session-1')
  })
})

describe('run --agent: failure outcomes', () => {
  it('times out on an agent that never answers (exit 4), and stops it', async () => {
    const {report, exitCode, ms} = await agentRun([
      runFixture('agents/hang'),
      '--agent',
      '--init-timeout',
      '400',
    ])
    expect(exitCode).toBe(4)
    expect(report).toMatchObject({
      outcome: 'timeout',
      error: {message: 'initialize got no answer within 400 ms'},
    })
    expect(report.stderrTail).toContain('hang: started')
    expect(report.close?.how).toBe('SIGTERM')
    expect(ms).toBeLessThan(400 + 5000 + 15_000)
  })

  it('SIGKILLs an agent that ignores SIGTERM after --kill-after', async () => {
    const {report, exitCode} = await agentRun([
      runFixture('agents/hang'),
      '--agent',
      '--init-timeout',
      '300',
      '--kill-after',
      '300',
      '-e',
      'HANG_IGNORE_TERM=1',
    ])
    expect(exitCode).toBe(4)
    expect(report.close?.how).toBe('SIGKILL')
  })

  it('reports a protocol error for garbage on stdout (exit 3) at once, not after the timeout', async () => {
    const {report, exitCode, ms} = await agentRun([
      runFixture('agents/garbage'),
      '--agent',
      '--init-timeout',
      '20000',
    ])
    expect(exitCode).toBe(3)
    expect(report).toMatchObject({
      outcome: 'protocol-error',
      error: {line: 'Welcome to Garbage Agent v0! Type /help for help.'},
    })
    expect(ms).toBeLessThan(20_000)
  })

  it('reports a JSON-RPC error and a wrong protocol version as protocol errors', async () => {
    const rpc = await agentRun([runFixture('agents/garbage'), '--agent', '-e', 'GARBAGE_MODE=rpc-error'])
    expect(rpc.exitCode).toBe(3)
    expect(rpc.report.error).toMatchObject({code: -32000})
    expect(rpc.report.error!.message).toContain('model not configured')
    const version = await agentRun([runFixture('agents/garbage'), '--agent', '-e', 'GARBAGE_MODE=version'])
    expect(version.exitCode).toBe(3)
    expect(version.report.error!.message).toContain('protocolVersion 99')
  })

  it('reports a crash with the tail of its stderr (exit 5)', async () => {
    const {report, exitCode} = await agentRun([runFixture('agents/die'), '--agent'])
    expect(exitCode).toBe(5)
    expect(report.outcome).toBe('crashed')
    expect(report.error!.message).toContain('exit code 7')
    expect(report.stderrTail).toContain('die: fatal: cannot read /home/agentos/.die/config.toml')
    const human = await runProcess(['run', runFixture('agents/die'), '--agent'])
    expect(human.exitCode).toBe(5)
    expect(human.stdout).toContain('| die: fatal: cannot read')
  })

  it('refuses --agent without an agent package, and an unknown agent name', async () => {
    const none = await runProcess(['run', runFixture('sh-tool'), '--agent'])
    expect(none.exitCode).toBe(125)
    expect(none.stderr).toContain('ERR_AGENTOS_RUN_NO_AGENT')
    const unknown = await runProcess(['run', sdkAgent, runFixture('agents/die'), '--agent=nope'])
    expect(unknown.stderr).toContain('ERR_AGENTOS_RUN_AGENT_NOT_FOUND')
    const ambiguous = await runProcess(['run', sdkAgent, runFixture('agents/die'), '--agent'])
    expect(ambiguous.stderr).toContain('ERR_AGENTOS_RUN_AGENT_AMBIGUOUS')
  })
})
