import {describe, expect, it} from 'vitest'
import {
  checkVmPath,
  isPosixEnvName,
  isSafeSegment,
  normalizePackagePath,
  symlinkStaysInside,
} from '../../../src/format/paths.js'

describe('normalizePackagePath', () => {
  it.each([
    ['bin/x', 'bin/x'],
    ['./bin/x', 'bin/x'],
    ['a//b/../c', 'a/c'],
    ['a/./b', 'a/b'],
    ['a/', 'a'],
    ['a///', 'a'],
    ['././x', 'x'],
    ['node_modules/@scope/x/cli.js', 'node_modules/@scope/x/cli.js'],
    ['..foo', '..foo'],
    ['a/..b', 'a/..b'],
    ['.hidden/x', '.hidden/x'],
    ['a b/c d', 'a b/c d'],
    ['a/b/../../c', 'c'],
  ])('normalizes %j to %j', (input, path) => {
    expect(normalizePackagePath(input)).toEqual({path})
  })

  it.each([
    ['..', 'escapes'],
    ['../x', 'escapes'],
    ['a/../../x', 'escapes'],
    ['./../x', 'escapes'],
    ['a/../..', 'escapes'],
    ['../', 'escapes'],
    ['/abs', 'absolute'],
    ['/', 'absolute'],
    ['//x', 'absolute'],
    ['', 'empty'],
    ['.', 'empty'],
    ['./', 'empty'],
    ['a/..', 'empty'],
    ['a\\b', 'backslash'],
    ['..\\x', 'backslash'],
    ['C:\\bin\\x', 'backslash'],
    ['a\0b', 'control-char'],
    ['a\nb', 'control-char'],
    ['a\tb', 'control-char'],
    ['a\u001fb', 'control-char'],
    ['a\u007fb', 'control-char'],
  ])('refuses %j as %s', (input, issue) => {
    expect(normalizePackagePath(input)).toEqual({issue})
  })

  it('reports control characters before other issues', () => {
    expect(normalizePackagePath('/\0')).toEqual({issue: 'control-char'})
    expect(normalizePackagePath('..\\\0')).toEqual({issue: 'control-char'})
  })

  it('is idempotent on its own output', () => {
    for (const input of ['./bin/x', 'a//b/../c', 'a/./b/', 'x']) {
      const first = normalizePackagePath(input)
      expect('path' in first).toBe(true)
      if ('path' in first) expect(normalizePackagePath(first.path)).toEqual(first)
    }
  })

  it('never returns a path starting with "./", "../" or "/", or ending with "/"', () => {
    const inputs = ['./a', 'a/./', './/a//', 'a/b/..', 'x/../y/./z/', './/.//a']
    for (const input of inputs) {
      const result = normalizePackagePath(input)
      if ('path' in result) {
        expect(result.path).not.toMatch(/^(\.\/|\.\.\/|\/)|\/$/)
        expect(result.path.split('/')).not.toContain('.')
        expect(result.path.split('/')).not.toContain('..')
      }
    }
  })
})

describe('checkVmPath', () => {
  it.each(['/etc/x', '/', '/etc/example.conf', '/opt/agentos/bin/tool', '/a/.hidden', '/a/..b', '/a b'])(
    'accepts %j',
    (input) => {
      expect(checkVmPath(input)).toBeNull()
    },
  )

  it.each([
    ['', 'empty'],
    ['etc/x', 'not-absolute'],
    ['./etc/x', 'not-absolute'],
    ['../etc', 'not-absolute'],
    ['/a/../b', 'escapes'],
    ['/..', 'escapes'],
    ['/a/..', 'escapes'],
    ['/a//b', 'not-normalized'],
    ['/a/', 'not-normalized'],
    ['//', 'not-normalized'],
    ['//a', 'not-normalized'],
    ['/a/./b', 'not-normalized'],
    ['/.', 'not-normalized'],
    ['/a\0', 'control-char'],
    ['/a\nb', 'control-char'],
  ])('refuses %j as %s', (input, issue) => {
    expect(checkVmPath(input)).toBe(issue)
  })
})

describe('symlinkStaysInside', () => {
  it.each([
    ['bin/x', 'y', true],
    ['bin/x', './y', true],
    ['bin/x', '../lib/x', true],
    ['a/b/c', '../../d', true],
    ['a/b', '..', true],
    ['bin/x', '../x/../y', true],
    ['node_modules/.bin/tool', '../tool/cli.js', true],
    ['x', '.', true],
  ])('link %j → %j stays inside: %s', (link, target, inside) => {
    expect(symlinkStaysInside(link, target)).toBe(inside)
  })

  it.each([
    ['x', '../y'],
    ['a', '..'],
    ['bin/x', '../../y'],
    ['a/b/c', '../../../d'],
    ['bin/x', 'y/../../../z'],
    ['bin/x', '/usr/bin/node'],
    ['bin/x', '/'],
  ])('link %j → %j leaves the package', (link, target) => {
    expect(symlinkStaysInside(link, target)).toBe(false)
  })
})

describe('isSafeSegment', () => {
  it.each(['my-tool', 'a', '.hidden', '_stubs', 'a.b', '..x', 'x..', 'Ünïcode', 'a b', 'a\\b'])(
    'accepts %j',
    (name) => {
      expect(isSafeSegment(name)).toBe(true)
    },
  )

  it.each(['', '.', '..', 'a/b', '/', '/a', 'a/', 'a\0b', 'a\nb', 'a\tb', '\u007f'])('refuses %j', (name) => {
    expect(isSafeSegment(name)).toBe(false)
  })
})

describe('isPosixEnvName', () => {
  it.each(['A', '_', '_A', 'a', 'MY_TOOL_HOME', 'PATH', 'x1', 'A_1_b'])('accepts %j', (name) => {
    expect(isPosixEnvName(name)).toBe(true)
  })

  it.each(['', '1A', '9', 'A-B', 'A.B', 'A B', 'A=B', 'É', 'A\n', ' A', 'A$'])('refuses %j', (name) => {
    expect(isPosixEnvName(name)).toBe(false)
  })
})
