import {spawnSync} from 'node:child_process'
import {chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {create as createTar, extract as extractTar} from 'tar'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {analyzePackage} from '../../../src/package/analyze.js'
import type {PackageModel} from '../../../src/package/model.js'
import {BareEncoder} from '../../../src/archive/bare.js'
import {extractAospkg} from '../../../src/archive/extract.js'
import {
  type AospkgEntry,
  type AospkgManifest,
  decodeIndex,
  decodeManifest,
  encodeIndex,
  encodeManifest,
} from '../../../src/archive/container.js'
import {canonicalManifestText} from '../../../src/archive/manifest.js'
import {bufferSource, type ByteSource, openAospkg} from '../../../src/archive/reader.js'
import {archivePathFor, checkArchiveTarget, writeAospkg} from '../../../src/output/write-aospkg.js'
import {assembleWasm} from '../../../src/wasm/assemble.js'
import {MANIFEST_FILE} from '../../../src/format/paths.js'
import {inspectPackage} from '../../../src/package/inspect.js'
import {type PackageSnapshot} from '../../../src/package/snapshot.js'
import {readPackage} from '../../../src/package/read.js'
import {validatePackage} from '../../../src/package/validate.js'
import {joinArchive, splitArchive} from '../../helpers/aospkg.js'
import {ROOT} from '../../helpers/cli.js'
import {watFileToWasm} from '../../helpers/wasm.js'

const MY_TOOL = join(ROOT, 'fixtures/examples/my-tool-package')
const MY_AGENT = join(ROOT, 'fixtures/examples/my-agent-package')
const MY_CMDS = join(ROOT, 'fixtures/examples/my-cmds')

let work: string
let n = 0
const fresh = async (name: string) => {
  const dir = join(work, `${name}-${n++}`)
  await mkdir(dir, {recursive: true})
  return dir
}
const file = (name: string) => join(work, `${name}-${n++}.aospkg`)

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-aospkg-'))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

/** Entries as the model sees them, the manifest left out (it is compared on its own). */
const tree = (snapshot: PackageSnapshot) =>
  snapshot.entries
    .filter((e) => e.path !== MANIFEST_FILE)
    .map(({path, kind, size, sha256, linkTarget, mode}) => ({
      path,
      kind,
      size,
      sha256,
      linkTarget,
      exec: kind === 'file' ? (mode & 0o111) !== 0 : undefined,
    }))

/** Writes `dir` as an archive and reads both back with digests. */
async function roundTrip(dir: string) {
  const archive = file('round-trip')
  const written = await writeAospkg(dir, archive)
  const fromDir = await readPackage(dir, {digest: true})
  const fromArchive = await readPackage(archive, {digest: true})
  return {archive, written, fromDir, fromArchive}
}

const withoutBytes = ({bytes: _bytes, ...model}: PackageModel) => model

describe('round trip: a Node.js package (my-tool-package)', () => {
  it('reads back the same entries, texts, model and digest', async () => {
    const {written, fromDir, fromArchive} = await roundTrip(MY_TOOL)
    expect(written.formatVersion).toBe(1)
    expect(fromArchive.origin).toMatchObject({type: 'aospkg', formatVersion: 1})
    expect(fromArchive.digest).toBe(fromDir.digest)
    expect(tree(fromArchive)).toEqual(tree(fromDir))
    expect(fromArchive.texts).toEqual(fromDir.texts)
    const dirAnalysis = analyzePackage(fromDir)
    const archiveAnalysis = analyzePackage(fromArchive)
    expect(archiveAnalysis.model).toEqual(dirAnalysis.model)
    expect(archiveAnalysis.problems).toEqual(dirAnalysis.problems)
    expect(fromArchive.container?.manifest).toEqual({
      name: 'my-tool',
      version: '1.0.0',
      commands: [{command: 'my-tool', entry: 'node_modules/my-tool/cli.js'}],
      manPages: [],
    })
  })

  it('keeps package.json in the tar, leaves agentos-package.json out, and indexes every member', async () => {
    const {archive} = await roundTrip(MY_TOOL)
    const bytes = await readFile(archive)
    const {chunk2, tar} = splitArchive(bytes)
    const {entries} = decodeIndex(chunk2, tar.length)
    expect(entries.map((e) => e.path)).toEqual([
      '/',
      '/node_modules',
      '/node_modules/ms',
      '/node_modules/ms/index.js',
      '/node_modules/ms/package.json',
      '/node_modules/my-tool',
      '/node_modules/my-tool/cli.js',
      '/node_modules/my-tool/package.json',
      '/package.json',
    ])
    for (const entry of entries) {
      expect([entry.uid, entry.gid, entry.mtime]).toEqual([0, 0, 0])
      if (entry.kind === 'dir') expect(entry.mode).toBe(0o040755)
      if (entry.kind !== 'file') continue
      const source = await readFile(join(MY_TOOL, entry.path))
      // The offset points at the member's data inside the tar, so no tar parsing is needed.
      expect(tar.subarray(entry.offset, entry.offset + entry.size)).toEqual(source)
    }
    expect(entries.find((e) => e.path === '/node_modules/my-tool/cli.js')?.mode).toBe(0o100755)
    expect(entries.find((e) => e.path === '/package.json')?.mode).toBe(0o100644)
    // The tar ends with two zero blocks, as the runtime's packer writes it.
    expect(tar.subarray(-1024).every((b) => b === 0)).toBe(true)
  })

  it('is deterministic: same bytes from a copy with other mtimes and permission noise', async () => {
    const first = await roundTrip(MY_TOOL)
    const copy = await fresh('my-tool-copy')
    await cp(MY_TOOL, copy, {recursive: true})
    await utimes(join(copy, 'package.json'), new Date(2001, 1, 1), new Date(2001, 1, 1))
    await chmod(join(copy, 'node_modules/ms/index.js'), 0o600)
    await chmod(join(copy, 'node_modules/my-tool/cli.js'), 0o700)
    const second = await roundTrip(copy)
    expect(await readFile(second.archive)).toEqual(await readFile(first.archive))
    expect(second.written.sha256).toBe(first.written.sha256)
  })

  it('reports the archive sha256 and size it wrote', async () => {
    const {archive, written} = await roundTrip(MY_TOOL)
    const bytes = await readFile(archive)
    expect(written.bytes).toBe(bytes.length)
    const {createHash} = await import('node:crypto')
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
  })
})

describe('round trip: an agent package (my-agent-package)', () => {
  it('keeps the agent and provides blocks, the model and the digest', async () => {
    const {fromDir, fromArchive} = await roundTrip(MY_AGENT)
    expect(fromArchive.container?.manifest.agent).toEqual({
      acpEntrypoint: 'my-agent-acp',
      snapshot: false,
      env: {MY_AGENT_CLI: '/opt/agentos/bin/my-agent'},
      launchArgs: ['--acp'],
    })
    expect(fromArchive.container?.manifest.provides).toEqual({
      env: {MY_AGENT_HOME: '/opt/agentos/my-agent'},
      files: [{source: 'node_modules/@example/my-agent/etc/my-agent.conf', target: '/etc/my-agent.conf'}],
    })
    expect(fromArchive.digest).toBe(fromDir.digest)
    expect(tree(fromArchive)).toEqual(tree(fromDir))
    // The fixture's manifest is hand-formatted, so only the byte count of its canonical text differs.
    expect(withoutBytes(analyzePackage(fromArchive).model)).toEqual(
      withoutBytes(analyzePackage(fromDir).model),
    )
    const [dirReport, archiveReport] = [
      await inspectPackage(MY_AGENT),
      await inspectPackage(await writeTo(MY_AGENT)),
    ]
    expect(archiveReport.agent).toEqual(dirReport.agent)
    expect(archiveReport.provides).toEqual(dirReport.provides)
    expect(archiveReport.validation.ok).toBe(true)
  })

  it('records the snapshot bundle only when agent.snapshot is set and dist/sdk-snapshot.js exists', async () => {
    const dir = await fresh('agent-snapshot')
    await cp(MY_AGENT, dir, {recursive: true})
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'))
    manifest.agent.snapshot = true
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest))
    expect((await writeAospkg(dir, file('no-bundle'))).manifest.snapshotBundlePath).toBeUndefined()
    await mkdir(join(dir, 'dist'))
    await writeFile(join(dir, 'dist/sdk-snapshot.js'), 'export {}\n')
    const archive = file('bundle')
    expect((await writeAospkg(dir, archive)).manifest.snapshotBundlePath).toBe('/dist/sdk-snapshot.js')
    const snapshot = await readPackage(archive, {digest: true})
    expect(snapshot.container?.manifest.agent?.snapshot).toBe(true)
    expect(snapshot.digest).toBe((await readPackage(dir, {digest: true})).digest)
    expect(analyzePackage(snapshot).problems.filter((p) => p.severity === 'error')).toEqual([])
  })

  it('lists man pages from share/man/<section>/<page>, sorted', async () => {
    const dir = await fresh('agent-man')
    await cp(MY_AGENT, dir, {recursive: true})
    await mkdir(join(dir, 'share/man/man5'), {recursive: true})
    await mkdir(join(dir, 'share/man/man1/nested'), {recursive: true})
    await writeFile(join(dir, 'share/man/man5/my-agent.conf.5'), '.TH x\n')
    await writeFile(join(dir, 'share/man/man1/my-agent.1'), '.TH x\n')
    await writeFile(join(dir, 'share/man/man1/nested/not-a-page'), 'x')
    const {manifest} = await writeAospkg(dir, file('man'))
    expect(manifest.manPages).toEqual([
      {section: 'man1', page: 'my-agent.1'},
      {section: 'man5', page: 'my-agent.conf.5'},
    ])
  })
})

