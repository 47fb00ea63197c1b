import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {memberPath, normalizedMode, type PackageEntry, treeDigest} from '../../../src/package/snapshot.js'

const sha = (content: string) => createHash('sha256').update(content).digest('hex')
const file = (path: string, content: string, mode = 0o644): PackageEntry => ({
  path,
  kind: 'file',
  mode,
  size: content.length,
  sha256: sha(content),
})
const link = (path: string, target: string): PackageEntry => ({
  path,
  kind: 'symlink',
  mode: 0o777,
  size: 0,
  linkTarget: target,
})
const dir = (path: string): PackageEntry => ({path, kind: 'dir', mode: 0o755, size: 0})

const base = (): PackageEntry[] => [
  file('bin/tool', '#!/usr/bin/env node\n', 0o755),
  file('package.json', '{"name":"x"}'),
  link('node_modules/.bin/tool', '../tool/cli.js'),
  file('node_modules/tool/cli.js', 'console.log(1)\n'),
]
const sorted = (entries: PackageEntry[]) =>
  [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))

describe('normalizedMode', () => {
  it('maps any exec bit to 0755 and everything else to 0644', () => {
    expect(normalizedMode(0o755)).toBe(0o755)
    expect(normalizedMode(0o700)).toBe(0o755)
    expect(normalizedMode(0o001)).toBe(0o755)
    expect(normalizedMode(0o010)).toBe(0o755)
    expect(normalizedMode(0o644)).toBe(0o644)
    expect(normalizedMode(0o600)).toBe(0o644)
    expect(normalizedMode(0o666)).toBe(0o644)
    expect(normalizedMode(0)).toBe(0o644)
  })
})

describe('treeDigest', () => {
  it('is a sha256: digest and deterministic', () => {
    const digest = treeDigest(sorted(base()))
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(treeDigest(sorted(base()))).toBe(digest)
  })

  it('digests an empty tree', () => {
    expect(treeDigest([])).toBe(`sha256:${createHash('sha256').digest('hex')}`)
  })

  // Regression (fixed): the JSDoc says the digest is computed "in byte-wise path order", but treeDigest hashes the
  // entries in the order it is given; only finishSnapshot sorts them first. An exported content
  // address should not depend on the caller sorting (e.g. ['b','a'] vs ['a','b'] give different
  // digests).
  it('does not depend on the input order', () => {
    const entries = sorted(base())
    expect(treeDigest([...entries].reverse())).toBe(treeDigest(entries))
  })

  it('changes when an exec bit is set or cleared', () => {
    const plain = sorted(base())
    const flipped = plain.map((e) => (e.path === 'package.json' ? {...e, mode: 0o744} : e))
    const cleared = plain.map((e) => (e.path === 'bin/tool' ? {...e, mode: 0o644} : e))
    expect(treeDigest(flipped)).not.toBe(treeDigest(plain))
    expect(treeDigest(cleared)).not.toBe(treeDigest(plain))
  })

  it('ignores mode differences that normalize to the same mode', () => {
    const plain = sorted(base())
    const variant = plain.map((e) =>
      e.path === 'bin/tool' ? {...e, mode: 0o711} : e.path === 'package.json' ? {...e, mode: 0o600} : e,
    )
    expect(treeDigest(variant)).toBe(treeDigest(plain))
  })

  it('changes when a content hash changes', () => {
    const plain = sorted(base())
    const changed = plain.map((e) => (e.path === 'package.json' ? {...e, sha256: sha('{"name":"y"}')} : e))
    expect(treeDigest(changed)).not.toBe(treeDigest(plain))
  })

  it('changes when a path changes', () => {
    const plain = sorted(base())
    const renamed = sorted(plain.map((e) => (e.path === 'bin/tool' ? {...e, path: 'bin/tool2'} : e)))
    expect(treeDigest(renamed)).not.toBe(treeDigest(plain))
  })

  it('changes when a symlink target changes', () => {
    const plain = sorted(base())
    const relinked = plain.map((e) => (e.kind === 'symlink' ? {...e, linkTarget: '../other/cli.js'} : e))
    expect(treeDigest(relinked)).not.toBe(treeDigest(plain))
  })

  it('tells a file from a symlink with the same path', () => {
    const asFile = [file('x', 'y')]
    const asLink = [link('x', 'y')]
    expect(treeDigest(asFile)).not.toBe(treeDigest(asLink))
  })

  it('does not let path and content run together', () => {
    // ("ab", hash h) and ("a", ...) must not collide through concatenation
    const one = [file('a', 'x'), file('b', 'x')]
    const two = [file('a', 'x'), file('c', 'x')]
    expect(treeDigest(one)).not.toBe(treeDigest(two))
  })

  it('ignores directories, size and header bytes', () => {
    const plain = sorted(base())
    const withDirs = sorted([
      ...plain,
      dir('bin'),
      dir('node_modules'),
      dir('node_modules/tool'),
      dir('empty'),
    ])
    expect(treeDigest(withDirs)).toBe(treeDigest(plain))
    const noise = plain.map((e) => ({...e, size: 999, head: Buffer.from('junk')}))
    expect(treeDigest(noise)).toBe(treeDigest(plain))
  })

  it('throws for a file without a content hash', () => {
    expect(() => treeDigest([{path: 'x', kind: 'file', mode: 0o644, size: 0}])).toThrow(
      /no content hash for x/,
    )
  })

  it('does not need a hash for directories and symlinks', () => {
    expect(() => treeDigest([dir('a'), link('b', 'a')])).not.toThrow()
  })
})

describe('memberPath', () => {
  it.each([
    ['package/x', 'package/x'],
    ['./package/x', 'package/x'],
    ['././package/x', 'package/x'],
    ['package/', 'package'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/b/../c', 'a/c'],
    ['./', ''],
    ['.', ''],
    ['', ''],
    ['./.', ''],
  ])('maps %j to %j', (name, path) => {
    expect(memberPath(name)).toBe(path)
  })

  // Regression (fixed): "a/.." names the root itself, like "./" or ".", but normalizePackagePath calls it 'empty'
  // and memberPath turns that into null, i.e. "leaves the root" (the JSDoc's meaning of null).
  it('maps "a/.." (the root) to "" rather than null', () => {
    expect(memberPath('a/..')).toBe('')
  })

  it.each(['../x', './../x', 'a/../../x', '..', '/abs', '/', 'a\\b', 'a\0b'])('refuses %j', (name) => {
    expect(memberPath(name)).toBeNull()
  })
})
