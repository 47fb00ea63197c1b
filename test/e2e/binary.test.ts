// The single binary against bin/run.js: the same stdout, stderr and exit code for every command's
// help, the usage errors, and real work with JSON output. The rest of test/e2e runs against
// whichever executable AGENTOS_TOOLCHAIN_EXE names; this file compares the two side by side.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {Config} from '@oclif/core'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {type CliResult, ROOT, runProcess, spawnCapture} from '../helpers/cli.js'
import {requires, singleBinary} from '../helpers/requirements.js'
import {watFileToWasm} from '../helpers/wasm.js'

const exe = process.env.AGENTOS_TOOLCHAIN_EXE
/** The Node the binary is made of (scripts/get-node.sh), so Node's own messages match too. */
const node24 = join(ROOT, '.cache/node-v24.21.0/bin/node')
const example = (name: string) => join(ROOT, 'fixtures/examples', name)
let work: string

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-binary-'))
})
afterAll(() => {
  rmSync(work, {recursive: true, force: true})
})

/** Node's version differs between the two (the binary carries its own): compare without it. */
const sameNode = (text: string) => text.replace(/node-v\d+\.\d+\.\d+/g, 'node-vX')

function spawnCli(file: string, args: string[], cwd: string): Promise<CliResult> {
  return spawnCapture(file, args, {cwd, env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'}})
}

describe('--version', () => {
  it("prints oclif's user agent (answered before oclif loads)", async () => {
    const config = await Config.load(ROOT)
    const result = await runProcess(['--version'])
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe('')
    expect(sameNode(result.stdout)).toBe(sameNode(`${config.userAgent}\n`))
  })
})

describe('the single binary (AGENTOS_TOOLCHAIN_EXE) against bin/run.js', () => {
  const binary = exe as string
  beforeEach((context) => requires(context, singleBinary))
  const nodeForScript = existsSync(node24) ? node24 : process.execPath
  const both = async (args: string[], cwd = work) => {
    const [script, bin] = await Promise.all([
      spawnCli(nodeForScript, [join(ROOT, 'bin/run.js'), ...args], cwd),
      spawnCli(binary, args, cwd),
    ])
    return {script, bin}
  }
  const expectSame = async (args: string[], cwd = work) => {
    const {script, bin} = await both(args, cwd)
    const show = `agentos-toolchain ${args.join(' ')}`
    expect(bin.exitCode, show).toBe(script.exitCode)
    expect(sameNode(bin.stdout), show).toBe(sameNode(script.stdout))
    expect(sameNode(bin.stderr), show).toBe(sameNode(script.stderr))
    return script
  }

  it('is a SEA whose SHA256SUMS entry matches', async () => {
    const bytes = await readFile(binary)
    // postject flips the fuse's last character from 0 to 1 when it injects the blob.
    expect(bytes.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(true)
    const sums = join(dirname(binary), 'SHA256SUMS')
    if (existsSync(sums)) {
      const line = readFileSync(sums, 'utf8')
        .split('\n')
        .find((l) => l.endsWith(`  ${basename(binary)}`))
      expect(line?.split('  ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'))
    }
  })

  it('runs its CLI bundle from the code cache the build made for it', async () => {
    const result = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(binary, ['--help'], {
        env: {...process.env, AGENTOS_TOOLCHAIN_DEBUG_SEA: '1'},
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      child.on('error', reject)
      child.on('close', (code) => resolve({stdout: '', stderr, exitCode: code ?? 1}))
    })
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe('sea: code cache accepted\n')
  })

  it('gives the same help for the CLI and for every command, its plugins included', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>
    }
    const ids = Object.keys(manifest.commands)
    expect(ids.length).toBeGreaterThan(0)
    for (const args of [[], ['--help'], ['help'], ['help', 'help'], ['autocomplete', '--help']]) {
      await expectSame(args)
    }
    for (const id of ids) {
      await expectSame([...id.split(':'), '--help'])
      await expectSame(['help', ...id.split(':')])
    }
    expect((await expectSame(['--help'])).stdout).toContain('autocomplete')
  })

  it('gives the same usage errors and exit codes', async () => {
    for (const args of [
      ['valdate', 'x'],
      ['nope'],
      ['help', 'nope'],
      ['validate'],
      ['validate', '--json'],
      ['validate', '.', '--bogus'],
      ['inspect', '--bogus', '--json'],
      ['pack'],
    ]) {
      const result = await expectSame(args)
      expect(result.exitCode, args.join(' ')).toBe(2)
    }
  })

  it('gives the same JSON documents for validate, inspect, pack and assemble-wasm', async () => {
    for (const args of [
      ['validate', example('my-tool-package'), '--json'],
      ['validate', example('my-cmds'), '--json'],
      ['validate', example('my-agent-package'), '--strict', '--json'],
      ['inspect', example('my-agent-package'), '--json'],
      ['inspect', example('my-tool-package')],
      ['inspect', join(work, 'missing'), '--json'],
    ]) {
      await expectSame(args)
    }

    // pack: the README's my-tool project, packed by each into its own directory.
    const project = join(work, 'my-tool')
    const installed = example('my-tool-package/node_modules')
    cpSync(join(installed, 'my-tool'), project, {recursive: true})
    cpSync(join(installed, 'ms'), join(project, 'node_modules/ms'), {recursive: true})
    const packed = await Promise.all(
      ['script', 'bin'].map(async (who) => {
        const file = who === 'bin' ? binary : nodeForScript
        const args = who === 'bin' ? [] : [join(ROOT, 'bin/run.js')]
        const out = join(work, `packed-${who}`)
        const result = await spawnCli(file, [...args, 'pack', project, '--out', out, '--json'], work)
        expect(result.exitCode, result.stderr).toBe(0)
        return {...JSON.parse(result.stdout), out: '<out>'}
      }),
    )
    expect(packed[1]).toEqual(packed[0])
    await expectSame(['validate', join(work, 'packed-bin'), '--json'])
    await expectSame(['inspect', join(work, 'packed-script'), '--json'])

    // assemble-wasm: the WebAssembly example, compiled from WAT as the demo does.
    const cmds = join(work, 'my-cmds')
    mkdirSync(join(cmds, 'build'), {recursive: true})
    cpSync(example('my-cmds/package.json'), join(cmds, 'package.json'))
    for (const name of ['tool-a', 'tool-b']) {
      writeFileSync(
        join(cmds, 'build', `${name}.wasm`),
        await watFileToWasm(example(`my-cmds/wat/${name}.wat`)),
      )
    }
    const assembled = await Promise.all(
      ['script', 'bin'].map(async (who) => {
        const file = who === 'bin' ? binary : nodeForScript
        const args = who === 'bin' ? [] : [join(ROOT, 'bin/run.js')]
        const out = join(work, `assembled-${who}`)
        const result = await spawnCli(
          file,
          [...args, 'assemble-wasm', join(cmds, 'build'), '--project', cmds, '--out', out, '--json'],
          work,
        )
        expect(result.exitCode, result.stderr).toBe(0)
        return JSON.parse(result.stdout.replaceAll(out, '<out>'))
      }),
    )
    expect(assembled[1]).toEqual(assembled[0])
  })

  it('packs a tree big enough for the worker-thread copier, as bin/run.js does', async () => {
    // Hundreds of files make pack copy on worker threads, which the binary starts from source it
    // carries (it has no worker file); an ELF file among them exercises --prune-native there.
    const project = join(work, 'many-files')
    const installed = example('my-tool-package/node_modules')
    cpSync(join(installed, 'my-tool'), project, {recursive: true})
    cpSync(join(installed, 'ms'), join(project, 'node_modules/ms'), {recursive: true})
    mkdirSync(join(project, 'node_modules/ms/extra'))
    for (let i = 0; i < 400; i++)
      writeFileSync(join(project, `node_modules/ms/extra/f${i}.js`), `module.exports = ${i}\n`.repeat(i % 40))
    writeFileSync(
      join(project, 'node_modules/ms/extra/tool'),
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
    )
    const results = await Promise.all(
      ['script', 'bin'].map(async (who) => {
        const file = who === 'bin' ? binary : nodeForScript
        const args = who === 'bin' ? [] : [join(ROOT, 'bin/run.js')]
        const out = join(work, `many-${who}`)
        const result = await spawnCli(
          file,
          [...args, 'pack', project, '--out', out, '--prune-native', '--json'],
          work,
        )
        expect(result.exitCode, result.stderr).toBe(0)
        const inspected = await spawnCli(binary, ['inspect', out, '--json'], work)
        return {packed: {...JSON.parse(result.stdout), out: '<out>'}, inspected: JSON.parse(inspected.stdout)}
      }),
    )
    expect(results[1]!.packed).toEqual(results[0]!.packed)
    // package.json and the manifest, my-tool's two files, ms's two and the 400 extra (the ELF pruned).
    expect(results[1]!.packed.files).toBe(2 + 2 + 2 + 400)
    expect(results[1]!.packed.pruned).toMatchObject([{path: 'node_modules/ms/extra/tool'}])
    // The digest pack computed while copying is the one a fresh read of the tree gives.
    expect(results[1]!.inspected.digest).toBe(results[1]!.packed.digest)
  })

  it('runs from an empty directory with no node_modules and no node on PATH', async () => {
    const empty = join(work, 'empty')
    mkdirSync(empty)
    const result = await spawnCapture(binary, ['validate', example('my-tool-package'), '--json'], {
      cwd: empty,
      env: {PATH: empty, HOME: empty},
    })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout).ok).toBe(true)
  })

  it('runs WASM without any Node.js, and says what to do for a Node.js command when there is none', async () => {
    const bare = join(work, 'bare')
    mkdirSync(bare)
    const wasm = join(work, 'bare-cmds')
    cpSync(join(ROOT, 'fixtures/run/wasm-cmds'), wasm, {recursive: true})
    mkdirSync(join(wasm, 'bin'))
    writeFileSync(join(wasm, 'bin/echo'), await watFileToWasm(join(ROOT, 'fixtures/run/wat/echo.wat')), {
      mode: 0o755,
    })
    // No node anywhere on PATH; /usr/bin stays out too (bwrap and /bin/sh are found without it).
    const bareRun = (args: string[]) =>
      spawnCapture(binary, ['run', ...args], {cwd: bare, env: {PATH: `${bare}:/usr/sbin:/sbin`, HOME: bare}})
    const echo = await bareRun([wasm, '--', 'echo', 'no', 'node'])
    expect(echo, echo.stderr).toMatchObject({exitCode: 0, stdout: 'no node\n'})
    const tool = example('my-tool-package')
    const refused = await bareRun([tool, '--', 'my-tool', '1h'])
    expect(refused.exitCode).toBe(126)
    expect(refused.stderr).toContain('ERR_AGENTOS_RUN_NODE_NOT_FOUND')
    expect(refused.stderr).toContain('--node')
    const given = await bareRun([
      tool,
      '--node',
      existsSync(node24) ? node24 : process.execPath,
      '--',
      'my-tool',
      '1h',
    ])
    expect(given, given.stderr).toMatchObject({exitCode: 0, stdout: 'my-tool: 3600000\n'})
  })

  // The single binary's process.execPath is the binary: `run` needs findNodeExecutable to find a
  // real node. Checked inside a real SEA made of the same Node (a small one: only that module).
  it('finds a real node on PATH from inside a SEA, and none when PATH has none', async () => {
    if (!existsSync(node24)) throw new Error(`${node24} is missing: npm run build:binary fetches it`)
    const dir = join(work, 'mini-sea')
    mkdirSync(dir)
    const esbuild = await import('esbuild')
    await esbuild.build({
      stdin: {
        contents: `import {findNodeExecutable, isSea} from ${JSON.stringify(join(ROOT, 'src/util/node-binary.ts'))}
          process.stdout.write(JSON.stringify({isSea: isSea(), found: findNodeExecutable() ?? null,
            explicit: findNodeExecutable(process.argv[2]) ?? null}))`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      outfile: join(dir, 'main.cjs'),
      logLevel: 'error',
    })
    writeFileSync(
      join(dir, 'sea.json'),
      JSON.stringify({
        main: join(dir, 'main.cjs'),
        output: join(dir, 'blob'),
        disableExperimentalSEAWarning: true,
      }),
    )
    await new Promise<void>((resolve, reject) =>
      spawn(node24, ['--experimental-sea-config', join(dir, 'sea.json')], {stdio: 'ignore'}).on(
        'close',
        (code) => (code === 0 ? resolve() : reject(new Error(`sea-config exited ${code}`))),
      ),
    )
    // Named node, so the PATH search meets the SEA itself first and has to skip it.
    const sea = join(dir, 'node')
    cpSync(node24, sea)
    const {inject} = createRequire(import.meta.url)('postject') as {
      inject: (file: string, name: string, data: Buffer, options: {sentinelFuse: string}) => Promise<void>
    }
    await inject(sea, 'NODE_SEA_BLOB', readFileSync(join(dir, 'blob')), {
      sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
    })
    const ask = async (path: string, explicit: string) => {
      const result = await new Promise<CliResult>((resolve, reject) => {
        const child = spawn(sea, [explicit], {env: {PATH: path}, stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
        child.on('error', reject)
        child.on('close', (code) => resolve({stdout, stderr: '', exitCode: code ?? 1}))
      })
      expect(result.exitCode).toBe(0)
      return JSON.parse(result.stdout) as {isSea: boolean; found: string | null; explicit: string | null}
    }
    // PATH: the SEA's own directory first, then a real node.
    const withNode = await ask(`${dir}:${dirname(node24)}`, node24)
    expect(withNode).toEqual({isSea: true, found: node24, explicit: node24})
    const withoutNode = await ask(dir, join(dir, 'missing-node'))
    expect(withoutNode).toEqual({isSea: true, found: null, explicit: null})
  })
})