async function writeTo(dir: string): Promise<string> {
  const archive = file('written')
  await writeAospkg(dir, archive)
  return archive
}

/** The spec's my-cmds example with its WAT assembled, in a temp copy. */
async function myCmdsProject(): Promise<string> {
  const dir = await fresh('my-cmds')
  await cp(MY_CMDS, dir, {recursive: true})
  await mkdir(join(dir, 'build'))
  for (const name of ['tool-a', 'tool-b']) {
    await writeFile(join(dir, 'build', `${name}.wasm`), await watFileToWasm(join(dir, 'wat', `${name}.wat`)))
  }
  return dir
}

describe('round trip: a WebAssembly package (my-cmds, assembled)', () => {
  it('assemble-wasm --format both: the directory and the archive agree', async () => {
    const project = await myCmdsProject()
    const result = await assembleWasm({inputs: ['build'], cwd: project, format: 'both'})
    expect(result.ok).toBe(true)
    expect(result.out).toBe(join(project, 'dist/package'))
    expect(result.aospkg?.path).toBe(join(project, 'dist/package.aospkg'))
    const fromDir = await readPackage(result.out, {digest: true})
    const fromArchive = await readPackage(result.aospkg!.path, {digest: true})
    expect(fromArchive.digest).toBe(result.digest)
    expect(fromDir.digest).toBe(result.digest)
    expect(analyzePackage(fromArchive).model).toEqual(analyzePackage(fromDir).model)
    expect(fromArchive.container?.manifest.commands).toEqual([
      {command: 'tool-a', entry: 'bin/tool-a'},
      {command: 'tool-b', entry: 'bin/tool-b'},
    ])
    const report = await inspectPackage(result.aospkg!.path)
    expect(report.commands.map((c) => [c.name, c.kind])).toEqual([
      ['tool-a', 'wasm'],
      ['tool-b', 'wasm'],
    ])
  })

  it('assemble-wasm --format aospkg writes only the archive (and the same one as --format both)', async () => {
    const project = await myCmdsProject()
    const both = await assembleWasm({inputs: ['build'], cwd: project, format: 'both', out: 'a'})
    const only = await assembleWasm({inputs: ['build'], cwd: project, format: 'aospkg', out: 'b'})
    expect(only.out).toBe(join(project, 'b.aospkg'))
    expect(only.aospkg?.sha256).toBe(both.aospkg?.sha256)
    expect(only.digest).toBe(both.digest)
    await expect(readFile(join(project, 'b/package.json'))).rejects.toMatchObject({code: 'ENOENT'})
    const named = await assembleWasm({inputs: ['build'], cwd: project, format: 'aospkg', out: 'c.aospkg'})
    expect(named.out).toBe(join(project, 'c.aospkg'))
  })

  it('counts the manifest by its canonical form: $schema and unknown keys do not split the digests', async () => {
    const project = await myCmdsProject()
    await writeFile(
      join(project, MANIFEST_FILE),
      JSON.stringify({
        $schema: 'https://agentos-toolchain.dev/schema/agentos-package.schema.json',
        provides: {env: {B: '2', A: '1'}},
        name: 'my-cmds',
        custom: true,
      }),
    )
    const result = await assembleWasm({inputs: ['build'], cwd: project, format: 'both'})
    expect(result.ok).toBe(true)
    const dirManifest = await readFile(join(result.out, MANIFEST_FILE), 'utf8')
    expect(dirManifest).toContain('$schema')
    const fromArchive = await readPackage(result.aospkg!.path, {digest: true})
    expect(fromArchive.texts.get(MANIFEST_FILE)).toBe(canonicalManifestText(dirManifest))
    expect(fromArchive.digest).toBe(result.digest)
  })

  it('extracts to a directory with the same digest and the module bytes', async () => {
    const project = await myCmdsProject()
    const result = await assembleWasm({inputs: ['build'], cwd: project, format: 'aospkg'})
    const out = join(await fresh('extract'), 'pkg')
    const extracted = await extractAospkg(result.out, out)
    expect(extracted).toMatchObject({dir: out, formatVersion: 1, files: 3})
    expect((await readPackage(out, {digest: true})).digest).toBe(result.digest)
    expect(await readFile(join(out, 'bin/tool-a'))).toEqual(
      await readFile(join(project, 'build/tool-a.wasm')),
    )
    expect(((await import('node:fs')).statSync(join(out, 'bin/tool-a')).mode & 0o777).toString(8)).toBe('755')
    await expect(extractAospkg(result.out, out)).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_EXTRACT_TARGET',
    })
  })
})

