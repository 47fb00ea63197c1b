import {mkdtemp, readdir, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeAospkg} from '../../../../src/output/write-aospkg.js'
import {readPackage} from '../../../../src/package/read.js'
import {extractedAospkg, runCacheDir} from '../../../../src/run/vm/aospkg-cache.js'
import {runAgent} from '../../../../src/run/emulation/agent/agent.js'
import {runCommandInVm} from '../../../../src/run/emulation/run.js'
import {deadPid} from '../../../helpers/processes.js'
import {sdkAgentPackage, wasmCmdsPackage} from '../../../helpers/run-fixtures.js'

let work: string
let cache: string
const savedCache = process.env.AGENTOS_TOOLCHAIN_CACHE

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-aospkg-'))
  cache = join(work, 'cache')
  process.env.AGENTOS_TOOLCHAIN_CACHE = cache
})
afterAll(async () => {
  if (savedCache === undefined) delete process.env.AGENTOS_TOOLCHAIN_CACHE
  else process.env.AGENTOS_TOOLCHAIN_CACHE = savedCache
  await rm(work, {recursive: true, force: true})
})

describe('run of an .aospkg', () => {
  it('extracts once into the cache under the archive sha256 and runs its commands', async () => {
    const dir = await wasmCmdsPackage(work)
    const {path: archive, sha256} = await writeAospkg(dir, join(work, 'wasm-cmds.aospkg'))
    const first = await runCommandInVm({
      inputs: [archive],
      command: 'echo',
      args: ['from', 'archive'],
      capture: true,
    })
    expect(first).toMatchObject({exitCode: 0, stdout: 'from archive\n'})
    const extracted = await extractedAospkg(archive)
    expect(extracted).toBe(join(runCacheDir(), 'aospkg', sha256.replace(/^sha256:/, '')))
    // The extracted directory is the same package as the one archived.
    expect((await readPackage(extracted, {digest: true})).digest).toBe(
      (await readPackage(dir, {digest: true})).digest,
    )
    // A second run reuses it: nothing new in the cache, no leftover staging directories.
    await runCommandInVm({inputs: [archive], command: 'echo', args: ['again'], capture: true})
    expect(await readdir(join(cache, 'aospkg'))).toEqual([sha256.replace(/^sha256:/, '')])
  })

  it('sweeps the staging left by a dead run, and keeps no group- or world-writable file', async () => {
    const dir = await wasmCmdsPackage(join(work, 'modes'))
    const {chmod, mkdir} = await import('node:fs/promises')
    // Its own archive (another sha256 than the test above), so that this run extracts.
    await writeFile(join(dir, 'extra.txt'), 'x')
    await chmod(join(dir, 'extra.txt'), 0o666)
    const {path: archive, sha256} = await writeAospkg(dir, join(work, 'modes.aospkg'))
    const base = join(cache, 'aospkg')
    await mkdir(base, {recursive: true})
    const dead = join(base, `.${'0'.repeat(16)}.${await deadPid()}.deadbeef.tmp`)
    const live = join(base, `.${'1'.repeat(16)}.${process.pid}.deadbeef.tmp`)
    await mkdir(dead)
    await mkdir(live)
    const extracted = await extractedAospkg(archive)
    expect(extracted).toBe(join(base, sha256.replace(/^sha256:/, '')))
    const names = await readdir(base)
    expect(names).not.toContain(dead.slice(base.length + 1))
    expect(names).toContain(live.slice(base.length + 1))
    await rm(live, {recursive: true})
    for (const entry of await readdir(extracted, {recursive: true})) {
      expect((await stat(join(extracted, entry))).mode & 0o022, entry).toBe(0)
    }
    expect((await stat(join(extracted, 'bin/echo'))).mode & 0o777).toBe(0o755)
  })

  it('trusts the remembered hash of an unchanged archive, and hashes it again once it changes', async () => {
    const env = {AGENTOS_TOOLCHAIN_CACHE: join(work, 'stamp-cache')}
    const stamps = join(env.AGENTOS_TOOLCHAIN_CACHE, 'aospkg-stamps')
    const a = await writeAospkg(await wasmCmdsPackage(join(work, 'stamp-a')), join(work, 'a.aospkg'))
    const b = await writeAospkg(await sdkAgentPackage(join(work, 'stamp-b')), join(work, 'b.aospkg'))
    const dirA = await extractedAospkg(a.path, env)
    const [stampA] = await readdir(stamps)
    expect(await readFile(join(stamps, stampA!), 'utf8')).toBe(a.sha256.replace(/^sha256:/, ''))
    const dirB = await extractedAospkg(b.path, env)
    expect(dirB).not.toBe(dirA)
    // A forged stamp is followed: proof that an unchanged archive is not hashed again.
    await writeFile(join(stamps, stampA!), b.sha256.replace(/^sha256:/, ''))
    expect(await extractedAospkg(a.path, env)).toBe(dirB)
    // The same bytes written again with the old mtime: the ctime moved, so the file is hashed anew.
    const {atime, mtime} = await stat(a.path)
    await writeFile(a.path, await readFile(a.path))
    await utimes(a.path, atime, mtime)
    expect(await extractedAospkg(a.path, env)).toBe(dirA)
    expect((await readdir(stamps)).filter((name) => name.endsWith('.tmp'))).toEqual([])
    expect(await readdir(stamps)).toHaveLength(3)
  })

  it('gives the archive’s own coded error for a damaged archive, and leaves no staging behind', async () => {
    const broken = join(work, 'broken.aospkg')
    await writeFile(broken, Buffer.from([0x89, 0x41, 0x4f, 0x53, 1, 0, 0, 0]))
    await expect(runCommandInVm({inputs: [broken], command: 'echo', args: []})).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_AGENTOS_AOSPKG_/),
    })
    expect((await readdir(join(cache, 'aospkg'))).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('launches an agent from an archive and completes the ACP handshake', async () => {
    const dir = await sdkAgentPackage(work)
    const {path: archive} = await writeAospkg(dir, join(work, 'sdk-agent.aospkg'))
    const report = await runAgent({inputs: [archive], args: []})
    expect(report.outcome, report.stderrTail).toBe('ok')
    expect(report.sessionId).toEqual(expect.any(String))
  })
})
