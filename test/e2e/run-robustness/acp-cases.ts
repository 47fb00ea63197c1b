/**
 * The cases of the ACP robustness tests (acp-robustness-*.test.ts, split by isolation mode so that
 * vitest runs the two halves in parallel; each half is about a minute of waiting on agents).
 *
 * ACP robustness (issue 7, section 6): agents that never answer `initialize`, answer garbage,
 * answer with another protocol version, exit mid-handshake, flood stderr (or stdout, with one
 * endless line), or ignore SIGTERM each
 * get their own outcome and exit code within their timeout, in every isolation mode, and no
 * process of theirs is left running afterwards (checked in the process table).
 *
 * Real processes of the built CLI (`npm run build` first), through `run --agent --json`. Each run
 * passes the agent a unique `--marker=<uuid>` argument (agents that start helpers pass it on), so
 * the process table check finds this run's processes and no one else's.
 */
import {spawn} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'
import {cliCommand, hasStackTrace, ROOT, runProcess} from '../../helpers/cli.js'
import {ISOLATIONS, type Isolation, requiresIsolation} from '../../helpers/requirements.js'
import {processesMatching, runFixture} from '../../helpers/run-fixtures.js'

/** What a loaded two-core machine may add to a step's own time limit. */
const SLACK = 3000
/** "At once": an answer that does not wait for any timeout (agent start-up included), with the
 * timeouts of those cases set far above it. */
const QUICK = 10_000
/** Node.js start, loading the CLI and assembling the VM, around the handshake itself. */
const STARTUP_SLACK = 20_000
/** spawn.ts keeps this much of the agent's stderr. */
const TAIL_BYTES = 8192

interface Report {
  outcome: string
  exitCode: number
  isolation: string
  steps: Array<{step: string; ms: number; ok: boolean; detail?: string}>
  protocolVersion?: unknown
  sessionId?: string
  error?: {message: string; code?: number; line?: string}
  stderrTail: string
  exit?: {code: number | null; signal: string | null}
  close?: {how: string; ms: number}
}

interface AgentRun {
  report: Report
  exitCode: number
  stdout: string
  /** Wall time of the whole CLI process. */
  ms: number
  marker: string
}

/** Runs `run <agent> --agent --json` and checks that nothing with the run's marker survives it. */
async function agentRun(agent: string, flags: string[], json = true): Promise<AgentRun> {
  const marker = `acp-robustness-${randomUUID()}`
  const start = performance.now()
  const result = await runProcess([
    'run',
    runFixture(`agents/${agent}`),
    '--agent',
    ...flags,
    ...(json ? ['--json'] : []),
    '--',
    `--marker=${marker}`,
  ])
  const ms = performance.now() - start
  expect(hasStackTrace(result.stderr), result.stderr).toBe(false)
  // A process killed at the end may take a moment to be reaped after the CLI has exited.
  let left = await processesMatching(marker)
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    left = await processesMatching(marker)
  }
  // Killed before the assertion, so that a failing case leaves nothing running either.
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Gone meanwhile.
    }
  }
  expect(left, `processes left by ${agent}`).toEqual([])
  return {
    report: json ? (JSON.parse(result.stdout) as Report) : ({} as Report),
    exitCode: result.exitCode,
    stdout: result.stdout,
    ms,
    marker,
  }
}

const stepsOf = (report: Report) => report.steps.map((s) => [s.step, s.ok])

