/**
 * Writing fails part way (ENOSPC on a full filesystem) or cannot start (a read-only mount, an
 * immutable directory, a directory the user may not write): the target is untouched, no temp
 * sibling remains, and the error is coded. Needs root for mount/chattr (else skipped, saying why).
 * The failing runs are processes against dist/ (`npm run build` first); the earlier packages they
 * must leave alone are made in-process.
 */
import {statfsSync} from 'node:fs'
import {appendFile, chmod, mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {assembleWasm} from '../../src/wasm/assemble.js'
import {pack} from '../../src/pack/pack.js'
import {NOBODY, sharedTempDir, trySystem, unprivilegedSkipReason} from '../helpers/privileges.js'
import {startCli} from '../helpers/cli.js'
import {makeProject, watModule} from '../helpers/project.js'
import {snapshotTree} from '../helpers/tree.js'

let work: string
const mounts: string[] = []
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-out-fail-'))
})
afterAll(async () => {
  for (const mount of mounts.reverse()) trySystem('umount', [mount])
  trySystem('chattr', ['-R', '-i', work])
  await rm(work, {recursive: true, force: true})
})

/** Mounts a tmpfs of `size` at `dir`; returns why it could not, or null. */
async function tmpfs(dir: string, size: string): Promise<string | null> {
  await mkdir(dir, {recursive: true})
  const error = trySystem('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  if (!error) mounts.push(dir)
  return error
}

/** Fills the filesystem at `dir` until only `leave` bytes are free. */
async function fillUp(dir: string, leave: number): Promise<void> {
  const {bavail, bsize} = statfsSync(dir)
  await writeFile(join(dir, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - leave)))
}

const wasmArgs = (input: string, out: string, version: string) => [
  'assemble-wasm',
  input,
  '--name',
  'x',
  '--version',
  version,
  '--project',
  join(input, '..'),
  '--out',
  out,
  '--json',
]

/** The earlier package the failing run should leave alone, made in-process. */
async function assemble(input: string, out: string, version: string): Promise<void> {
  const result = await assembleWasm({inputs: [input], name: 'x', version, project: join(input, '..'), out})
  expect(result.ok, JSON.stringify(result.problems)).toBe(true)
}

interface Refusal {
  code: number | null
  stdout: string
  stderr: string
}

/** The run failed with `code`, left the target exactly as it was and no sibling of ours. */
async function expectRefusedCleanly(run: Refusal, parent: string, before: unknown, code: string) {
  expect(run.code, run.stderr).toBe(1)
  expect((JSON.parse(run.stdout) as {error: {code: string}}).error.code).toBe(code)
  expect(await snapshotTree(join(parent, 'out'))).toEqual(before)
  expect((await readdir(parent)).filter((name) => name.includes('.agentos-'))).toEqual([])
}

describe('ENOSPC while writing', () => {
  it('pack on a full tmpfs: target untouched, temp removed, ERR_AGENTOS_OUT_NO_SPACE', async (context) => {
    const fs = join(work, 'pack-fs')
    const reason = await tmpfs(fs, '512k')
    if (reason) return context.skip(`cannot mount a tmpfs here: ${reason}`)
    const project = await makeProject(join(work, 'pack-src'))
    await pack({source: project, out: join(fs, 'out')})
    const before = await snapshotTree(join(fs, 'out'))
    await appendFile(join(project, 'cli.js'), '// changed\n')
    await fillUp(fs, 8 * 1024)
    const run = await startCli(['pack', project, '--out', join(fs, 'out'), '--json']).ended
    await expectRefusedCleanly(run, fs, before, 'ERR_AGENTOS_OUT_NO_SPACE')
  })

  it('pack of hundreds of files (copied on worker threads) on a full tmpfs: the same', async (context) => {
    const fs = join(work, 'pack-many-fs')
    const reason = await tmpfs(fs, '4m')
    if (reason) return context.skip(`cannot mount a tmpfs here: ${reason}`)
    const project = await makeProject(join(work, 'pack-many-src'))
    await mkdir(join(project, 'node_modules/ms/extra'))
    for (let i = 0; i < 300; i++)
      await writeFile(join(project, `node_modules/ms/extra/f${i}.js`), `module.exports = ${i}\n`.repeat(50))
    await pack({source: project, out: join(fs, 'out')})
    const before = await snapshotTree(join(fs, 'out'))
    await appendFile(join(project, 'cli.js'), '// changed\n')
    // Room for a part of the files only: the threads run out of space mid-copy.
    await fillUp(fs, 160 * 1024)
    const run = await startCli(['pack', project, '--out', join(fs, 'out'), '--json']).ended
    await expectRefusedCleanly(run, fs, before, 'ERR_AGENTOS_OUT_NO_SPACE')
  })

  it('assemble-wasm on a full tmpfs: target untouched, temp removed, ERR_AGENTOS_OUT_NO_SPACE', async (context) => {
    const fs = join(work, 'wasm-fs')
    const reason = await tmpfs(fs, '256k')
    if (reason) return context.skip(`cannot mount a tmpfs here: ${reason}`)
    const input = join(work, 'wasm-src', 'hello.wasm')
    await mkdir(join(work, 'wasm-src'))
    await writeFile(input, await watModule('hello'))
    await assemble(input, join(fs, 'out'), '1.0.0')
    const before = await snapshotTree(join(fs, 'out'))
    await fillUp(fs, 4 * 1024)
    const run = await startCli(wasmArgs(input, join(fs, 'out'), '1.0.1')).ended
    await expectRefusedCleanly(run, fs, before, 'ERR_AGENTOS_OUT_NO_SPACE')
  })
})

