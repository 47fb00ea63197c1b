// Re-asks the real agentOS runtime every conformance case and holds it to the recording, so a new
// runtime version (or a wrong recording) shows up as a failing case. Needs the runtime
// ($AGENTOS_TOOLCHAIN_RUNTIME) and `npm run build` (the .aospkg fixture); skipped with the reason
// otherwise. After a deliberate change, re-record: node test/conformance/record.mjs.
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {agentosRuntime, requires} from '../helpers/requirements.js'
import {CASES, comparable, type Recording, RUNTIME_VERSION} from './cases.js'
import {materializeFixtures} from './fixtures.js'
import {runReal, runtimeEntry} from './real.js'

let work: string | undefined
let dir: string
let recording: Recording

beforeAll(async () => {
  recording = JSON.parse(
    await readFile(join(import.meta.dirname, `recorded-${RUNTIME_VERSION}.json`), 'utf8'),
  ) as Recording
  if (!runtimeEntry(process.env.AGENTOS_TOOLCHAIN_RUNTIME)) return
  work = await mkdtemp(join(tmpdir(), 'agentos-conformance-real-'))
  dir = await materializeFixtures(work)
})
afterAll(async () => {
  if (work) await rm(work, {recursive: true, force: true})
})

describe(`conformance: the real runtime against its recording (${RUNTIME_VERSION})`, () => {
  // One retry: on a loaded machine the runtime itself has once failed a Node.js guest's
  // spawnSync (status 1, no output) that it passes when the machine is quiet; a second failure
  // is a real disagreement with the recording.
  it.for(CASES)('$id', {timeout: 120_000, retry: 1}, async (testCase, context) => {
    requires(context, agentosRuntime)
    const runtime = runtimeEntry(process.env.AGENTOS_TOOLCHAIN_RUNTIME)
    if (!runtime) {
      return context.skip(
        'this suite drives the runtime named by AGENTOS_TOOLCHAIN_RUNTIME=<npm prefix holding @rivet-dev/agentos-core>',
      )
    }
    if (runtime.version !== RUNTIME_VERSION) {
      context.skip(
        `the runtime is ${runtime.version}; the recording is of ${RUNTIME_VERSION} (re-record with record.mjs)`,
      )
    }
    const result = await runReal(runtime.entry, dir, testCase)
    const recorded = recording.results[testCase.id]!
    expect(comparable(testCase, result)).toEqual(comparable(testCase, recorded))
  })
})