describe('tree digest rule for agentos-package.json', () => {
  async function digestWith(manifestText: string): Promise<string> {
    const dir = await fresh('digest')
    await cp(MY_TOOL, dir, {recursive: true})
    await writeFile(join(dir, MANIFEST_FILE), manifestText)
    return (await readPackage(dir, {digest: true})).digest!
  }

  it('ignores formatting, key order, $schema and unknown keys, but not values', async () => {
    const base = await digestWith('{"name":"my-tool","version":"1.0.0"}')
    expect(await digestWith('{\n  "version": "1.0.0",\n    "name": "my-tool"\n}')).toBe(base)
    expect(await digestWith('{"$schema":"x","name":"my-tool","version":"1.0.0","extra":[1]}')).toBe(base)
    expect(await digestWith('{"name":"my-tool","version":"1.0.1"}')).not.toBe(base)
    expect(await digestWith('{"name":"my-tool","version":"1.0.0","provides":{}}')).not.toBe(base)
  })

  it('falls back to the raw bytes for a manifest the container could not hold', async () => {
    const broken = await digestWith('{"name": "my-tool",')
    expect(await digestWith('{"name":  "my-tool",')).not.toBe(broken)
    expect(await digestWith('{"name":"my-tool"}')).not.toBe(await digestWith('{"name": "my-tool"}'))
  })

  it('renders a canonical text that is its own canonical form', () => {
    const text = canonicalManifestText(
      '{"name":"a","version":"1","agent":{"acpEntrypoint":"x","env":{"Z":"1","A":"2"},"launchArgs":[]}}',
    )!
    expect(JSON.parse(text)).toEqual({
      name: 'a',
      version: '1',
      agent: {acpEntrypoint: 'x', env: {A: '2', Z: '1'}, snapshot: false},
    })
    expect(canonicalManifestText(text)).toBe(text)
  })
})

