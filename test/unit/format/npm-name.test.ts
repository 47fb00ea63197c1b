import {describe, expect, it} from 'vitest'
import {isNpmPackageName, isPlainNpmName, NPM_NAME_MAX} from '../../../src/format/npm-name.js'

describe('isNpmPackageName', () => {
  it.each(['my-tool', '@scope/my-tool', 'A.b_c~d', 'x'.repeat(NPM_NAME_MAX)])('accepts %j', (name) => {
    expect(isNpmPackageName(name)).toBe(true)
  })
  it.each(['', '.x', '_x', '@scope/', 'a/b', 'a b', 'x'.repeat(NPM_NAME_MAX + 1)])('rejects %j', (name) => {
    expect(isNpmPackageName(name)).toBe(false)
  })
})

describe('isPlainNpmName', () => {
  it.each(['my-tool', 'a.b_c', '0x'])('accepts %j', (name) => {
    expect(isPlainNpmName(name)).toBe(true)
  })
  it.each(['My-tool', '@scope/x', 'a~b', '-x', 'x'.repeat(NPM_NAME_MAX + 1)])('rejects %j', (name) => {
    expect(isPlainNpmName(name)).toBe(false)
  })
})
