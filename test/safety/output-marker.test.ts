// Never lose user data: an --out directory is replaced without --force only when it provably is an
// earlier output of this tool with nothing added or changed (its .agentos-output.json marker, and
// its mtimes or its tree digest). A project that merely looks like a package output — the spec's
// my-cmds/ is one: package.json with name/version/bin next to agentos-package.json — used to be
// replaced, losing its wat/ sources and notes.
import {
  appendFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {assembleWasm} from '../../src/wasm/assemble.js'
import {readPackage} from '../../src/package/read.js'
import {pack} from '../../src/pack/pack.js'
import {ROOT} from '../helpers/cli.js'
import {makeProject} from '../helpers/project.js'
import {watFileToWasm} from '../helpers/wasm.js'

let work: string

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-marker-'))
})
afterEach(() => rm(work, {recursive: true, force: true}))

/** The spec's my-cmds/ project with its modules built into build/. */
async function myCmds(): Promise<string> {
  const dir = join(work, 'my-cmds')
  await cp(join(ROOT, 'fixtures/examples/my-cmds'), dir, {recursive: true})
  await mkdir(join(dir, 'build'))
  for (const name of ['tool-a', 'tool-b']) {
    await writeFile(join(dir, 'build', `${name}.wasm`), await watFileToWasm(join(dir, 'wat', `${name}.wat`)))
  }
  return dir
}

/** Every path below dir with its bytes, to show a tree unchanged. */
async function contents(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, {recursive: true, withFileTypes: true})) {
    const path = join(entry.parentPath, entry.name)
    out.push(`${path.slice(dir.length)} ${entry.isFile() ? await readFile(path, 'base64') : '(dir)'}`)
  }
  return out.sort()
}

describe('--out: what may be replaced without --force', () => {
  it('not a project that only looks like a package output (my-cmds with its wat/ sources)', async () => {
    const cmds = await myCmds()
    // The project shape the data-loss report used: a package.json with name, version and bin.
    await writeFile(
      join(cmds, 'package.json'),
      JSON.stringify({name: 'my-cmds', version: '1.0.0', bin: {'tool-a': 'bin/tool-a'}}),
    )
    await writeFile(join(cmds, 'agentos-package.json'), '{"name": "my-cmds"}')
    const target = join(work, 'target')
    await cp(cmds, target, {recursive: true})
    const before = await contents(target)
    for (const attempt of [
      () => assembleWasm({inputs: [join(cmds, 'build')], cwd: cmds, out: target}),
      async () => pack({source: await makeProject(work), cwd: work, out: target}),
    ]) {
      await expect(attempt()).rejects.toMatchObject({code: 'ERR_AGENTOS_OUT_NOT_EMPTY'})
      expect(await contents(target)).toEqual(before)
    }
  })

  it('an unchanged earlier output: yes; one with a file added, or a file changed: no', async () => {
    const cmds = await myCmds()
    const out = join(work, 'out')
    await assembleWasm({inputs: ['build'], cwd: cmds, out})
    await assembleWasm({inputs: ['build'], cwd: cmds, out})

    await writeFile(join(out, 'bin/notes.txt'), 'mine')
    await expect(assembleWasm({inputs: ['build'], cwd: cmds, out})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_OUT_NOT_EMPTY',
      hint: expect.stringContaining('added to or changed'),
    })
    expect(await readFile(join(out, 'bin/notes.txt'), 'utf8')).toBe('mine')
    await assembleWasm({inputs: ['build'], cwd: cmds, out, force: true})

    await writeFile(join(out, 'agentos-package.json'), '{"name": "edited"}')
    await expect(assembleWasm({inputs: ['build'], cwd: cmds, out})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_OUT_NOT_EMPTY',
    })
  })

  it('an earlier output with a file edited and its mtime put back (touch -r, tar -x over it): no', async () => {
    const dir = await makeProject(work)
    const out = join(work, 'out')
    await pack({source: dir, cwd: work, out})
    const file = join(out, 'package.json')
    const {mtime} = await stat(file)
    // Change times tick with the kernel's coarse clock (a few ms): an edit in the very tick the
    // marker was written in would look as old as the marker. A person's edit comes later.
    await new Promise((resolve) => setTimeout(resolve, 50))
    await appendFile(file, '\n')
    await utimes(file, mtime, mtime)
    const before = await contents(out)
    await expect(pack({source: dir, cwd: work, out})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_OUT_NOT_EMPTY',
    })
    expect(await contents(out)).toEqual(before)
  })

  it('an earlier output whose mtimes were lost (a checkout, a copy) but whose content is unchanged: yes', async () => {
    const dir = await makeProject(work)
    const out = join(work, 'out')
    const first = await pack({source: dir, cwd: work, out})
    const now = new Date()
    for (const entry of await readdir(out, {recursive: true, withFileTypes: true})) {
      await utimes(join(entry.parentPath, entry.name), now, now)
    }
    await utimes(out, now, now)
    const second = await pack({source: dir, cwd: work, out})
    expect(second.digest).toBe(first.digest)
  })

  it('the marker is no part of the package: not in the digest, the listing or the archive', async () => {
    const dir = await makeProject(work)
    const out = join(work, 'out')
    const result = await pack({source: dir, cwd: work, out, format: 'both'})
    expect(await readdir(out)).toContain('.agentos-output.json')
    const snapshot = await readPackage(out, {digest: true})
    expect(snapshot.entries.map((e) => e.path)).not.toContain('.agentos-output.json')
    expect(snapshot.digest).toBe(result.digest)
    const archive = await readPackage(result.aospkg!.path, {digest: true})
    expect(archive.digest).toBe(result.digest)
    expect(JSON.parse(await readFile(join(out, '.agentos-output.json'), 'utf8'))).toEqual({
      tool: 'agentos-toolchain',
      digest: result.digest,
    })
  })
})
