// The bad-input corpus (cases.ts), run rows: each refused before the guest starts, with the code
// validate reports for the same input. Runs against dist/: `npm run build` first.
import {describe} from 'vitest'
import {CASES} from './cases.js'
import {registerCases} from './run-case.js'

describe('bad inputs: run', () => {
  registerCases(CASES.filter((c) => c.id.startsWith('run/')))
})
