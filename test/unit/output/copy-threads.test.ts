/**
 * The package copier on worker threads against the one on the event loop: the same tree, modes,
 * mtimes, digest, texts and pruned files; and the same errors. The worker exists only compiled,
 * so this file drives dist/ (`npm test` builds first).
 */
import {chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {spawnSync} from 'node:child_process'
import type * as CopyPool from '../../../src/output/copy-pool.js'
import type * as Output from '../../../src/output/files.js'
import {snapshotTree} from '../../helpers/tree.js'

const {writePackageFiles} = (await import(
  new URL('../../../dist/output/files.js', import.meta.url).href
)) as typeof Output
const {startCopyPool} = (await import(
  new URL('../../../dist/output/copy-pool.js', import.meta.url).href
)) as typeof CopyPool
type OutputFile = Output.OutputFile

let work: string
let files: OutputFile[]
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-copy-threads-'))
  const src = join(work, 'src')
  await mkdir(join(src, 'deep/er/still'), {recursive: true})
  const source = async (name: string, bytes: string | Uint8Array, mode = 0o644) => {
    await writeFile(join(src, name), bytes)
    await chmod(join(src, name), mode)
    return join(src, name)
  }
  files = []
  for (let i = 0; i < 300; i++) {
    files.push({
      path: `node_modules/p${i % 7}/${i % 3 === 0 ? 'deep/er/' : ''}f${i}.js`,
      source: await source(`f${i}.js`, `module.exports = ${i}\n`.repeat(i % 50)),
    })
  }
  // Larger than a worker's 1 MiB buffer, so it is copied in several reads.
  const big = Buffer.alloc(3 * 1024 * 1024 + 17)
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(100)])
  files.push(
    {path: 'node_modules/big/blob.bin', source: await source('blob.bin', big)},
    {path: 'node_modules/p1/cli.js', source: await source('cli.js', '#!/usr/bin/env node\n', 0o755)},
    {path: 'node_modules/p1/forced.js', source: await source('forced.js', 'x\n'), executable: true},
    {path: 'node_modules/p1/package.json', source: await source('p1.json', '{"name": "p1"}\n')},
    {path: 'node_modules/native/addon.node', source: await source('addon.node', 'not even ELF')},
    {path: 'node_modules/native/tool', source: await source('tool', elf, 0o755)},
    {path: 'node_modules/native/kept', source: await source('kept', elf, 0o755)},
    {path: 'node_modules/empty.js', source: await source('empty.js', '')},
    {path: 'package.json', source: Buffer.from('{"name": "x", "version": "1.0.0"}\n')},
    {path: 'agentos-package.json', source: new TextEncoder().encode('{"name": "x"}\n'), executable: false},
  )
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

async function write(name: string, threads: number) {
  const dir = join(work, name)
  await mkdir(dir)
  const result = await writePackageFiles(dir, files, {
    threads,
    pruneNative: {keep: ['node_modules/native/kept']},
  })
  return {dir, result}
}