describe('format version 2', () => {
  it('reads a v2 archive: no agent block, same tree', async () => {
    const v1 = await readFile(await writeTo(MY_AGENT))
    const {chunk1, chunk2, tar} = splitArchive(v1)
    const {manifest} = decodeManifest(chunk1)
    const {entries} = decodeIndex(chunk2, tar.length)
    const v2 = joinArchive({
      formatVersion: 2,
      chunk1: encodeManifest(manifest, 2),
      chunk2: encodeIndex(entries, 2),
      tar,
    })
    const archive = file('v2')
    await writeFile(archive, v2)
    const snapshot = await readPackage(archive, {digest: true})
    expect(snapshot.container).toMatchObject({formatVersion: 2, manifestSchema: 2, indexSchema: 2})
    expect(snapshot.container?.manifest.agent).toBeUndefined()
    expect(snapshot.container?.manifest.provides).toEqual(manifest.provides)
    const {model} = analyzePackage(snapshot)
    expect(model.manifest?.agent).toBeUndefined()
    expect(model.commands.map((c) => c.name)).toEqual(['my-agent', 'my-agent-acp'])
    expect(tree(snapshot)).toEqual(tree(await readPackage(MY_AGENT, {digest: true})))
  })
})

describe('npm tarballs holding dist/package.aospkg', () => {
  async function npmTarball(
    pkg: Record<string, unknown>,
    extra: Record<string, string> = {},
  ): Promise<string> {
    const root = await fresh('npm')
    await mkdir(join(root, 'package/dist'), {recursive: true})
    await writeFile(join(root, 'package/package.json'), JSON.stringify(pkg))
    await writeFile(join(root, 'package/LICENSE'), 'Apache-2.0\n')
    await writeFile(join(root, 'package/dist/index.js'), 'export default {}\n')
    await cp(await writeTo(MY_TOOL), join(root, 'package/dist/package.aospkg'))
    for (const [path, text] of Object.entries(extra)) await writeFile(join(root, 'package', path), text)
    const tgz = join(root, 'pkg.tgz')
    await createTar({gzip: true, file: tgz, cwd: root, portable: true}, ['package'])
    return tgz
  }

  it('reads the archive inside, with the npm identity of the wrapper', async () => {
    const tgz = await npmTarball({name: '@agentos-software/my-tool', version: '1.0.0'})
    const snapshot = await readPackage(tgz, {digest: true})
    expect(snapshot.origin).toEqual({
      type: 'aospkg',
      path: tgz,
      member: 'package/dist/package.aospkg',
      formatVersion: 1,
    })
    expect(snapshot.container?.wrapper).toEqual({name: '@agentos-software/my-tool', version: '1.0.0'})
    expect(snapshot.digest).toBe((await readPackage(MY_TOOL, {digest: true})).digest)
    const report = await validatePackage(tgz)
    expect(report).toMatchObject({ok: true, summary: {commands: 1}})
  })

  it('warns when the wrapper and the archive disagree on the version', async () => {
    const tgz = await npmTarball({name: '@agentos-software/my-tool', version: '2.0.0'})
    const report = await validatePackage(tgz)
    expect(report.problems.map((p) => p.code)).toEqual(['WARN_AGENTOS_AOSPKG_WRAPPER_VERSION'])
  })

  it('reads the archive even when the tarball also ships its source agentos-package.json (as pi does)', async () => {
    // The runtime mounts what dist/index.js hands it, the archive; the source manifest beside it
    // names bins in a node_modules the tarball does not hold.
    const tgz = await npmTarball(
      {name: 'x', version: '1.0.0'},
      {[MANIFEST_FILE]: '{"name":"x","version":"1.0.0"}'},
    )
    const snapshot = await readPackage(tgz)
    expect(snapshot.origin).toMatchObject({type: 'aospkg', member: 'package/dist/package.aospkg'})
    expect(snapshot.byPath.has('node_modules/my-tool/cli.js')).toBe(true)
  })

  it('reads a tarball without dist/package.aospkg as a plain package', async () => {
    const root = await fresh('plain-npm')
    await cp(MY_TOOL, join(root, 'package'), {recursive: true})
    const tgz = join(root, 'pkg.tgz')
    await createTar({gzip: true, file: tgz, cwd: root, portable: true}, ['package'])
    expect((await readPackage(tgz)).origin.type).toBe('tarball')
  })
})

