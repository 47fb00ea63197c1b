#!/usr/bin/env node
// Records what the real agentOS runtime answers to every conformance case into
// recorded-<version>.json, the ground truth the default test run holds the emulation to without
// the runtime installed. Deterministic: no timings, cases in their order, fixture paths replaced.
//
//   npm run build && AGENTOS_TOOLCHAIN_RUNTIME=/tmp/agentos-rt node test/conformance/record.mjs [case-id…]
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {createJiti} from 'jiti'

const here = dirname(fileURLToPath(import.meta.url))
const jiti = createJiti(import.meta.url)
const {CASES, RUNTIME_VERSION} = await jiti.import(join(here, 'cases.ts'))
const {materializeFixtures} = await jiti.import(join(here, 'fixtures.ts'))
const {runReal, runtimeEntry} = await jiti.import(join(here, 'real.ts'))

const runtime = runtimeEntry(process.env.AGENTOS_TOOLCHAIN_RUNTIME)
if (!runtime) {
  console.error('record: set AGENTOS_TOOLCHAIN_RUNTIME to a directory holding @rivet-dev/agentos-core')
  process.exit(2)
}
if (runtime.version !== RUNTIME_VERSION) {
  console.error(
    `record: the runtime is ${runtime.version}; cases.ts records ${RUNTIME_VERSION}: change RUNTIME_VERSION first`,
  )
  process.exit(2)
}
const out = join(here, `recorded-${RUNTIME_VERSION}.json`)
const only = new Set(process.argv.slice(2))
const previous = only.size > 0 ? JSON.parse(readFileSync(out, 'utf8')).results : {}
const work = mkdtempSync(join(tmpdir(), 'agentos-conformance-record-'))
try {
  const dir = await materializeFixtures(work)
  const results = {}
  for (const testCase of CASES) {
    if (only.size > 0 && !only.has(testCase.id)) {
      if (previous[testCase.id]) results[testCase.id] = previous[testCase.id]
      continue
    }
    const result = await runReal(runtime.entry, dir, testCase)
    // Paths of this machine's temp directory never reach the recording.
    results[testCase.id] = JSON.parse(
      JSON.stringify(result)
        .replaceAll(dir, '<fixtures>')
        .replace(/request \d+/g, 'request N'),
    )
    console.error(`${testCase.id}: ${JSON.stringify(results[testCase.id]).slice(0, 160)}`)
  }
  writeFileSync(out, `${JSON.stringify({runtime: RUNTIME_VERSION, results}, null, 2)}\n`)
  console.error(`record: ${Object.keys(results).length} results → ${out}`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
