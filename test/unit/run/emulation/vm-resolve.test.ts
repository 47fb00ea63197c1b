/**
 * The path resolvers of issue 18 (a guest sees only the VM): the WASI layer's resolution of a guest
 * path inside the VM, and the package rule for links as resolved on disk.
 */
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {symlinkResolvesInside} from '../../../../src/format/paths.js'
import {preopenMap} from '../../../../src/run/emulation/wasi/contain.js'
import {resolveInVm} from '../../../../src/run/emulation/wasi/vm-resolve.js'

const table = (links: Record<string, string>) => (path: string) => links[path]

describe('symlinkResolvesInside: the package link rule', () => {
  it.each([
    ['a harmless relative link', 'bin/t', {'bin/t': '../lib/t'}, true],
    ['a link to the package root', 'd/s', {'d/s': '..'}, true],
    ['a link to its own directory', 'self', {self: '.'}, true],
    ['one level up', 'up', {up: '..'}, false],
    ['an absolute target', 'hostroot', {hostroot: '/'}, false],
    ['an absolute target into the package', 'abs', {abs: '/bin'}, false],
    ['a chain of harmless links', 'up', {'d/s': '..', up: 'd/s/d/s/../..'}, false],
    ['a link through a link to its parent', 'x', {x: 'y/..', y: 'd/e', 'd/e': '../..'}, false],
    ['a loop', 'x', {x: 'y', y: 'x'}, false],
    ['a dangling link inside', 'gone', {gone: 'missing/file'}, true],
  ])('%s', (_name, link, links, inside) => {
    expect(symlinkResolvesInside(link, table(links))).toBe(inside)
  })
})

describe('resolveInVm: guest paths resolved inside the VM root', () => {
  let dir: string
  let root: string
  let pkg: string
  let hostOf: (vmPath: string) => string | undefined
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vm-resolve-'))
    root = join(dir, 'root')
    pkg = join(dir, 'pkg')
    await mkdir(join(root, 'home/agentos'), {recursive: true})
    await mkdir(join(root, 'opt/agentos/pkgs/p/1.0.0'), {recursive: true})
    await mkdir(join(pkg, 'lib'), {recursive: true})
    await writeFile(join(pkg, 'lib/file'), 'x')
    await symlink('../../../..', join(root, 'home/agentos/up'))
    await symlink('/', join(root, 'home/agentos/abs'))
    await symlink('/opt/agentos/pkgs/p/1.0.0/lib', join(root, 'home/agentos/lib'))
    await symlink('loop2', join(root, 'home/agentos/loop1'))
    await symlink('loop1', join(root, 'home/agentos/loop2'))
    await symlink('../../..', join(pkg, 'lib/out'))
    hostOf = preopenMap([
      {guest: '/', host: root},
      {guest: '/opt/agentos/pkgs/p/1.0.0', host: pkg, readOnly: true},
    ]).hostOf
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))

  it.each([
    ['a link up and out', '/home/agentos/up/etc/passwd', '/etc/passwd'],
    ['`..` above /', '/../../../etc/passwd', '/etc/passwd'],
    ['an absolute link', '/home/agentos/abs/etc', '/etc'],
    ['a link into a package', '/home/agentos/lib/file', '/opt/agentos/pkgs/p/1.0.0/lib/file'],
    ['a package link out of it', '/opt/agentos/pkgs/p/1.0.0/lib/out/x', '/opt/agentos/pkgs/x'],
    [
      '`..` after a link is taken from its target',
      '/home/agentos/lib/../lib/file',
      '/opt/agentos/pkgs/p/1.0.0/lib/file',
    ],
  ])('%s', (_name, path, expected) => {
    expect(resolveInVm(path, true, hostOf)).toEqual({path: expected})
  })

  it('leaves the last link alone when asked', () => {
    expect(resolveInVm('/home/agentos/up', false, hostOf)).toEqual({path: '/home/agentos/up'})
    expect(resolveInVm('/home/agentos/up', true, hostOf)).toEqual({path: '/'})
  })

  it('reports a loop', () => {
    expect(resolveInVm('/home/agentos/loop1/x', true, hostOf)).toEqual({loop: true})
  })
})
