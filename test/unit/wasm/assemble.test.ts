import {spawnSync} from 'node:child_process'
import {closeSync, openSync, readFileSync} from 'node:fs'
import {cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {WASI} from 'node:wasi'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {assembleWasm} from '../../../src/wasm/assemble.js'
import {checkWasmPackage} from '../../../src/wasm/check.js'
import {validatePackage} from '../../../src/package/validate.js'
import {ROOT} from '../../helpers/cli.js'
import {clangWasi, requires} from '../../helpers/requirements.js'
import {watFileToWasm, watToWasm} from '../../helpers/wasm.js'

const MY_CMDS = join(ROOT, 'fixtures/examples/my-cmds')

const ECHO = readFileSync(join(ROOT, 'fixtures/wat/args-env.wat'), 'utf8')

const CAT = readFileSync(join(ROOT, 'fixtures/wat/cat.wat'), 'utf8')

const REACTOR = `(module (memory (export "memory") 1) (func (export "_initialize")))`
const UNKNOWN_IMPORT = `(module
  (import "env" "foo" (func $foo))
  (memory (export "memory") 1)
  (func (export "_start") (call $foo)))`

let work: string
let n = 0
/** A fresh directory under the test's temp root. */
async function fresh(name = 'case'): Promise<string> {
  const dir = join(work, `${name}-${n++}`)
  await mkdir(dir, {recursive: true})
  return dir
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-assemble-'))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

/** The spec's my-cmds example with its WAT compiled into build/*.wasm, in a temp copy. */
async function myCmdsProject(): Promise<string> {
  const dir = await fresh('my-cmds')
  await cp(MY_CMDS, dir, {recursive: true})
  await mkdir(join(dir, 'build'))
  for (const name of ['tool-a', 'tool-b']) {
    await writeFile(join(dir, 'build', `${name}.wasm`), await watFileToWasm(join(dir, 'wat', `${name}.wat`)))
  }
  return dir
}

/** Every file and directory below `dir`: relative path, mode, mtime and bytes. */
async function treeState(dir: string): Promise<Array<[string, number, number, string]>> {
  const out: Array<[string, number, number, string]> = []
  const walk = async (current: string) => {
    for (const name of (await readdir(current)).sort()) {
      const path = join(current, name)
      const info = await lstat(path)
      const bytes = info.isFile() ? (await readFile(path)).toString('base64') : ''
      out.push([relative(dir, path), info.mode & 0o7777, info.mtimeMs, bytes])
      if (info.isDirectory()) await walk(path)
    }
  }
  await walk(dir)
  return out
}

interface WasiRun {
  stdout: string
  stderr: string
  exitCode: number
}

/** Runs a WASI command on node:wasi with stdio in files (never the test process's own stdin). */
async function runWasi(
  file: string,
  args: string[],
  options: {env?: Record<string, string>; stdin?: string} = {},
): Promise<WasiRun> {
  const dir = await fresh('run')
  await writeFile(join(dir, 'stdin'), options.stdin ?? '')
  const stdin = openSync(join(dir, 'stdin'), 'r')
  const stdout = openSync(join(dir, 'stdout'), 'w')
  const stderr = openSync(join(dir, 'stderr'), 'w')
  try {
    const wasi = new WASI({
      version: 'preview1',
      args,
      env: options.env ?? {},
      returnOnExit: true,
      stdin,
      stdout,
      stderr,
    })
    const module = await WebAssembly.compile(await readFile(file))
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports)
    const exitCode = wasi.start(instance)
    return {
      exitCode,
      stdout: await readFile(join(dir, 'stdout'), 'utf8'),
      stderr: await readFile(join(dir, 'stderr'), 'utf8'),
    }
  } finally {
    for (const fd of [stdin, stdout, stderr]) closeSync(fd)
  }
}

describe('assembleWasm: the spec example', () => {
  it('assembles my-cmds into dist/package exactly as the issue shows, and it validates', async () => {
    const project = await myCmdsProject()
    const result = await assembleWasm({inputs: ['build'], cwd: project})
    expect(result).toMatchObject({ok: true, written: true, name: 'my-cmds', version: '1.0.0', problems: []})
    expect(result.out).toBe(join(project, 'dist/package'))
    expect(result.metadataFrom).toEqual([join(project, 'package.json')])
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(result.commands.map((c) => [c.name, c.entry, c.source])).toEqual([
      ['tool-a', 'bin/tool-a', 'build/tool-a.wasm'],
      ['tool-b', 'bin/tool-b', 'build/tool-b.wasm'],
    ])
    expect(result.commands[1]!.facts).toMatchObject({
      layer: 'core',
      compiles: true,
      imports: [{module: 'wasi_snapshot_preview1', names: ['fd_write', 'proc_exit']}],
      exports: {start: true, memory: true},
      memory: {initialPages: 1},
    })

    const out = join(project, 'dist/package')
    const state = await treeState(out)
    expect(state.map(([path, mode]) => [path, mode.toString(8)])).toEqual([
      // The marker that lets a later run replace this output (not part of the package).
      ['.agentos-output.json', '644'],
      ['agentos-package.json', '644'],
      ['bin', '755'],
      ['bin/tool-a', '755'],
      ['bin/tool-b', '755'],
      ['package.json', '644'],
    ])
    expect(await readFile(join(out, 'package.json'), 'utf8')).toBe(
      `${JSON.stringify({name: 'my-cmds', version: '1.0.0', bin: {'tool-a': 'bin/tool-a', 'tool-b': 'bin/tool-b'}}, null, 2)}\n`,
    )
    expect(await readFile(join(out, 'agentos-package.json'), 'utf8')).toBe(
      '{\n  "name": "my-cmds",\n  "version": "1.0.0"\n}\n',
    )
    for (const name of ['tool-a', 'tool-b']) {
      const bytes = await readFile(join(out, 'bin', name))
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('\0asm')
      expect(bytes.equals(await readFile(join(project, 'build', `${name}.wasm`)))).toBe(true)
    }
    // Nothing left next to the output (no staging or aside directories).
    expect(await readdir(join(project, 'dist'))).toEqual(['package'])

    const report = await validatePackage(out)
    expect(report).toMatchObject({ok: true, problems: [], summary: {commands: 2, errors: 0, warnings: 0}})

    // The assembled commands run on node:wasi.
    expect(await runWasi(join(out, 'bin/tool-a'), ['tool-a'])).toEqual({
      exitCode: 0,
      stdout: 'tool-a: hello\n',
      stderr: '',
    })
    expect(await runWasi(join(out, 'bin/tool-b'), ['tool-b'])).toEqual({
      exitCode: 3,
      stdout: '',
      stderr: 'tool-b: bye\n',
    })
  })

  it('gives the same digest and byte-identical files for the same inputs', async () => {
    const project = await myCmdsProject()
    const first = await assembleWasm({inputs: ['build/*.wasm'], cwd: project, out: 'one'})
    const second = await assembleWasm({inputs: ['build/*.wasm'], cwd: project, out: 'two'})
    expect(first.digest).toBe(second.digest)
    expect(await treeState(join(project, 'one'))).toEqual(await treeState(join(project, 'two')))
    // Re-assembling over an earlier output replaces it with the same tree.
    const again = await assembleWasm({inputs: ['build'], cwd: project, out: 'one'})
    expect(again.digest).toBe(first.digest)
    expect(await treeState(join(project, 'one'))).toEqual(await treeState(join(project, 'two')))
  })
})

describe('assembleWasm: inputs', () => {
  async function projectWith(modules: Record<string, string | Uint8Array>): Promise<string> {
    const dir = await fresh('project')
    await writeFile(join(dir, 'package.json'), JSON.stringify({name: 'cmds', version: '2.0.0'}))
    await mkdir(join(dir, 'build'))
    for (const [name, content] of Object.entries(modules)) {
      await writeFile(
        join(dir, 'build', name),
        typeof content === 'string' ? await watToWasm(content) : content,
      )
    }
    return dir
  }

  it('maps several commands to one module (multicall), each a real file', async () => {
    const project = await projectWith({'box.wasm': ECHO})
    const result = await assembleWasm({
      commands: ['ls=build/box.wasm', 'cat=build/box.wasm'],
      cwd: project,
    })
    expect(result.ok).toBe(true)
    expect(result.commands.map((c) => c.name)).toEqual(['cat', 'ls'])
    const out = join(project, 'dist/package')
    const pkg = JSON.parse(await readFile(join(out, 'package.json'), 'utf8'))
    expect(pkg.bin).toEqual({cat: 'bin/cat', ls: 'bin/ls'})
    expect((await readFile(join(out, 'bin/ls'))).equals(await readFile(join(out, 'bin/cat')))).toBe(true)
    expect((await stat(join(out, 'bin/ls'))).nlink).toBe(1)
    expect((await validatePackage(out)).ok).toBe(true)
    // argv[0] picks the applet: the echo module shows it receives its command name.
    const run = await runWasi(join(out, 'bin/ls'), ['ls', '-l'], {env: {HOME: '/home/user'}})
    expect(run).toEqual({exitCode: 0, stdout: 'ls\n-l\nHOME=/home/user\n', stderr: ''})
  })

  it('also accepts an object of name → path and positional files together', async () => {
    const project = await projectWith({'echo.wasm': ECHO, 'cat.wasm': CAT})
    const result = await assembleWasm({
      inputs: ['build/cat.wasm'],
      commands: {say: 'build/echo.wasm'},
      cwd: project,
    })
    expect(result.commands.map((c) => c.name)).toEqual(['cat', 'say'])
    const run = await runWasi(join(result.out, 'bin/cat'), ['cat'], {stdin: 'line one\nline two\n'})
    expect(run).toEqual({exitCode: 0, stdout: 'line one\nline two\n', stderr: ''})
  })

  it('takes a file named twice once, but refuses two modules with one command name', async () => {
    const project = await projectWith({'cat.wasm': CAT})
    await mkdir(join(project, 'other'))
    await writeFile(join(project, 'other/cat.wasm'), await watToWasm(ECHO))
    const once = await assembleWasm({inputs: ['build', 'build/cat.wasm'], cwd: project})
    expect(once.commands.map((c) => c.name)).toEqual(['cat'])
    await expect(
      assembleWasm({inputs: ['build/cat.wasm', 'other/cat.wasm'], cwd: project, out: 'x'}),
    ).rejects.toMatchObject({code: 'ERR_AGENTOS_ASSEMBLE_DUPLICATE_COMMAND'})
    await expect(
      assembleWasm({commands: ['a=build/cat.wasm', 'a=other/cat.wasm'], cwd: project, out: 'x'}),
    ).rejects.toMatchObject({code: 'ERR_AGENTOS_ASSEMBLE_DUPLICATE_COMMAND'})
  })

  it('reports unusable inputs with coded errors', async () => {
    const project = await projectWith({'cat.wasm': CAT})
    await mkdir(join(project, 'empty'))
    await writeFile(join(project, 'build/_hidden.wasm'), await watToWasm(CAT))
    const cases: Array<[Parameters<typeof assembleWasm>[0], string, number]> = [
      [{inputs: []}, 'ERR_AGENTOS_ASSEMBLE_NO_INPUTS', 2],
      [{inputs: ['nope.wasm']}, 'ERR_AGENTOS_ASSEMBLE_INPUT_MISSING', 1],
      [{inputs: ['empty']}, 'ERR_AGENTOS_ASSEMBLE_NO_MATCH', 1],
      [{inputs: ['build/*.wat']}, 'ERR_AGENTOS_ASSEMBLE_NO_MATCH', 1],
      [{inputs: ['build/_hidden.wasm']}, 'ERR_AGENTOS_ASSEMBLE_COMMAND_NAME_INVALID', 1],
      [{commands: ['no-equals-sign']}, 'ERR_AGENTOS_ASSEMBLE_COMMAND_FLAG', 2],
      [{commands: ['x=missing.wasm']}, 'ERR_AGENTOS_ASSEMBLE_INPUT_MISSING', 1],
      [{commands: ['x=build']}, 'ERR_AGENTOS_ASSEMBLE_INPUT_NOT_FILE', 1],
      [{inputs: ['build/cat.wasm'], name: 'Not A Name'}, 'ERR_AGENTOS_ASSEMBLE_NAME_INVALID', 2],
      [{inputs: ['build/cat.wasm'], version: 'one'}, 'ERR_AGENTOS_ASSEMBLE_VERSION_INVALID', 2],
    ]
    for (const [options, code, exitCode] of cases) {
      const error = await assembleWasm({...options, cwd: project}).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, code).toMatchObject({
        code,
        exitCode,
        message: expect.any(String),
        hint: expect.any(String),
      })
    }
    await expect(readdir(project)).resolves.not.toContain('dist')
  })

  it('checks every module, reports all problems at once, and writes nothing on an error', async () => {
    const project = await projectWith({
      'good.wasm': CAT,
      'lib.wasm': REACTOR,
      'comp.wasm': Buffer.from('0061736d0d000100', 'hex'),
      'script.wasm': Buffer.from('#!/bin/sh\necho hi\n'),
      'cut.wasm': (await watToWasm(CAT)).subarray(0, 40),
    })
    const result = await assembleWasm({inputs: ['build'], cwd: project})
    expect(result.ok).toBe(false)
    expect(result.written).toBe(false)
    expect(result.digest).toBeUndefined()
    expect(result.problems.map((p) => [p.path, p.code])).toEqual([
      ['build/comp.wasm', 'ERR_AGENTOS_WASM_COMPONENT'],
      ['build/cut.wasm', 'ERR_AGENTOS_WASM_INVALID'],
      ['build/lib.wasm', 'ERR_AGENTOS_WASM_REACTOR'],
      ['build/script.wasm', 'ERR_AGENTOS_WASM_MAGIC'],
    ])
    expect(result.summary).toEqual({errors: 4, warnings: 0, infos: 0})
    expect(await readdir(project)).not.toContain('dist')
  })

  it('assembles a module importing an unknown module, with the warning', async () => {
    const project = await projectWith({'ext.wasm': UNKNOWN_IMPORT})
    const result = await assembleWasm({inputs: ['build/ext.wasm'], cwd: project})
    expect(result.ok).toBe(true)
    expect(result.written).toBe(true)
    expect(result.problems.map((p) => p.code)).toEqual(['WARN_AGENTOS_WASM_UNKNOWN_IMPORT'])
  })
})