describe('archive-level checks of the analyzer', () => {
  async function withManifest(edit: (manifest: AospkgManifest) => void): Promise<string> {
    const parts = splitArchive(await readFile(await writeTo(MY_TOOL)))
    const {manifest} = decodeManifest(parts.chunk1)
    edit(manifest)
    const archive = file('edited')
    await writeFile(archive, joinArchive({...parts, chunk1: encodeManifest(manifest, 1)}))
    return archive
  }
  const codes = async (archive: string) => (await validatePackage(archive)).problems.map((p) => p.code)

  it('takes the commands from chunk 1 and checks package.json against them', async () => {
    const archive = await withManifest((m) => m.commands.push({command: 'extra', entry: 'package.json'}))
    expect(await codes(archive)).toContain('ERR_AGENTOS_AOSPKG_COMMANDS_MISMATCH')
    const report = await inspectPackage(archive)
    expect(report.commands.map((c) => c.name)).toEqual(['extra', 'my-tool'])
  })

  it('refuses repeated commands, unusable names and entries, and missing man pages', async () => {
    expect(await codes(await withManifest((m) => m.commands.push({...m.commands[0]!})))).toContain(
      'ERR_AGENTOS_AOSPKG_COMMAND_DUPLICATE',
    )
    expect(await codes(await withManifest((m) => m.commands.push({command: 'a/b', entry: 'x'})))).toContain(
      'ERR_AGENTOS_BIN_NAME_INVALID',
    )
    expect(await codes(await withManifest((m) => (m.commands[0]!.entry = '../x')))).toContain(
      'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
    )
    expect(await codes(await withManifest((m) => m.manPages.push({section: 'man1', page: 'x.1'})))).toContain(
      'ERR_AGENTOS_AOSPKG_MANIFEST_PATH_MISSING',
    )
  })

  it('needs no package.json: commands come from chunk 1 alone', async () => {
    const dir = await fresh('no-package-json')
    await mkdir(join(dir, 'bin'))
    await writeFile(join(dir, 'bin/hello'), await watFileToWasm(join(ROOT, 'fixtures/wat/hello.wat')), {
      mode: 0o755,
    })
    await writeFile(join(dir, MANIFEST_FILE), '{"name":"hello","version":"1.0.0"}\n')
    const archive = await writeTo(dir)
    const report = await inspectPackage(archive)
    expect(report.commands.map((c) => [c.name, c.entry, c.kind])).toEqual([['hello', 'bin/hello', 'wasm']])
    expect(report.validation.ok).toBe(true)
    expect(report.npmName).toBeUndefined()
  })
})