describe('no permission to write', () => {
  it('pack into a read-only mount: target untouched, ERR_AGENTOS_OUT_DENIED', async (context) => {
    // Root ignores file modes, so a read-only bind mount (EROFS) stands in for "may not write".
    const backing = join(work, 'ro-backing')
    const view = join(work, 'ro-view')
    const project = await makeProject(join(work, 'ro-src'))
    await mkdir(view, {recursive: true})
    await pack({source: project, out: join(backing, 'out')})
    const bound = trySystem('mount', ['--bind', backing, view])
    if (bound) return context.skip(`cannot bind-mount here: ${bound}`)
    mounts.push(view)
    const readOnly = trySystem('mount', ['-o', 'remount,bind,ro', view])
    if (readOnly) return context.skip(`cannot remount read-only here: ${readOnly}`)
    const before = await snapshotTree(join(view, 'out'))
    await appendFile(join(project, 'cli.js'), '// changed\n')
    const run = await startCli(['pack', project, '--out', join(view, 'out'), '--json']).ended
    await expectRefusedCleanly(run, view, before, 'ERR_AGENTOS_OUT_DENIED')
  })

  it('assemble-wasm next to an immutable directory (chattr +i): target untouched, ERR_AGENTOS_OUT_DENIED', async (context) => {
    const parent = join(work, 'immutable')
    const input = join(work, 'imm-src', 'hello.wasm')
    await mkdir(join(work, 'imm-src'))
    await writeFile(input, await watModule('hello'))
    await assemble(input, join(parent, 'out'), '1.0.0')
    const locked = trySystem('chattr', ['+i', parent])
    if (locked) return context.skip(`cannot make a directory immutable here: ${locked}`)
    try {
      const before = await snapshotTree(join(parent, 'out'))
      const run = await startCli(wasmArgs(input, join(parent, 'out'), '1.0.1')).ended
      await expectRefusedCleanly(run, parent, before, 'ERR_AGENTOS_OUT_DENIED')
    } finally {
      trySystem('chattr', ['-i', parent])
    }
  })

  it('pack as a user without write permission on the parent (EACCES): ERR_AGENTOS_OUT_DENIED', async (context) => {
    const reason = unprivilegedSkipReason()
    if (reason) return context.skip(reason)
    const dir = sharedTempDir('agentos-eacces-')
    try {
      const project = await makeProject(dir)
      const parent = join(dir, 'locked')
      await pack({source: project, out: join(parent, 'out')})
      await chmod(parent, 0o755)
      const before = await snapshotTree(join(parent, 'out'))
      const run = await startCli(['pack', project, '--out', join(parent, 'out'), '--json'], {uid: NOBODY})
        .ended
      await expectRefusedCleanly(run, parent, before, 'ERR_AGENTOS_OUT_DENIED')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