describe('writePackageFiles on worker threads', () => {
  it('writes exactly what the event-loop copier writes', async () => {
    const loop = await write('loop', 0)
    for (const threads of [1, 2, 3]) {
      const threaded = await write(`threads-${threads}`, threads)
      expect(threaded.result.snapshot.digest).toBe(loop.result.snapshot.digest)
      expect(threaded.result.snapshot.entries).toEqual(loop.result.snapshot.entries)
      expect(threaded.result.snapshot.texts).toEqual(loop.result.snapshot.texts)
      expect(threaded.result.skipped).toEqual(loop.result.skipped)
      expect(await snapshotTree(threaded.dir)).toEqual(await snapshotTree(loop.dir))
    }
    // Checked against the files, not only against each other.
    const {entries, texts} = loop.result.snapshot
    expect(loop.result.skipped.map((e) => e.path)).toEqual([
      'node_modules/native/addon.node',
      'node_modules/native/tool',
    ])
    expect(entries.find((e) => e.path === 'node_modules/native/kept')?.mode).toBe(0o755)
    expect(entries.find((e) => e.path === 'node_modules/p1/forced.js')?.mode).toBe(0o755)
    expect(entries.find((e) => e.path === 'node_modules/p0/f7.js')?.mode).toBe(0o644)
    expect(texts.get('node_modules/p1/package.json')).toBe('{"name": "p1"}\n')
    expect(texts.get('agentos-package.json')).toBe('{"name": "x"}\n')
    const blob = files.find((f) => f.path === 'node_modules/big/blob.bin')!.source as string
    // Buffer.equals: a deep equality over 3 MiB, byte by byte, takes the matcher half a minute.
    expect((await readFile(join(loop.dir, 'node_modules/big/blob.bin'))).equals(await readFile(blob))).toBe(
      true,
    )
    expect((await stat(join(loop.dir, 'node_modules/big/blob.bin'))).mtime.toISOString()).toBe(
      '1985-10-26T08:15:00.000Z',
    )
  })

  it('a source that cannot be read is ERR_AGENTOS_SOURCE_UNREADABLE, naming it', async () => {
    const missing = join(work, 'src/gone.js')
    const withMissing = [...files, {path: 'node_modules/p2/gone.js', source: missing}]
    const dir = join(work, 'unreadable')
    await mkdir(dir)
    const error = await writePackageFiles(dir, withMissing, {threads: 2}).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'ERR_AGENTOS_SOURCE_UNREADABLE', path: missing})
  })

  it('a write that fails rejects with its errno error once every thread has stopped', async () => {
    const dir = join(work, 'occupied')
    await mkdir(dir)
    // The copier creates files exclusively: an existing one is a write failure (EEXIST).
    await writeFile(join(dir, 'package.json'), 'in the way\n')
    const error = await writePackageFiles(dir, files, {threads: 2}).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'EEXIST', syscall: 'open', side: 'write'})
    // Stopped means stopped: nothing lands in the tree after the promise settled.
    const settled = await snapshotTree(dir)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await snapshotTree(dir)).toEqual(settled)
  })

  it('a pool started before the files are known writes the same, serves one job, and disposes', async () => {
    const loop = await write('pool-loop', 0)
    const pool = startCopyPool(2)
    // The threads wait for their job while the caller is busy elsewhere.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const dir = join(work, 'pool')
    await mkdir(dir)
    const result = await writePackageFiles(dir, files, {
      pool,
      pruneNative: {keep: ['node_modules/native/kept']},
    })
    expect(result.snapshot.digest).toBe(loop.result.snapshot.digest)
    expect(result.skipped).toEqual(loop.result.skipped)
    expect(await snapshotTree(dir)).toEqual(await snapshotTree(loop.dir))
    pool.dispose()
    await expect(pool.copy(dir, [], {pruneNative: false, keep: []})).rejects.toThrow(/one job/)
  })

  it('a pool disposed without a job lets the process end', async () => {
    // A thread left waiting for its job would keep this child alive until the timeout kills it.
    const script = join(work, 'dispose.mjs')
    const pool = new URL('../../../dist/output/copy-pool.js', import.meta.url).href
    const run = (body: string, timeout: number) =>
      writeFile(script, `const {startCopyPool} = await import(${JSON.stringify(pool)})\n${body}\n`).then(() =>
        spawnSync(process.execPath, [script], {encoding: 'utf8', timeout}),
      )
    const disposed = await run('const pool = startCopyPool(2)\nsetTimeout(() => pool.dispose(), 300)', 15_000)
    expect(disposed.error).toBeUndefined()
    expect(disposed.status).toBe(0)
    // The same without dispose() hangs: the test above would catch a pool that never ends.
    // 2 s is far beyond a pool's start; what is measured is that it never ends on its own.
    const kept = await run('startCopyPool(2)', 2000)
    expect(kept.error).toMatchObject({code: 'ETIMEDOUT'})
  })
})