describe('assembleWasm: name, version and manifest', () => {
  it('finds the nearest package.json walking up from the project directory', async () => {
    const project = await fresh('walk')
    await writeFile(join(project, 'package.json'), JSON.stringify({name: '@scope/walker', version: '0.2.0'}))
    await mkdir(join(project, 'sub/deeper'), {recursive: true})
    await writeFile(join(project, 'sub/deeper/cat.wasm'), await watToWasm(CAT))
    const cwd = join(project, 'sub/deeper')
    const result = await assembleWasm({inputs: ['cat.wasm'], cwd})
    expect(result).toMatchObject({ok: true, name: '@scope/walker', version: '0.2.0', project})
    expect(result.out).toBe(join(cwd, 'dist/package'))
    expect(JSON.parse(await readFile(join(result.out, 'agentos-package.json'), 'utf8'))).toEqual({
      name: 'walker',
      version: '0.2.0',
    })
    expect(JSON.parse(await readFile(join(result.out, 'package.json'), 'utf8')).name).toBe('@scope/walker')
  })

  it('reads [package] name and version from Cargo.toml', async () => {
    const project = await fresh('cargo')
    await writeFile(
      join(project, 'Cargo.toml'),
      '[package]\nname = "rusty-tool"\nversion = "0.3.1"\nedition = "2021"\n\n[dependencies]\n',
    )
    await mkdir(join(project, 'target/wasm32-wasip1/release'), {recursive: true})
    await writeFile(join(project, 'target/wasm32-wasip1/release/rusty-tool.wasm'), await watToWasm(CAT))
    const result = await assembleWasm({inputs: ['target/wasm32-wasip1/release/*.wasm'], cwd: project})
    expect(result).toMatchObject({ok: true, name: 'rusty-tool', version: '0.3.1'})
    expect(result.metadataFrom).toEqual([join(project, 'Cargo.toml')])
    expect(JSON.parse(await readFile(join(result.out, 'package.json'), 'utf8'))).toEqual({
      name: 'rusty-tool',
      version: '0.3.1',
      bin: {'rusty-tool': 'bin/rusty-tool'},
    })
  })

  it('follows version.workspace = true to the workspace root', async () => {
    const root = await fresh('workspace')
    await writeFile(
      join(root, 'Cargo.toml'),
      '[workspace]\nmembers = ["crates/*"]\n\n[workspace.package]\nversion = "4.5.6"\n',
    )
    const crate = join(root, 'crates/tool')
    await mkdir(crate, {recursive: true})
    await writeFile(join(crate, 'Cargo.toml'), '[package]\nname = "ws-tool"\nversion.workspace = true\n')
    await writeFile(join(crate, 'tool.wasm'), await watToWasm(CAT))
    const result = await assembleWasm({inputs: ['tool.wasm'], cwd: crate})
    expect(result).toMatchObject({ok: true, name: 'ws-tool', version: '4.5.6'})
  })

  it('prefers flags over discovered metadata, and asks for the flag when nothing is found', async () => {
    const project = await fresh('bare')
    await writeFile(join(project, 'cat.wasm'), await watToWasm(CAT))
    await expect(assembleWasm({inputs: ['cat.wasm'], cwd: project})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_ASSEMBLE_NAME_REQUIRED',
      hint: expect.stringContaining('--name'),
    })
    await expect(assembleWasm({inputs: ['cat.wasm'], cwd: project, name: 'x'})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_ASSEMBLE_VERSION_REQUIRED',
      hint: expect.stringContaining('--version'),
    })
    const result = await assembleWasm({inputs: ['cat.wasm'], cwd: project, name: 'x', version: '1.2.3'})
    expect(result).toMatchObject({ok: true, name: 'x', version: '1.2.3', metadataFrom: []})
  })

  it('reports a broken package.json or Cargo.toml with its path', async () => {
    const project = await fresh('broken')
    await writeFile(join(project, 'Cargo.toml'), '[package\nname = ')
    await writeFile(join(project, 'cat.wasm'), await watToWasm(CAT))
    await expect(assembleWasm({inputs: ['cat.wasm'], cwd: project})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_ASSEMBLE_PROJECT_INVALID',
      path: join(project, 'Cargo.toml'),
    })
  })

  it('merges the project manifest and copies --include files that provides points at', async () => {
    const project = await fresh('provides')
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({name: 'tool-with-files', version: '1.0.0'}),
    )
    const manifest = {
      name: 'tool-with-files',
      version: '0.0.1',
      provides: {
        env: {TOOL_HOME: '/opt/agentos/pkgs/tool-with-files/current'},
        files: [
          {source: 'etc', target: '/etc/tool'},
          {source: 'share/man', target: '/usr/share/man/tool'},
        ],
      },
    }
    await writeFile(join(project, 'agentos-package.json'), JSON.stringify(manifest))
    await mkdir(join(project, 'etc'))
    await mkdir(join(project, 'share/man/man1'), {recursive: true})
    await writeFile(join(project, 'etc/tool.conf'), 'key = value\n')
    await writeFile(join(project, 'share/man/man1/tool.1'), '.TH TOOL 1\n')
    await writeFile(join(project, 'tool.wasm'), await watToWasm(CAT))

    // Without the files, the provides sources are missing: nothing is written.
    const missing = await assembleWasm({inputs: ['tool.wasm'], cwd: project})
    expect(missing.ok).toBe(false)
    expect(missing.problems.map((p) => p.code)).toEqual([
      'ERR_AGENTOS_PROVIDES_SOURCE_MISSING',
      'ERR_AGENTOS_PROVIDES_SOURCE_MISSING',
    ])
    expect(await readdir(project)).not.toContain('dist')

    const result = await assembleWasm({
      inputs: ['tool.wasm'],
      cwd: project,
      include: ['etc/**', 'share/man/**'],
    })
    expect(result.ok).toBe(true)
    expect(result.included).toEqual(['etc/tool.conf', 'share/man/man1/tool.1'])
    expect(JSON.parse(await readFile(join(result.out, 'agentos-package.json'), 'utf8'))).toEqual({
      ...manifest,
      version: '1.0.0',
    })
    expect(await readFile(join(result.out, 'etc/tool.conf'), 'utf8')).toBe('key = value\n')
    expect(await readFile(join(result.out, 'share/man/man1/tool.1'), 'utf8')).toBe('.TH TOOL 1\n')
    expect((await validatePackage(result.out)).ok).toBe(true)

    // The earlier output (dist/package/etc/tool.conf) is never included, even by a catch-all glob.
    const again = await assembleWasm({
      inputs: ['tool.wasm'],
      cwd: project,
      include: ['**/*.conf', 'share/**'],
    })
    expect(again.included).toEqual(['etc/tool.conf', 'share/man/man1/tool.1'])
  })

  it('refuses include globs that leave the project, match nothing, or clash with generated files', async () => {
    const project = await fresh('include')
    await writeFile(join(project, 'package.json'), JSON.stringify({name: 'inc', version: '1.0.0'}))
    await writeFile(join(project, 'cat.wasm'), await watToWasm(CAT))
    const attempt = (include: string[]) => assembleWasm({inputs: ['cat.wasm'], cwd: project, include})
    await expect(attempt(['../x/**'])).rejects.toMatchObject({code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_OUTSIDE'})
    await expect(attempt(['/etc/passwd'])).rejects.toMatchObject({
      code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_OUTSIDE',
    })
    await expect(attempt(['docs/**'])).rejects.toMatchObject({code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_NO_MATCH'})
    await expect(attempt(['package.json'])).rejects.toMatchObject({
      code: 'ERR_AGENTOS_ASSEMBLE_INCLUDE_CONFLICT',
    })
  })
})

describe('assembleWasm: output target', () => {
  it('refuses a non-empty foreign directory and leaves it untouched; --force replaces it', async () => {
    const project = await myCmdsProject()
    const target = join(project, 'mine')
    await mkdir(target)
    await writeFile(join(target, 'notes.txt'), 'keep me\n')
    const before = await treeState(target)
    await expect(assembleWasm({inputs: ['build'], cwd: project, out: 'mine'})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_OUT_NOT_EMPTY',
    })
    expect(await treeState(target)).toEqual(before)
    expect((await readdir(project)).filter((name) => name.startsWith('.'))).toEqual([])

    const forced = await assembleWasm({inputs: ['build'], cwd: project, out: 'mine', force: true})
    expect(forced.ok).toBe(true)
    expect((await readdir(target)).sort()).toEqual([
      '.agentos-output.json',
      'agentos-package.json',
      'bin',
      'package.json',
    ])
  })

  it('refuses a file target and leaves it untouched', async () => {
    const project = await myCmdsProject()
    await writeFile(join(project, 'out-file'), 'not a directory\n')
    await expect(assembleWasm({inputs: ['build'], cwd: project, out: 'out-file'})).rejects.toMatchObject({
      code: 'ERR_AGENTOS_OUT_IS_FILE',
    })
    expect(await readFile(join(project, 'out-file'), 'utf8')).toBe('not a directory\n')
  })

  it('refuses an output that is or contains the project', async () => {
    const project = await myCmdsProject()
    await expect(
      assembleWasm({inputs: ['build'], cwd: project, out: '.', force: true}),
    ).rejects.toMatchObject({
      code: 'ERR_AGENTOS_OUT_CONTAINS_SOURCE',
    })
  })
})

describe('checkWasmPackage (--check)', () => {
  /** A hand-built WASM package (package.json + bin/) with no manifest. */
  async function handBuilt(modules: Record<string, string>): Promise<string> {
    const dir = await fresh('hand')
    await mkdir(join(dir, 'bin'))
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({
        name: '@acme/hand-cmds',
        version: '3.0.0',
        bin: Object.fromEntries(Object.keys(modules).map((m) => [m, `bin/${m}`])),
      }),
    )
    for (const [name, wat] of Object.entries(modules)) {
      await writeFile(join(dir, 'bin', name), await watToWasm(wat), {mode: 0o755})
    }
    return dir
  }

  it('writes only the missing agentos-package.json and changes nothing else', async () => {
    // Not cat/echo: the runtime's default software has those (WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND).
    const dir = await handBuilt({myecho: ECHO, mycat: CAT})
    const before = await treeState(dir)
    const result = await checkWasmPackage(dir)
    expect(result).toMatchObject({
      ok: true,
      manifest: 'created',
      wrote: ['agentos-package.json'],
      problems: [],
    })
    expect(result.commands.map((c) => c.name)).toEqual(['mycat', 'myecho'])
    expect(await readFile(join(dir, 'agentos-package.json'), 'utf8')).toBe(
      '{\n  "name": "hand-cmds",\n  "version": "3.0.0"\n}\n',
    )
    const after = await treeState(dir)
    expect(after.filter(([path]) => path !== 'agentos-package.json')).toEqual(before)
    expect((await readdir(dir)).sort()).toEqual(['agentos-package.json', 'bin', 'package.json'])
    const report = await validatePackage(dir)
    expect(report.ok).toBe(true)
    const {inspectPackage} = await import('../../../src/package/inspect.js')
    expect((await inspectPackage(dir)).digest).toBe(result.digest)

    const again = await checkWasmPackage(dir)
    expect(again).toMatchObject({ok: true, manifest: 'present', wrote: []})
    expect(await treeState(dir)).toEqual(after)
  })

  it('writes nothing when a command module fails its checks', async () => {
    const dir = await handBuilt({lib: REACTOR, mycat: CAT})
    const before = await treeState(dir)
    const result = await checkWasmPackage(dir)
    expect(result).toMatchObject({ok: false, manifest: 'not-written', wrote: []})
    expect(result.problems.map((p) => [p.code, p.path])).toEqual([
      ['ERR_AGENTOS_MANIFEST_MISSING', 'agentos-package.json'],
      ['ERR_AGENTOS_WASM_REACTOR', 'bin/lib'],
    ])
    expect(await treeState(dir)).toEqual(before)
  })

  it('reports a broken package.json as problems, writing nothing', async () => {
    const dir = await handBuilt({cat: CAT})
    await writeFile(join(dir, 'package.json'), '{"name": "broken",')
    const result = await checkWasmPackage(dir)
    expect(result).toMatchObject({ok: false, manifest: 'not-written'})
    expect(result.problems.map((p) => p.code)).toContain('ERR_AGENTOS_JSON_SYNTAX')
    expect(await readdir(dir)).not.toContain('agentos-package.json')
  })

  it('refuses a directory without package.json and bin/', async () => {
    const dir = await fresh('not-package')
    await writeFile(join(dir, 'package.json'), '{}')
    await expect(checkWasmPackage(dir)).rejects.toMatchObject({
      code: 'ERR_AGENTOS_ASSEMBLE_CHECK_NOT_PACKAGE',
    })
    await expect(checkWasmPackage(join(dir, 'missing'))).rejects.toMatchObject({
      code: 'ERR_AGENTOS_TARGET_NOT_FOUND',
    })
  })
})

