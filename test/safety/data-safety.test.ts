/**
 * `--out` aimed at the user's own data — the source, a parent of it, a directory of user files, a
 * file, `/`, or any of these through a symlink or a `..` spelling — is refused, and a digest of
 * the whole surrounding tree shows not one byte changed. Also: a hostile tarball given to `pack`
 * cannot write outside the package. In-process against dist/ (`npm run build` first).
 */
import {randomBytes} from 'node:crypto'
import {mkdir, mkdtemp, readdir, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runInProcess} from '../helpers/cli.js'
import {deadPid} from '../helpers/processes.js'
import {makeProject, watModule} from '../helpers/project.js'
import {craftTar, validPackageMembers} from '../helpers/tar-craft.js'
import {snapshotTree} from '../helpers/tree.js'

let work: string
let project: string
let wasmProject: string
let userDocs: string
let userFile: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-data-safety-'))
  project = await makeProject(join(work, 'code'))
  wasmProject = join(work, 'cmds')
  await mkdir(join(wasmProject, 'build'), {recursive: true})
  await writeFile(join(wasmProject, 'package.json'), '{"name": "cmds", "version": "1.0.0"}\n')
  await writeFile(join(wasmProject, 'build/hello.wasm'), await watModule('hello'))
  userDocs = join(work, 'Documents')
  await mkdir(join(userDocs, 'taxes'), {recursive: true})
  await writeFile(join(userDocs, 'taxes/2025.pdf'), randomBytes(4096))
  await writeFile(join(userDocs, 'notes.md'), '# do not lose\n')
  userFile = join(work, 'important.txt')
  await writeFile(userFile, 'one of a kind\n')
  await symlink(project, join(work, 'link-to-code'))
  await symlink(wasmProject, join(work, 'link-to-cmds'))
  await symlink(userDocs, join(work, 'link-to-docs'))
})
afterAll(() => rm(work, {recursive: true, force: true}))

/** Refused outputs relative to a command's own source directory. */
// Thunks: the paths exist only once beforeAll has run, after the tests are collected.
const targets = (source: () => string, link: () => string): Array<[string, () => string, string]> => [
  ['the source', source, 'ERR_AGENTOS_OUT_CONTAINS_SOURCE'],
  [
    'the source, spelled with ..',
    () => join(source(), '..', basename(source())),
    'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
  ],
  ['a symlink to the source', link, 'ERR_AGENTOS_OUT_CONTAINS_SOURCE'],
  ['a parent of the source', () => join(source(), '..'), 'ERR_AGENTOS_OUT_CONTAINS_SOURCE'],
  ['the directory holding everything', () => work, 'ERR_AGENTOS_OUT_CONTAINS_SOURCE'],
  ['a directory of user files', () => userDocs, 'ERR_AGENTOS_OUT_NOT_EMPTY'],
  [
    'a directory of user files through a symlink',
    () => join(work, 'link-to-docs'),
    'ERR_AGENTOS_OUT_NOT_EMPTY',
  ],
  ['a user file', () => userFile, 'ERR_AGENTOS_OUT_IS_FILE'],
  ['/', () => '/', 'ERR_AGENTOS_OUT_IS_ROOT'],
]

const commands: Record<string, {source: () => string; link: () => string; args: (out: string) => string[]}> =
  {
    pack: {
      source: () => project,
      link: () => join(work, 'link-to-code'),
      args: (out) => ['pack', project, '--out', out, '--json'],
    },
    'assemble-wasm': {
      source: () => wasmProject,
      link: () => join(work, 'link-to-cmds'),
      args: (out) => [
        'assemble-wasm',
        join(wasmProject, 'build'),
        '--project',
        wasmProject,
        '--out',
        out,
        '--json',
      ],
    },
  }

