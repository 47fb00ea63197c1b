// For a closure of 20 packages or more, `pack` (bin/run.js, the single binary) starts its copy
// threads early and lets them list the installed packages as they copy them (pack/walk.ts in
// copy-worker.ts). The pack API run from the TypeScript sources has no copy worker and lists every
// package on the main thread: the two must write the same package, byte for byte.
import {chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {pack} from '../../src/pack/pack.js'
import {runProcess} from '../helpers/cli.js'
import {snapshotTree} from '../helpers/tree.js'

const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(64)])
let work: string
let project: string

function write(file: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(join(file, '..'), {recursive: true})
  writeFileSync(file, text)
  chmodSync(file, mode)
}

/** A wrapper project whose command lives in one of its 24 dependencies. */
function makeProject(): string {
  const dir = join(work, 'wrapper')
  const deps: Record<string, string> = {}
  for (let i = 0; i < 24; i++) {
    const name = i === 0 ? '@scope/tool' : `dep-${String(i).padStart(2, '0')}`
    deps[name] = '1.0.0'
    const pkg = join(dir, 'node_modules', name)
    write(join(pkg, 'package.json'), JSON.stringify({name, version: '1.0.0'}))
    write(join(pkg, 'index.js'), `module.exports = ${i}\n`)
    write(join(pkg, 'lib/deep/er/util.js'), `// ${name}\n`)
    write(join(pkg, 'README.md'), `# ${name}\n`)
  }
  const tool = join(dir, 'node_modules/@scope/tool')
  // The command: no shebang (pack adds one and makes it executable).
  write(join(tool, 'dist/cli.js'), "require('dep-01')\n")
  // Native code, pruned with --prune-native; its directory stays, as a listed file's would.
  write(join(tool, 'prebuilds/linux-x64/tool.node'), ELF)
  write(join(join(dir, 'node_modules/dep-02'), 'bin/helper'), ELF, 0o755)
  // A link inside the package is followed; a root .bin and nested node_modules are not listed
  // with the package (the nested one is a package of its own).
  symlinkSync('lib/deep', join(dir, 'node_modules/dep-03/alias'))
  write(join(dir, 'node_modules/dep-03/.bin/ignored'), 'x\n')
  write(
    join(dir, 'node_modules/dep-04/node_modules/nested/package.json'),
    '{"name":"nested","version":"2.0.0"}',
  )
  write(join(dir, 'node_modules/dep-04/node_modules/nested/n.js'), 'module.exports = 2\n')
  write(
    join(dir, 'node_modules/dep-04/package.json'),
    JSON.stringify({name: 'dep-04', version: '1.0.0', dependencies: {nested: '2.0.0'}}),
  )
  write(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'wrapper',
      version: '3.0.0',
      bin: {tool: './node_modules/@scope/tool/dist/cli.js'},
      dependencies: deps,
    }),
  )
  return dir
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-pack-walk-'))
  project = makeProject()
})
afterAll(() => {
  rmSync(work, {recursive: true, force: true})
})

describe('pack of a closure the copy threads walk', () => {
  it('writes what listing every file first writes: tree, modes, digest, pruned files', async () => {
    const walked = join(work, 'walked')
    const result = await runProcess(['pack', project, '--out', walked, '--prune-native', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    const listed = join(work, 'listed')
    const reference = await pack({source: project, out: listed, pruneNative: true})
    expect(report.digest).toBe(reference.digest)
    expect(report.files).toBe(reference.files)
    expect(report.pruned).toEqual(reference.pruned)
    expect(report.warnings).toEqual(JSON.parse(JSON.stringify(reference.warnings)))
    expect(await snapshotTree(walked)).toEqual(await snapshotTree(listed))
    // And against the project itself, not only against each other.
    expect(report.packages).toBe(26)
    expect(report.commands).toEqual([{name: 'tool', entry: 'node_modules/@scope/tool/dist/cli.js'}])
    expect(report.pruned.map((n: {path: string}) => n.path)).toEqual([
      'node_modules/@scope/tool/prebuilds/linux-x64/tool.node',
      'node_modules/dep-02/bin/helper',
    ])
    const tree = await snapshotTree(walked)
    expect(tree['node_modules/@scope/tool/dist/cli.js']).toMatchObject({mode: 0o755})
    expect(tree['node_modules/@scope/tool/prebuilds/linux-x64']).toMatchObject({type: 'dir'})
    expect(tree['node_modules/dep-03/alias/er/util.js']).toMatchObject({type: 'file'})
    expect(tree['node_modules/dep-03/.bin/ignored']).toBeUndefined()
    expect(tree['node_modules/dep-04/node_modules/nested/n.js']).toMatchObject({type: 'file'})
  })

  it('refuses a link out of a dependency, and leaves no output', async () => {
    const outside = join(project, 'node_modules/dep-05/leak')
    symlinkSync('/etc', outside)
    try {
      const out = join(work, 'refused')
      const result = await runProcess(['pack', project, '--out', out, '--json'])
      expect(result.exitCode).toBe(1)
      const {error} = JSON.parse(result.stdout)
      expect(error.code).toBe('ERR_AGENTOS_PACK_SYMLINK_OUTSIDE')
      expect(error.path).toBe(outside)
      // No output, and no staging sibling left behind.
      expect(readdirSync(work).filter((name) => name.includes('refused'))).toEqual([])
    } finally {
      rmSync(outside)
    }
  })
})