describe('container checks (corrupted bytes)', () => {
  let base: Buffer
  beforeAll(async () => {
    base = await readFile(await writeTo(MY_TOOL))
  })

  const reject = async (bytes: Buffer, code: string) => {
    const archive = file('bad')
    await writeFile(archive, bytes)
    const error = await readPackage(archive).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toMatchObject({code})
    expect((error as {hint?: string}).hint).toBeTruthy()
    await expect(validatePackage(archive)).rejects.toMatchObject({code})
  }
  const patched = (offset: number, write: (b: Buffer) => void) => {
    const copy = Buffer.from(base)
    write(copy.subarray(offset))
    return copy
  }
  const tarOf = (size: number) => Buffer.alloc(size)
  const dirEntry = (path: string): AospkgEntry => ({
    path,
    kind: 'dir',
    offset: 0,
    size: 0,
    mode: 0o40755,
    uid: 0,
    gid: 0,
    mtime: 0,
  })
  const fileEntry = (path: string, offset = 0, size = 4): AospkgEntry => ({
    ...dirEntry(path),
    kind: 'file',
    offset,
    size,
    mode: 0o100644,
  })
  const withIndex = (entries: AospkgEntry[], tar = tarOf(1024)) =>
    joinArchive({chunk1: splitArchive(base).chunk1, chunk2: encodeIndex(entries), tar})

  it('ERR_AGENTOS_AOSPKG_TRUNCATED: shorter than the header', () =>
    reject(base.subarray(0, 10), 'ERR_AGENTOS_AOSPKG_TRUNCATED'))
  it('ERR_AGENTOS_AOSPKG_MAGIC: wrong magic', () =>
    reject(
      patched(0, (b) => (b[0] = 0x88)),
      'ERR_AGENTOS_AOSPKG_MAGIC',
    ))
  it('ERR_AGENTOS_AOSPKG_VERSION: unknown format version', () =>
    reject(
      patched(4, (b) => b.writeUInt16LE(3)),
      'ERR_AGENTOS_AOSPKG_VERSION',
    ))
  it('ERR_AGENTOS_AOSPKG_FLAGS: non-zero flags', () =>
    reject(
      patched(6, (b) => b.writeUInt16LE(1)),
      'ERR_AGENTOS_AOSPKG_FLAGS',
    ))
  it('ERR_AGENTOS_AOSPKG_LENGTHS: chunks past the end of the file', async () => {
    await reject(
      patched(12, (b) => b.writeUInt32LE(base.length)),
      'ERR_AGENTOS_AOSPKG_LENGTHS',
    )
    await reject(
      patched(8, (b) => b.writeUInt32LE(0xffffffff)),
      'ERR_AGENTOS_AOSPKG_LENGTHS',
    )
  })
  it('ERR_AGENTOS_AOSPKG_SCHEMA_VERSION: unknown manifest or index schema', async () => {
    await reject(
      patched(16, (b) => b.writeUInt16LE(7)),
      'ERR_AGENTOS_AOSPKG_SCHEMA_VERSION',
    )
    const {chunk1, chunk2, tar} = splitArchive(base)
    const index = Buffer.from(chunk2)
    index.writeUInt16LE(9)
    await reject(joinArchive({chunk1, chunk2: index, tar}), 'ERR_AGENTOS_AOSPKG_SCHEMA_VERSION')
  })
  it('ERR_AGENTOS_AOSPKG_TRUNCATED: a chunk too short for its schema version', () =>
    reject(
      joinArchive({chunk1: Buffer.from([1]), chunk2: splitArchive(base).chunk2, tar: splitArchive(base).tar}),
      'ERR_AGENTOS_AOSPKG_TRUNCATED',
    ))
  it('ERR_AGENTOS_AOSPKG_TRAILING_BYTES: a chunk not consumed exactly', async () => {
    const {chunk1, chunk2, tar} = splitArchive(base)
    await reject(
      joinArchive({chunk1: Buffer.concat([chunk1, Buffer.from([0])]), chunk2, tar}),
      'ERR_AGENTOS_AOSPKG_TRAILING_BYTES',
    )
    await reject(
      joinArchive({chunk1, chunk2: Buffer.concat([chunk2, Buffer.from([0])]), tar}),
      'ERR_AGENTOS_AOSPKG_TRAILING_BYTES',
    )
  })
  it('ERR_AGENTOS_AOSPKG_DECODE: a bad optional tag, a truncated chunk, an unknown entry kind', async () => {
    // u16 schema, "my-tool", "1.0.0": the agent optional tag is at chunk byte 16.
    await reject(
      patched(16 + 16, (b) => (b[0] = 2)),
      'ERR_AGENTOS_AOSPKG_DECODE',
    )
    const {chunk1, chunk2, tar} = splitArchive(base)
    await reject(joinArchive({chunk1: chunk1.subarray(0, 12), chunk2, tar}), 'ERR_AGENTOS_AOSPKG_DECODE')
    const kind = new BareEncoder().u16(1).uvarint(1).str('/').uvarint(3).bytes()
    await reject(joinArchive({chunk1, chunk2: kind, tar}), 'ERR_AGENTOS_AOSPKG_DECODE')
  })
  it('ERR_AGENTOS_AOSPKG_DUPLICATE_KEY: an env map repeating a key', async () => {
    const e = new BareEncoder().u16(1).str('x').str('1.0.0')
    e.bool(true)
      .str('x')
      .bool(false)
      .stringMap([
        ['K', '1'],
        ['K', '2'],
      ])
    e.uvarint(0).bool(false).uvarint(0).uvarint(0).bool(false)
    await reject(joinArchive({...splitArchive(base), chunk1: e.bytes()}), 'ERR_AGENTOS_AOSPKG_DUPLICATE_KEY')
  })
  it('ERR_AGENTOS_AOSPKG_OVERFLOW: an offset past 2^53', () =>
    reject(
      withIndex([dirEntry('/'), {...fileEntry('/a'), offset: 2 ** 53 + 2}]),
      'ERR_AGENTOS_AOSPKG_OVERFLOW',
    ))
  it('ERR_AGENTOS_AOSPKG_TOO_MANY_ENTRIES: more than 200,000 index entries', () =>
    reject(
      joinArchive({...splitArchive(base), chunk2: new BareEncoder().u16(1).uvarint(200_001).bytes()}),
      'ERR_AGENTOS_AOSPKG_TOO_MANY_ENTRIES',
    ))
  it.each(['/a/../b', 'a', '/a/', '//a', '/./a', '/a//b', '/a\0b'])(
    'ERR_AGENTOS_AOSPKG_PATH_INVALID: %j',
    (path) => reject(withIndex([dirEntry('/'), fileEntry(path)]), 'ERR_AGENTOS_AOSPKG_PATH_INVALID'),
  )
  it('ERR_AGENTOS_AOSPKG_INDEX_UNSORTED: paths out of byte order', () =>
    reject(withIndex([dirEntry('/'), fileEntry('/b'), fileEntry('/a')]), 'ERR_AGENTOS_AOSPKG_INDEX_UNSORTED'))
  it('ERR_AGENTOS_AOSPKG_INDEX_UNSORTED: sorted as JavaScript strings, not as bytes', () =>
    // UTF-16 order puts U+10000 (a surrogate pair) before U+FFFD; UTF-8 byte order puts it after.
    reject(
      withIndex([dirEntry('/'), fileEntry('/\u{10000}'), fileEntry('/\uFFFD')]),
      'ERR_AGENTOS_AOSPKG_INDEX_UNSORTED',
    ))
  it('ERR_AGENTOS_AOSPKG_INDEX_DUPLICATE: a path twice', () =>
    reject(
      withIndex([dirEntry('/'), fileEntry('/a'), fileEntry('/a')]),
      'ERR_AGENTOS_AOSPKG_INDEX_DUPLICATE',
    ))
  it('ERR_AGENTOS_AOSPKG_ROOT_MISSING: no "/" entry', () =>
    reject(withIndex([fileEntry('/a')]), 'ERR_AGENTOS_AOSPKG_ROOT_MISSING'))
  it('ERR_AGENTOS_AOSPKG_RANGE: a file past the end of the tar', async () => {
    await reject(withIndex([dirEntry('/'), fileEntry('/a', 1020, 5)]), 'ERR_AGENTOS_AOSPKG_RANGE')
    await reject(withIndex([dirEntry('/'), fileEntry('/a', 0, 1025)]), 'ERR_AGENTOS_AOSPKG_RANGE')
  })
  it('ERR_AGENTOS_AOSPKG_SYMLINK_TARGET: a symlink without a target', () =>
    reject(
      withIndex([dirEntry('/'), {...dirEntry('/l'), kind: 'symlink', mode: 0o120777}]),
      'ERR_AGENTOS_AOSPKG_SYMLINK_TARGET',
    ))
  it('ERR_AGENTOS_AOSPKG_MTIME: a negative mtime', () =>
    reject(withIndex([dirEntry('/'), {...fileEntry('/a'), mtime: -1}]), 'ERR_AGENTOS_AOSPKG_MTIME'))

  it('accepts the edge cases just inside each limit', async () => {
    const archive = file('edges')
    await writeFile(archive, withIndex([dirEntry('/'), fileEntry('/a', 1020, 4), fileEntry('/b', 1024, 0)]))
    const snapshot = await readPackage(archive)
    expect(snapshot.entries.map((e) => e.path)).toEqual(['a', MANIFEST_FILE, 'b'])
  })
})

