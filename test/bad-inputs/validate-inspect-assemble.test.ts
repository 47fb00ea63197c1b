// The bad-input corpus (cases.ts): validate, inspect and assemble-wasm rows, and the corpus's own
// size and shape. Runs against dist/: `npm run build` first.
import {describe, expect, it} from 'vitest'
import {CASES} from './cases.js'
import {registerCases} from './run-case.js'

const COMMANDS = ['validate', 'inspect', 'pack', 'assemble-wasm']
const commandOf = (id: string) => id.slice(0, id.indexOf('/'))

describe('bad inputs: validate, inspect and assemble-wasm', () => {
  registerCases(CASES.filter((c) => !['pack', 'run'].includes(commandOf(c.id))))
})

describe('the corpus itself', () => {
  it('holds at least 60 distinct cases, at least 10 for each command', () => {
    const ids = CASES.map((c) => c.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBeGreaterThanOrEqual(60)
    for (const c of CASES) expect(c.id).toMatch(/^(validate|inspect|pack|assemble-wasm|run)\/[a-z0-9-]+$/)
    for (const command of COMMANDS) {
      expect(CASES.filter((c) => commandOf(c.id) === command).length, command).toBeGreaterThanOrEqual(10)
    }
  })
})
