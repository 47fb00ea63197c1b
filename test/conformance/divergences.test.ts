// DIVERGENCES.md is generated from the cases and the recording; README points at it, so it must
// say what the suite checks. AGENTOS_UPDATE_DIVERGENCES=1 rewrites it.
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {type Recording, RUNTIME_VERSION} from './cases.js'
import {renderDivergences} from './divergences.js'

it('DIVERGENCES.md is the table generated from the cases and the recording', async () => {
  const recording = JSON.parse(
    await readFile(join(import.meta.dirname, `recorded-${RUNTIME_VERSION}.json`), 'utf8'),
  ) as Recording
  const file = join(import.meta.dirname, 'DIVERGENCES.md')
  const expected = renderDivergences(recording)
  if (process.env.AGENTOS_UPDATE_DIVERGENCES === '1') await writeFile(file, expected)
  expect(await readFile(file, 'utf8').catch(() => '')).toBe(expected)
})
