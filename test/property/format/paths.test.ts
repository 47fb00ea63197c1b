import {posix} from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {checkVmPath, normalizePackagePath} from '../../../src/format/paths.js'
import {memberPath} from '../../../src/package/snapshot.js'
import {configureFastCheck} from '../../helpers/seed.js'

const RUNS = 1500
configureFastCheck(RUNS, 'test/property/paths.test.ts')

// Paths built from the pieces that make traversal: dot segments, empty segments, separators of
// both kinds, control characters, plus ordinary names; and fully arbitrary strings.
const piece = fc.constantFrom(
  '..',
  '.',
  '',
  'a',
  'b',
  'node_modules',
  '...',
  '.x',
  'a\\b',
  '\u0000',
  '\n',
  ' ',
  '~',
)
const pathLike = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('', '/', './', '../', '//'),
      fc.array(piece, {maxLength: 8}),
      fc.constantFrom('', '/', '/.'),
    )
    .map(([head, parts, tail]) => `${head}${parts.join('/')}${tail}`),
  fc.string(),
)

const ROOT = '/pkg/root'
const inside = (path: string) => path === ROOT || path.startsWith(`${ROOT}/`)

describe('normalizePackagePath', () => {
  it('never yields a path that leaves the root, and is idempotent', () => {
    fc.assert(
      fc.property(pathLike, (input) => {
        const result = normalizePackagePath(input)
        if ('issue' in result) return
        const {path} = result
        // Canonical: relative, no empty, "." or ".." segment, no trailing slash.
        expect(path.startsWith('/')).toBe(false)
        expect(path.split('/').some((s) => s === '' || s === '.' || s === '..')).toBe(false)
        // Joined to any root it stays inside, exactly where the input itself resolves.
        expect(inside(posix.join(ROOT, path))).toBe(true)
        // (A trailing slash of the input names the same directory.)
        expect(posix.join(ROOT, path)).toBe(posix.join(ROOT, input).replace(/\/+$/, ''))
        expect(normalizePackagePath(path)).toEqual({path})
      }),
    )
  })

  it('refuses every input that resolves outside the root or to the root itself', () => {
    fc.assert(
      fc.property(pathLike, (input) => {
        const resolved = posix.join(ROOT, input)
        const escapes = input.startsWith('/') || !inside(resolved) || resolved === ROOT
        if (escapes) expect('issue' in normalizePackagePath(input)).toBe(true)
      }),
    )
  })
})

/** checkVmPath as the spec words it, written independently of the implementation. */
function referenceVmIssue(input: string): string | null {
  if (input === '') return 'empty'
  if (/[\u0000-\u001f\u007f]/.test(input)) return 'control-char'
  if (!input.startsWith('/')) return 'not-absolute'
  const segments = input.split('/').slice(1)
  if (segments.includes('..')) return 'escapes'
  if (input === '/') return null
  return segments.some((s) => s === '' || s === '.') ? 'not-normalized' : null
}

describe('checkVmPath', () => {
  it('agrees with the reference model', () => {
    fc.assert(
      fc.property(pathLike, (input) => {
        expect(checkVmPath(input)).toBe(referenceVmIssue(input))
      }),
    )
  })
})

describe('memberPath (tar member names)', () => {
  it('maps every member name to a path inside the package root, or refuses it', () => {
    fc.assert(
      fc.property(pathLike, (name) => {
        const path = memberPath(name)
        if (path === null) return
        if (path === '') return // the archive root itself ("..")
        expect(inside(posix.join(ROOT, path))).toBe(true)
        expect(normalizePackagePath(path)).toEqual({path})
      }),
    )
  })
})