/** The robustness cases in one isolation mode (one test file each, so the two run side by side). */
export function acpRobustness(isolation: Isolation): void {
  describe(`ACP robustness (${isolation})`, () => {
    const iso = ['--isolation', isolation]
    beforeEach((context) => requiresIsolation(context, isolation))

    it('never answers initialize: timeout (exit 4) at --init-timeout, then stopped', async () => {
      const init = 1500
      const {report, exitCode, ms} = await agentRun('hang', [...iso, '--init-timeout', String(init)])
      expect(exitCode).toBe(4)
      expect(report).toMatchObject({
        outcome: 'timeout',
        isolation,
        error: {message: `initialize got no answer within ${init} ms`},
        close: {how: 'SIGTERM'},
      })
      const step = report.steps.find((s) => s.step === 'initialize')!
      expect(step.ms).toBeGreaterThanOrEqual(init - 50)
      expect(step.ms).toBeLessThan(init + SLACK)
      expect(ms).toBeLessThan(init + 500 + 5000 + STARTUP_SLACK)
    })

    it('answers garbage: protocol error (exit 3) at once, long before the timeout', async () => {
      const init = 30_000
      const {report, exitCode, ms} = await agentRun('garbage', [...iso, '--init-timeout', String(init)])
      expect(exitCode).toBe(3)
      expect(report).toMatchObject({
        outcome: 'protocol-error',
        error: {line: 'Welcome to Garbage Agent v0! Type /help for help.'},
      })
      expect(report.steps.find((s) => s.step === 'initialize')!.ms).toBeLessThan(QUICK)
      // The agent does not exit on its own: the close sequence still had to stop it.
      expect(report.close?.how).toBe('SIGTERM')
      expect(ms).toBeLessThan(init)
    })

    it('answers with another protocol version: protocol error (exit 3), no session is opened', async () => {
      for (const [version, shown] of [
        ['2', '2'],
        ['0', '0'],
        ['"1"', '"1"'],
      ] as const) {
        const {report, exitCode} = await agentRun('wrong-version', [
          ...iso,
          '--init-timeout',
          '30000',
          '-e',
          `WRONG_VERSION=${version}`,
        ])
        expect(exitCode, version).toBe(3)
        expect(report.outcome).toBe('protocol-error')
        expect(report.error!.message).toBe(
          `the agent answered protocolVersion ${shown}; this client speaks 1`,
        )
        // The failed check is the initialize step's; session/new is never sent.
        expect(stepsOf(report)).toEqual([
          ['spawn', true],
          ['initialize', false],
          ['close', true],
        ])
        expect(report.sessionId).toBeUndefined()
        expect(report.stderrTail).not.toContain('session/new')
        // It exits once its stdin closes (or, on a slow machine, at the SIGTERM 500 ms later).
        expect(['exited', 'SIGTERM']).toContain(report.close?.how)
      }
    })

    it('exits mid-handshake: crashed (exit 5), after initialize or in the middle of its answer', async () => {
      const afterInit = await agentRun('exit-mid-handshake', [...iso, '--session-timeout', '30000'])
      expect(afterInit.exitCode).toBe(5)
      expect(afterInit.report).toMatchObject({
        outcome: 'crashed',
        error: {message: 'the agent exited (exit code 3) before answering'},
        exit: {code: 3},
        close: {how: 'exited'},
      })
      expect(stepsOf(afterInit.report)).toEqual([
        ['spawn', true],
        ['initialize', true],
        ['session/new', false],
        ['close', true],
      ])
      expect(afterInit.report.stderrTail).toContain('exit-mid-handshake: dying on session/new')
      expect(afterInit.report.steps.find((s) => s.step === 'session/new')!.ms).toBeLessThan(QUICK)

      // A half-written answer is what the crash left, not a protocol violation.
      const partial = await agentRun('exit-mid-handshake', [
        ...iso,
        '--init-timeout',
        '30000',
        '-e',
        'EXIT_MODE=partial',
      ])
      expect(partial.exitCode).toBe(5)
      expect(partial.report).toMatchObject({
        outcome: 'crashed',
        error: {
          message: 'the agent exited (exit code 3) in the middle of a message',
          line: '{"jsonrpc":"2.0","id":0,"result":{"protocolVer',
        },
        exit: {code: 3},
      })
      expect(partial.report.steps.find((s) => s.step === 'initialize')!.ms).toBeLessThan(QUICK)
    })

    it('crashes on initialize (the die agent): crashed (exit 5) with its stderr', async () => {
      const {report, exitCode} = await agentRun('die', [...iso, '--init-timeout', '30000'])
      expect(exitCode).toBe(5)
      expect(report).toMatchObject({outcome: 'crashed', exit: {code: 7}})
      expect(report.stderrTail).toContain('die: fatal: cannot read /home/agentos/.die/config.toml')
    })

    it('floods stderr: timeout (exit 4) on time, stderr drained all along, only a bounded tail kept', async () => {
      const init = 2000
      const {report, exitCode, ms, stdout} = await agentRun('stderr-flood', [
        ...iso,
        '--init-timeout',
        String(init),
      ])
      expect(exitCode).toBe(4)
      expect(report).toMatchObject({
        outcome: 'timeout',
        error: {message: `initialize got no answer within ${init} ms`},
      })
      const step = report.steps.find((s) => s.step === 'initialize')!
      expect(step.ms).toBeLessThan(init + SLACK)
      expect(ms).toBeLessThan(init + 500 + 5000 + STARTUP_SLACK)
      // The flood went on (megabytes were read while waiting), and only the tail was kept.
      expect(Buffer.byteLength(report.stderrTail)).toBeLessThanOrEqual(TAIL_BYTES)
      const counts = [...report.stderrTail.matchAll(/stderr-flood: (\d+) bytes written/g)].map((m) =>
        Number(m[1]),
      )
      expect(counts.at(-1)).toBeGreaterThanOrEqual(2 * 1024 * 1024)
      expect(stdout.length).toBeLessThan(4 * TAIL_BYTES)
    })

    it('floods stdout with one endless line: bounded, protocol error (exit 3), timeouts still on time', async () => {
      const {report, exitCode} = await agentRun('stdout-flood', [...iso, '--init-timeout', '30000'])
      expect(exitCode).toBe(3)
      expect(report).toMatchObject({
        outcome: 'protocol-error',
        error: {message: 'the agent wrote a line of more than 67108864 characters to stdout'},
      })
      expect(report.error!.line!.length).toBeLessThanOrEqual(200)
      expect(report.steps.find((s) => s.step === 'initialize')!.ms).toBeLessThan(30_000)
      // Before the line reaches the limit, a short timeout fires on time: the flood does not stall
      // the client's event loop.
      const init = 300
      const short = await agentRun('stdout-flood', [...iso, '--init-timeout', String(init)])
      expect(short.exitCode).toBe(4)
      expect(short.report.error!.message).toBe(`initialize got no answer within ${init} ms`)
      expect(short.report.steps.find((s) => s.step === 'initialize')!.ms).toBeLessThan(init + SLACK)
    })

    it('ignores SIGTERM (and so does its helper): SIGKILL to the whole tree after the --kill-after grace', async () => {
      // A well-behaved handshake: the outcome is ok, and closing is what takes the grace. A short
      // grace: the default's 5 s would only make the suite wait (the default is the same code path).
      const grace = 1000
      const {report, exitCode, ms} = await agentRun('ignore-sigterm', [...iso, '--kill-after', String(grace)])
      expect(exitCode).toBe(0)
      expect(report).toMatchObject({
        outcome: 'ok',
        sessionId: 'stubborn-1',
        close: {how: 'SIGKILL'},
        exit: {signal: 'SIGKILL'},
      })
      expect(report.stderrTail).toContain('ignore-sigterm: ignoring SIGTERM')
      // stdin close (500 ms), SIGTERM, the grace, SIGKILL.
      expect(report.close!.ms).toBeGreaterThanOrEqual(grace)
      expect(report.close!.ms).toBeLessThan(500 + grace + SLACK)
      expect(ms).toBeLessThan(500 + grace + STARTUP_SLACK)
    })

    it('exits on stdin close but leaves a helper that ignores SIGTERM: the helper is killed too', async () => {
      // agentRun's process table check is the assertion that matters: path-mapped, nothing but the
      // client can stop what the agent left behind.
      const {report, exitCode} = await agentRun('ignore-sigterm', [...iso, '-e', 'IGNORE_MODE=orphan'])
      expect(exitCode).toBe(0)
      expect(report.outcome).toBe('ok')
      // The agent exits on stdin close (on a slow machine, at the SIGTERM 500 ms later).
      expect(['exited', 'SIGTERM']).toContain(report.close?.how)
      expect(report.close!.ms).toBeLessThan(500 + SLACK)
    })
  })
}