describe('a C command compiled with clang --target=wasm32-wasi', () => {
  it('compiles fixtures/c/hello.c, assembles it, validates and runs it', async (context) => {
    requires(context, clangWasi)
    const project = await fresh('c')
    const wasm = join(project, 'hello.wasm')
    const compile = spawnSync(
      'clang',
      ['--target=wasm32-wasi', '-O2', '-s', '-o', wasm, join(ROOT, 'fixtures/c/hello.c')],
      {encoding: 'utf8'},
    )
    expect(compile.stderr).toBe('')
    expect(compile.status).toBe(0)

    const result = await assembleWasm({
      inputs: ['hello.wasm'],
      cwd: project,
      name: 'c-hello',
      version: '1.0.0',
    })
    expect(result.ok).toBe(true)
    expect(result.problems).toEqual([])
    const facts = result.commands[0]!.facts
    expect(facts.imports.map((group) => group.module)).toEqual(['wasi_snapshot_preview1'])
    expect(facts.exports).toMatchObject({start: true, memory: true})
    expect(facts.memory!.initialPages).toBeGreaterThan(0)
    expect((await validatePackage(result.out)).ok).toBe(true)

    const bin = join(result.out, 'bin/hello')
    expect(await runWasi(bin, ['hello', 'a', 'b c'])).toEqual({
      exitCode: 0,
      stdout: 'hello from wasi [a] [b c]\n',
      stderr: '',
    })
    expect(await runWasi(bin, ['hello', '--cat'], {stdin: 'stdin-data\n'})).toMatchObject({
      exitCode: 0,
      stdout: 'stdin-data\n',
    })
    expect((await runWasi(bin, ['hello', '--exit', '7'])).exitCode).toBe(7)
  })
})
