#!/usr/bin/env node
// Prints the conformance suite's case × engine table from a vitest JSON report (.ci/run): for each
// case, whether the emulation matched the runtime's recorded answer (or warned as the case says)
// and whether the real runtime gave that answer again.
import {readFileSync} from 'node:fs'

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const rows = new Map()
for (const file of report.testResults) {
  const engine = file.name.endsWith('emulation.test.ts')
    ? 'emulation'
    : file.name.endsWith('conformance/runtime.test.ts')
      ? 'runtime'
      : undefined
  if (!engine) continue
  for (const test of file.assertionResults) {
    // Titles are `'<id>': '<title>'` (emulation) or `'<id>'` (runtime).
    const id = /^'?([^':\s]+)'?(:|$)/.exec(test.title)?.[1]
    if (!id || test.title.startsWith('has a recorded')) continue
    const row = rows.get(id) ?? {}
    row[engine] = test.status
    rows.set(id, row)
  }
}
const width = Math.max(4, ...[...rows.keys()].map((id) => id.length))
console.log(`${'case'.padEnd(width)}  emulation  runtime 0.2.21`)
for (const [id, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`${id.padEnd(width)}  ${(row.emulation ?? '-').padEnd(9)}  ${row.runtime ?? '-'}`)
}
