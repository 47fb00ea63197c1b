// Holds `run` (the emulation) to what runtime 0.2.21 answered on every conformance case, without
// the runtime: the answers are recorded-0.2.21.json. A case agrees (same result after its
// normalizer) or is marked with the WARN_AGENTOS_RUNTIME_ code `run` must say, on stderr and in
// --json. Real processes of the built CLI (npm run build first).
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProcess} from '../helpers/cli.js'
import {bwrap, requires} from '../helpers/requirements.js'
import {
  CASES,
  type CaseResult,
  type ConformanceCase,
  comparable,
  type Recording,
  RUNTIME_VERSION,
} from './cases.js'
import {emulationInputs, materializeFixtures} from './fixtures.js'

let work: string
let dir: string
let recording: Recording

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-conformance-'))
  dir = await materializeFixtures(work)
  recording = JSON.parse(
    await readFile(join(import.meta.dirname, `recorded-${RUNTIME_VERSION}.json`), 'utf8'),
  ) as Recording
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

/** What `run` reports for a case, with its stderr and the warning codes it gave. */
export interface EmulationOutcome {
  result: CaseResult
  /** WARN_AGENTOS_RUNTIME_ codes on the CLI's stderr. */
  stderrCodes: string[]
  /** WARN_AGENTOS_RUNTIME_ codes in the --json document. */
  jsonCodes: string[]
}

const codesIn = (text: string) => [...new Set(text.match(/WARN_AGENTOS_RUNTIME_[A-Z_]+/g) ?? [])]

/** Runs a case through `node bin/run.js run … --json` and reduces the document to a CaseResult. */
async function runEmulation(testCase: ConformanceCase, fixtures: string): Promise<EmulationOutcome> {
  const inputs = await emulationInputs(fixtures, testCase.packages)
  const env = Object.entries(testCase.env ?? {}).flatMap(([name, value]) => ['-e', `${name}=${value}`])
  const {run} = testCase
  const tail =
    'agent' in run
      ? [`--agent=${run.agent}`, '--prompt', run.prompt]
      : ['--', ...('shell' in run ? ['sh', '-c', run.shell] : run.argv)]
  const cli = await runProcess(['run', ...inputs, ...env, '--json', ...tail])
  let doc: Record<string, unknown> = {}
  try {
    doc = JSON.parse(cli.stdout) as Record<string, unknown>
  } catch {
    // A refusal may print no document; the exit code says it.
  }
  const stderrCodes = codesIn(cli.stderr)
  const jsonCodes = codesIn(JSON.stringify(doc))
  if (cli.exitCode === 125) return {result: {refused: cli.stderr}, stderrCodes, jsonCodes}
  if ('agent' in run) {
    const report = doc as {
      agentInfo?: {name?: string; version?: string}
      protocolVersion?: number
      agentCapabilities?: {loadSession?: boolean}
      sessionId?: string
      prompt?: {reply?: string}
    }
    return {
      result: {
        agent: {
          name: report.agentInfo?.name,
          version: report.agentInfo?.version,
          protocolVersion: report.protocolVersion,
          loadSession: report.agentCapabilities?.loadSession,
          // The fixture agent names its session after the cwd of session/new.
          sessionCwd: report.sessionId?.replace(/^conf-/, ''),
          reply: report.prompt?.reply,
        },
      },
      stderrCodes,
      jsonCodes,
    }
  }
  // Resolution errors (not found, cannot execute) exit with run's own code and no guest output.
  if (doc.exitCode === undefined)
    return {result: {exitCode: cli.exitCode, stdout: '', stderr: cli.stderr}, stderrCodes, jsonCodes}
  return {
    result: {exitCode: doc.exitCode as number, stdout: doc.stdout as string, stderr: doc.stderr as string},
    stderrCodes,
    jsonCodes,
  }
}

describe(`conformance: the emulation against runtime ${RUNTIME_VERSION} (recorded)`, () => {
  it('has a recorded result for every case, and no result without a case', () => {
    expect(Object.keys(recording.results).sort()).toEqual(CASES.map((c) => c.id).sort())
    expect(recording.runtime).toBe(RUNTIME_VERSION)
  })

  it.for(CASES)('$id: $title', async (testCase, context) => {
    if (testCase.needsNamespace) requires(context, bwrap)
    const real = recording.results[testCase.id]!
    const {result, stderrCodes, jsonCodes} = await runEmulation(testCase, dir)
    if (testCase.emulation === 'agrees') {
      expect(comparable(testCase, result), 'the emulation gives the runtime’s result').toEqual(
        comparable(testCase, real),
      )
      return
    }
    const {warn} = testCase.emulation
    // The case documents a difference: it must still be one, and run must say so.
    expect(comparable(testCase, result), 'a warned case still differs (else mark it agrees)').not.toEqual(
      comparable(testCase, real),
    )
    expect(stderrCodes, 'the warning on stderr').toContain(warn)
    if (result.refused === undefined) expect(jsonCodes, 'the warning in --json').toContain(warn)
  })
})