describe('reading only what is needed', () => {
  /** A buffer source that records the highest byte any read reached. */
  function counting(bytes: Buffer): ByteSource & {reach: number; reads: number} {
    const inner = bufferSource(bytes)
    const source = {
      size: inner.size,
      reach: 0,
      reads: 0,
      read: async (position: number, length: number) => {
        source.reach = Math.max(source.reach, position + length)
        source.reads++
        return inner.read(position, length)
      },
      close: inner.close,
    }
    return source
  }

  it('opening decodes the header and chunk 1 only; the index is read on demand', async () => {
    const bytes = await readFile(await writeTo(MY_AGENT))
    const source = counting(bytes)
    const archive = await openAospkg(source)
    expect(archive.manifest.name).toBe('my-agent')
    expect(source.reach).toBe(archive.header.indexStart)
    await archive.index()
    expect(source.reach).toBe(archive.header.tarStart)
    await archive.close()
  })
})

describe('writer details', () => {
  it('writes long paths (pax) and symlinks that read back and extract', async () => {
    const dir = await fresh('long')
    await cp(MY_TOOL, dir, {recursive: true})
    const deep = `node_modules/${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(120)}`
    await mkdir(join(dir, deep), {recursive: true})
    await writeFile(join(dir, deep, `${'g'.repeat(150)}.js`), 'deep\n')
    await writeFile(join(dir, 'node_modules/ms/é-ünïcode.js'), 'u\n')
    await symlink('../node_modules/ms/index.js', join(dir, 'node_modules/link.js'))
    const {fromDir, fromArchive, archive} = await roundTrip(dir)
    expect(fromArchive.digest).toBe(fromDir.digest)
    expect(tree(fromArchive)).toEqual(tree(fromDir))
    // Chunk 3 is a real tar: a standard reader sees the same files.
    const out = await fresh('untar')
    const tarFile = join(out, 'chunk3.tar')
    await writeFile(tarFile, splitArchive(await readFile(archive)).tar)
    await extractTar({file: tarFile, cwd: out})
    expect(await readFile(join(out, deep, `${'g'.repeat(150)}.js`), 'utf8')).toBe('deep\n')
    expect(await readFile(join(out, 'node_modules/ms/é-ünïcode.js'), 'utf8')).toBe('u\n')
    const extracted = join(await fresh('extract-long'), 'x')
    await extractAospkg(archive, extracted)
    expect((await readPackage(extracted, {digest: true})).digest).toBe(fromDir.digest)
  })

  it('validates a link inside an archive as a warning, and the same link in a directory as an error', async () => {
    // The reference toolchain's bin/<cmd> links, as @agentos-software/pi ships them.
    const dir = await fresh('bin-link')
    await cp(MY_TOOL, dir, {recursive: true})
    await mkdir(join(dir, 'bin'))
    await symlink('../node_modules/my-tool/cli.js', join(dir, 'bin/my-tool'))
    const codes = (report: Awaited<ReturnType<typeof validatePackage>>) =>
      report.problems.filter((p) => p.path === 'bin/my-tool').map((p) => [p.code, p.severity])
    const asDir = await validatePackage(dir)
    expect(asDir.ok).toBe(false)
    expect(codes(asDir)).toEqual([['ERR_AGENTOS_SYMLINK', 'error']])
    const asArchive = await validatePackage(await writeTo(dir))
    expect(asArchive.ok).toBe(true)
    expect(codes(asArchive)).toEqual([['WARN_AGENTOS_AOSPKG_SYMLINK', 'warning']])
  })

  it('refuses to extract a symlink that leaves the package', async () => {
    const dir = await fresh('escape')
    await cp(MY_TOOL, dir, {recursive: true})
    await symlink('../../etc/passwd', join(dir, 'node_modules/evil'))
    const archive = await writeTo(dir)
    await expect(extractAospkg(archive, join(await fresh('x'), 'y'))).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_SYMLINK_OUTSIDE',
    })
  })

  it('refuses a package it cannot encode', async () => {
    const noManifest = await fresh('no-manifest')
    await cp(MY_TOOL, noManifest, {recursive: true})
    await rm(join(noManifest, MANIFEST_FILE))
    await expect(writeAospkg(noManifest, file('x'))).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_MANIFEST_INVALID',
    })
    await writeFile(join(noManifest, MANIFEST_FILE), '{"name":"my-tool"}')
    await expect(writeAospkg(noManifest, file('x'))).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_MANIFEST_INVALID',
      message: expect.stringContaining('"version"'),
    })
    await writeFile(join(noManifest, MANIFEST_FILE), '{"name":"my-tool","version":"1.0.0"}')
    await writeFile(join(noManifest, 'package.json'), '{"name":"my-tool","bin":42}')
    await expect(writeAospkg(noManifest, file('x'))).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_BIN_INVALID',
    })
  })

  it('refuses a FIFO', async (context) => {
    if (spawnSync('mkfifo', ['--version']).status !== 0) context.skip('mkfifo not installed (coreutils)')
    const dir = await fresh('fifo')
    await cp(MY_TOOL, dir, {recursive: true})
    spawnSync('mkfifo', [join(dir, 'pipe')])
    await expect(writeAospkg(dir, file('x'))).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_UNSUPPORTED_ENTRY',
    })
  })

  it('leaves no partial archive when a file changes while it is copied', async () => {
    const target = join(await fresh('partial'), 'out.aospkg')
    const snapshot = await readPackage(MY_TOOL)
    // As if package.json had shrunk by a byte after it was listed.
    snapshot.byPath.get('package.json')!.size += 1
    await expect(writeAospkg(MY_TOOL, target, {snapshot})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_AOSPKG_SOURCE_CHANGED',
    })
    const {readdir} = await import('node:fs/promises')
    expect(await readdir(join(target, '..'))).toEqual([])
  })

  it('checks the archive target: a directory never, a foreign file only with force', async () => {
    const dir = await fresh('targets')
    await expect(checkArchiveTarget(dir)).rejects.toMatchObject({code: 'ERR_AGENTOS_AOSPKG_OUT_IS_DIR'})
    const foreign = join(dir, 'notes.aospkg')
    await writeFile(foreign, 'hello')
    await expect(checkArchiveTarget(foreign)).rejects.toMatchObject({code: 'ERR_AGENTOS_AOSPKG_OUT_EXISTS'})
    await expect(checkArchiveTarget(foreign, {force: true})).resolves.toBeUndefined()
    const earlier = join(dir, 'earlier.aospkg')
    await cp(await writeTo(MY_TOOL), earlier)
    await expect(checkArchiveTarget(earlier)).resolves.toBeUndefined()
    await expect(checkArchiveTarget(join(dir, 'new.aospkg'))).resolves.toBeUndefined()
  })

  it('names the archive <out>.aospkg', () => {
    expect(archivePathFor('/x/pkg', 'both')).toBe('/x/pkg.aospkg')
    expect(archivePathFor('/x/pkg', 'aospkg')).toBe('/x/pkg.aospkg')
    expect(archivePathFor('/x/pkg.aospkg', 'aospkg')).toBe('/x/pkg.aospkg')
    expect(() => archivePathFor('/x/pkg.aospkg', 'both')).toThrow(
      expect.objectContaining({code: 'ERR_AGENTOS_AOSPKG_OUT_SUFFIX'}),
    )
  })
})