describe('--out at the user’s own data is refused, with 0 bytes changed', () => {
  for (const [command, {source, link, args}] of Object.entries(commands)) {
    for (const [what, out, code] of targets(source, link)) {
      it(`${command} --out ${what}`, async () => {
        const before = await snapshotTree(work)
        const rootBefore = (await readdir('/')).sort()
        const run = await runInProcess(args(out()))
        expect(run.exitCode, run.stdout).toBe(1)
        expect((JSON.parse(run.stdout) as {error: {code: string}}).error.code).toBe(code)
        expect(await snapshotTree(work)).toEqual(before)
        expect((await readdir('/')).sort()).toEqual(rootBefore)
      })
    }
  }

  it('assemble-wasm --out the directory holding the input modules', async () => {
    const before = await snapshotTree(work)
    const run = await runInProcess([
      'assemble-wasm',
      join(wasmProject, 'build/hello.wasm'),
      '--project',
      wasmProject,
      '--out',
      join(wasmProject, 'build'),
      '--json',
    ])
    expect((JSON.parse(run.stdout) as {error: {code: string}}).error.code).toBe(
      'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
    )
    expect(await snapshotTree(work)).toEqual(before)
  })
})

describe('a hostile tarball given to pack', () => {
  it('writes nothing outside the package, and nothing but regular files into it', async () => {
    // npm's extractor drops these members; what matters is that nothing lands anywhere else.
    const marker = `agentos-escape-${randomBytes(4).toString('hex')}`
    const members = [
      ...validPackageMembers(),
      {name: `package/../../../../../../../../tmp/${marker}-dotdot`, body: 'x'},
      {name: `/tmp/${marker}-absolute`, body: 'x'},
      {name: 'package/evil-link', type: '2' as const, linkname: '/etc/passwd'},
      {name: 'package/evil-hard', type: '1' as const, linkname: '/etc/passwd'},
      {name: 'package/null', type: '3' as const, devmajor: 1, devminor: 3},
    ]
    const dir = join(work, 'hostile')
    await mkdir(dir)
    await writeFile(join(dir, 'evil.tgz'), craftTar(members, {gzip: true}))
    const around = await snapshotTree(work, {ignore: (name) => name === 'hostile'})
    const run = await runInProcess(['pack', join(dir, 'evil.tgz'), '--out', join(dir, 'out'), '--json'])
    expect(run.exitCode, run.stdout).toBe(0)
    expect((await readdir(tmpdir())).filter((name) => name.startsWith(marker))).toEqual([])
    expect(await snapshotTree(work, {ignore: (name) => name === 'hostile'})).toEqual(around)
    const written = await snapshotTree(join(dir, 'out'))
    expect(Object.values(written).every((entry) => entry.type === 'file' || entry.type === 'dir')).toBe(true)
    expect(Object.keys(written).filter((path) => /evil|null/.test(path))).toEqual([])
  })
})

describe('temp siblings of archive writes left by a killed run', () => {
  // A SIGKILL while `--tar` or `--format both` writes leaves `.<archive>.agentos-tmp-<pid>-<hex>`:
  // the next write of that archive removes a dead writer's, and keeps a live one's.
  it('are removed by the next pack writing the same archives; a live writer’s are kept', async () => {
    const dir = join(work, 'archives')
    await mkdir(dir, {recursive: true})
    const dead = await deadPid()
    const names = {
      tgzDead: `.pkg.tgz.agentos-tmp-${dead}-0badc0de`,
      aospkgDead: `.out.aospkg.agentos-tmp-${dead}-0badc0de`,
      tgzLive: `.pkg.tgz.agentos-tmp-${process.ppid}-0badc0de`,
      otherTarget: `.other.tgz.agentos-tmp-${dead}-0badc0de`,
    }
    for (const name of Object.values(names)) await writeFile(join(dir, name), 'half an archive')
    const result = await runInProcess([
      'pack',
      project,
      '--out',
      join(dir, 'out'),
      '--format',
      'both',
      '--tar',
      join(dir, 'pkg.tgz'),
      '--json',
    ])
    expect(result.exitCode, result.stdout + result.stderr).toBe(0)
    expect((await readdir(dir)).sort()).toEqual(
      [names.otherTarget, names.tgzLive, 'out', 'out.aospkg', 'pkg.tgz'].sort(),
    )
  })
})
