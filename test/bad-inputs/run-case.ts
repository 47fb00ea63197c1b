import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {type CliRun, hasStackTrace, runInProcess, runProcess} from '../helpers/cli.js'
import {IS_ROOT, NOBODY, sharedTempDir, unprivilegedSkipReason} from '../helpers/privileges.js'
import {snapshotTree} from '../helpers/tree.js'
import type {BadInputCase} from './cases.js'

interface Doc {
  ok?: boolean
  error?: {code?: string; hint?: string; details?: unknown}
  problems?: Array<{code?: string}>
  validation?: {problems?: Array<{code?: string}>}
}

/** stdout must be exactly one JSON document: JSON.parse refuses two documents or trailing text. */
function parseOnlyDocument(stdout: string): Doc {
  expect(stdout.trim().startsWith('{'), `stdout is not a JSON object:\n${stdout.slice(0, 500)}`).toBe(true)
  return JSON.parse(stdout) as Doc
}

/** Every code the document reports: the error's, its detail problems', and a report's problems'. */
function reportedCodes(doc: Doc): string[] {
  const details = Array.isArray(doc.error?.details) ? (doc.error.details as Array<{code?: unknown}>) : []
  return [
    doc.error?.code,
    ...details.map((d) => d.code),
    ...(doc.problems ?? []).map((p) => p.code),
    ...(doc.validation?.problems ?? []).map((p) => p.code),
  ].filter((code): code is string => typeof code === 'string')
}

function expectHandled(run: CliRun, label: string): void {
  expect(run.escaped, `${label}: an error escaped the command`).toBeUndefined()
  expect(run.handled, `${label}: the process was killed by a signal`).toBe(true)
  expect(hasStackTrace(run.stderr), `${label}: stack trace on stderr:\n${run.stderr}`).toBe(false)
  expect(hasStackTrace(run.stdout), `${label}: stack trace on stdout:\n${run.stdout.slice(0, 2000)}`).toBe(
    false,
  )
}

type Runner = (args: string[]) => Promise<CliRun>

/**
 * Runs one case twice, with --json and without, and checks: the exit code; stdout is one JSON
 * document holding the expected code and no ERR_AGENTOS_INTERNAL; no stack trace anywhere; the
 * human run prints `error <CODE>: …` and a hint on stderr (a refusal) or the code in its report;
 * and not one byte in the case directory changed (every case is refused or only read).
 */
async function check(testCase: BadInputCase, args: string[], run: Runner, dir: string, label: string) {
  const before = await snapshotTree(dir)
  // Before `run`'s `--`: after it, --json would be the guest's argument.
  const end = args.includes('--') ? args.indexOf('--') : args.length
  const json = await run([...args.slice(0, end), '--json', ...args.slice(end)])
  expectHandled(json, `${label} --json`)
  expect(json.exitCode, `${label} --json exit code; stdout:\n${json.stdout.slice(0, 1500)}`).toBe(
    testCase.exit,
  )
  const doc = parseOnlyDocument(json.stdout)
  const codes = reportedCodes(doc)
  expect(codes, `${label}: codes reported`).toContain(testCase.code)
  expect(codes).not.toContain('ERR_AGENTOS_INTERNAL')
  if (testCase.errorCode) expect(doc.error?.code).toBe(testCase.errorCode)
  if (doc.error) expect(doc.error.hint, `${label}: the error has no hint`).toMatch(/\S/)

  const human = await run(args)
  expectHandled(human, label)
  expect(human.exitCode, `${label} exit code; stderr:\n${human.stderr}`).toBe(testCase.exit)
  if (doc.error) {
    expect(human.stderr).toMatch(new RegExp(`^error ${doc.error.code}: \\S`, 'm'))
    expect(human.stderr).toMatch(/^ {2}hint: \S/m)
  } else {
    expect(human.stdout).toContain(testCase.code)
    // inspect lists problems without hints; validate and assemble-wasm print each one's hint.
    if (args[0] !== 'inspect') expect(human.stdout).toMatch(/hint: \S/)
  }
  expect(await snapshotTree(dir), `${label}: the case directory changed`).toEqual(before)
}

/** Registers one vitest test per case. */
export function registerCases(cases: readonly BadInputCase[]): void {
  for (const testCase of cases) {
    it(`${testCase.id}: ${testCase.description}`, async (context) => {
      if (testCase.unprivileged) {
        const reason = unprivilegedSkipReason()
        if (reason) return context.skip(reason)
      }
      // An unprivileged process must be able to reach the case directory.
      const dir =
        testCase.unprivileged && IS_ROOT
          ? sharedTempDir('agentos-bad-input-')
          : await mkdtemp(join(tmpdir(), 'agentos-bad-input-'))
      try {
        const built = await testCase.build(dir)
        if (!Array.isArray(built)) return context.skip(built.skip)
        if (testCase.unprivileged && IS_ROOT) {
          const asNobody = (args: string[]) => runProcess(args, {uid: NOBODY, gid: NOBODY, env: {HOME: dir}})
          await check(testCase, built, asNobody, dir, `${testCase.id} (uid ${NOBODY})`)
          return
        }
        await check(testCase, built, runInProcess, dir, testCase.id)
        if (testCase.process)
          await check(testCase, built, (args) => runProcess(args), dir, `${testCase.id} (process)`)
      } finally {
        await rm(dir, {recursive: true, force: true})
      }
    })
  }
}
