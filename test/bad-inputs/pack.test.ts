// The bad-input corpus (cases.ts), pack rows; the other commands run in a second file so vitest
// spreads the corpus over two workers. Runs against dist/: `npm run build` first.
import {describe} from 'vitest'
import {CASES} from './cases.js'
import {registerCases} from './run-case.js'

describe('bad inputs: pack', () => {
  registerCases(CASES.filter((c) => c.id.startsWith('pack/')))
})