/** The cases that need no isolation mode of their own, or loop over both. */
export function acpRobustnessOnce(): void {
  describe('ACP robustness: human output', () => {
    it('a stderr flood shows a bounded tail, not megabytes', async () => {
      const {exitCode, stdout} = await agentRun('stderr-flood', ['--init-timeout', '1500'], false)
      expect(exitCode).toBe(4)
      expect(stdout).toContain('stderr-flood:')
      expect(stdout.length).toBeLessThan(4 * TAIL_BYTES)
    })
  })

  describe('ACP robustness: a signal to the CLI', () => {
    it.for(ISOLATIONS)(
      '%s: SIGTERM mid-handshake stops the agent (SIGKILL after --kill-after), removes the root, and ends the CLI by SIGTERM',
      async (isolation, context) => {
        requiresIsolation(context, isolation)
        const marker = `acp-robustness-${randomUUID()}`
        const tmp = await mkdtemp(join(tmpdir(), 'agentos-acp-signal-'))
        try {
          const {file, prefix} = cliCommand()
          const start = performance.now()
          const child = spawn(
            file,
            [
              ...prefix,
              'run',
              runFixture('agents/hang'),
              '--agent',
              '--isolation',
              isolation,
              '--init-timeout',
              '60000',
              '--kill-after',
              '1000',
              '-e',
              'HANG_IGNORE_TERM=1',
              '--json',
              '--',
              `--marker=${marker}`,
            ],
            {cwd: ROOT, env: {...process.env, TMPDIR: tmp}, stdio: ['ignore', 'pipe', 'pipe']},
          )
          let stderr = ''
          child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
          child.stdout.resume()
          const ended = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) =>
            child.on('close', (code, signal) => resolve({code, signal})),
          )
          // Wait for the agent (bwrap or the agent itself: argv with the marker, other than the
          // CLI's own) before signalling the CLI, then a little for the agent to be at work.
          const agentUp = async () => (await processesMatching(marker)).some((pid) => pid !== child.pid)
          for (let i = 0; i < 300 && !(await agentUp()); i++) {
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          expect(await agentUp(), stderr).toBe(true)
          await new Promise((resolve) => setTimeout(resolve, 500))
          const signalled = performance.now()
          child.kill('SIGTERM')
          const end = await ended
          expect(end, stderr).toEqual({code: null, signal: 'SIGTERM'})
          // stdin close (500 ms), SIGTERM ignored, SIGKILL after 1000 ms.
          expect(performance.now() - signalled).toBeLessThan(500 + 1000 + 2 * SLACK)
          expect(performance.now() - start).toBeLessThan(60_000)
          let left = await processesMatching(marker)
          for (let i = 0; i < 30 && left.length > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100))
            left = await processesMatching(marker)
          }
          for (const pid of left) process.kill(pid, 'SIGKILL')
          expect(left).toEqual([])
          expect((await readdir(tmp)).filter((name) => name.startsWith('agentos-run-'))).toEqual([])
        } finally {
          await rm(tmp, {recursive: true, force: true})
        }
      },
    )
  })
}
