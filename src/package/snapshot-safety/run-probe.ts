/**
 * The two child processes of the snapshot-safety check: the probe that evaluates the module-init
 * code with traps on, and `node --build-snapshot` on the snapshot bundle.
 */
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {mkdtemp, readFile, realpath, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PROBE_SOURCE} from './probe.js'
import {RULES, snapshotRuleCode} from './rules.js'
import type {SnapshotBuild, SnapshotEvaluation, SnapshotFinding, SnapshotTarget} from './types.js'

interface ProbeReport {
  version: number
  outcome: {
    status: string
    name?: string
    message?: string
    code?: number | string
    called?: boolean
    ms?: number
    frames?: Array<{file: string; line: number; column: number}>
  }
  findings: Array<Omit<SnapshotFinding, 'code'>>
  /** Findings past the per-rule limit, counted by rule. */
  omitted?: Record<string, number>
}

/** What the probe reported, as the check's types. */
export interface ProbeResult {
  evaluation: SnapshotEvaluation
  findings: SnapshotFinding[]
  omitted?: Record<string, number>
}

/** Runs the probe on `target` in a fresh temporary directory with an empty environment. */
export async function runProbe(
  node: string,
  root: string,
  target: SnapshotTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const work = await mkdtemp(join(tmpdir(), 'agentos-snapshot-'))
  try {
    // Stack frames name real paths; the root must be one too for them to be recognised.
    root = await realpath(root)
    const probe = join(work, 'probe.cjs')
    const report = join(work, 'report.json')
    const log = join(work, 'output.log')
    await writeFile(probe, PROBE_SOURCE)
    const config = {
      root,
      entry: join(root, target.file),
      mode: target.kind === 'bundle' ? 'script' : 'module',
      report,
      // The probe stops itself a little before the parent would kill it, so a slow init still
      // gets its findings reported.
      deadlineMs: Math.max(100, timeoutMs - 1500),
    }
    const logFd = openSync(log, 'w')
    let exit: {code: number | null; signal: string | null; killed: boolean}
    try {
      exit = await runChild(node, [probe, JSON.stringify(config)], work, ['ignore', logFd, logFd], timeoutMs)
    } finally {
      closeSync(logFd)
    }
    const text = await readFile(report, 'utf8').catch(() => undefined)
    if (text === undefined) {
      const tail = (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-3)
        .join(' | ')
      return {
        evaluation: exit.killed
          ? {status: 'killed'}
          : {
              status: 'crashed',
              message: `${exit.signal ? `signal ${exit.signal}` : `exit ${exit.code}`}${tail ? `; ${tail}` : ''}`,
            },
        findings: [],
      }
    }
    return parseReport(JSON.parse(text) as ProbeReport)
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

function parseReport(report: ProbeReport): ProbeResult {
  const findings = report.findings
    .filter((f) => RULES.has(f.rule))
    .map((f) => ({...f, code: snapshotRuleCode(f.rule)}))
  const outcome = report.outcome
  const frame = outcome.frames?.[0]
  const at = frame ? `${frame.file}:${frame.line}${frame.column ? `:${frame.column}` : ''}` : undefined
  let evaluation: SnapshotEvaluation
  switch (outcome.status) {
    case 'ok':
      evaluation = {status: 'ok'}
      break
    case 'threw':
    case 'uncaught':
      evaluation = {
        status: outcome.status,
        message: `${outcome.status === 'uncaught' ? 'uncaught ' : ''}${outcome.name}: ${outcome.message}`,
        at,
      }
      break
    case 'exited':
      evaluation = {
        status: 'exited',
        message: outcome.called
          ? `module init ended the process (process.exit(${outcome.code}))`
          : 'top-level await never settled: the event loop ran dry while module init still waited on a promise nothing resolves',
      }
      break
    default:
      evaluation = {status: 'timeout'}
  }
  return {evaluation, findings, omitted: report.omitted}
}

/** Tries `node --snapshot-blob <tmp>/snap.blob --build-snapshot <bundle>` in a temporary dir. */
export async function buildSnapshot(node: string, bundle: string, timeoutMs: number): Promise<SnapshotBuild> {
  const work = await mkdtemp(join(tmpdir(), 'agentos-snapshot-build-'))
  try {
    const blob = join(work, 'snap.blob')
    const stderr: Buffer[] = []
    const exit = await runChild(
      node,
      ['--snapshot-blob', blob, '--build-snapshot', bundle],
      work,
      ['ignore', 'ignore', 'pipe'],
      timeoutMs,
      stderr,
    )
    const size = await stat(blob).then(
      (s) => s.size,
      () => 0,
    )
    if (exit.code === 0 && size > 0) return {ok: true, bytes: size}
    const lines = Buffer.concat(stderr)
      .toString('utf8')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.trim() !== '' && !/^#\s*$/.test(l) && !isNodeNoise(l))
      .slice(0, 5)
    return {ok: false, stderr: lines, exitCode: exit.code, signal: exit.signal, timedOut: exit.killed}
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}

const STDERR_LIMIT = 64 * 1024

function runChild(
  file: string,
  args: string[],
  cwd: string,
  stdio: Array<'ignore' | 'pipe' | number>,
  timeoutMs: number,
  stderr?: Buffer[],
): Promise<{code: number | null; signal: string | null; killed: boolean}> {
  return new Promise((resolve) => {
    // An empty environment: nothing of the caller's leaks into what the SDK could read.
    const child = spawn(file, args, {cwd, env: {}, stdio: stdio as never})
    let killed = false
    let kept = 0
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr && kept < STDERR_LIMIT) {
        stderr.push(chunk)
        kept += chunk.length
      }
    })
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', () => {
      clearTimeout(timer)
      resolve({code: null, signal: null, killed})
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, killed})
    })
  })
}

/**
 * Lines Node prints around a snapshot build that are not its outcome: the per-builtin "not yet
 * fully verified" warnings (a real SDK bundle gets one per builtin it requires), their follow-up
 * lines, and the internal frame printed above an uncaught rejection. Left in, they fill the five
 * lines reported and hide the error itself.
 */
function isNodeNoise(line: string): boolean {
  return (
    /^\(node:\d+\) Warning: It's not yet fully verified/.test(line) ||
    /^It may still work/.test(line) ||
    /^To request support for the module/.test(line) ||
    /^\(Use `node --trace-warnings/.test(line) ||
    /^node:internal\//.test(line) ||
    /^\s*triggerUncaughtException\(/.test(line) ||
    /^\s*\^+\s*$/.test(line)
  )
}
