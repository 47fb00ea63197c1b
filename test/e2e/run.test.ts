import {execFileSync, spawn} from 'node:child_process'
import {cp, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {cliCommand, hasStackTrace, runProcess} from '../helpers/cli.js'
import {ISOLATIONS, bwrap, requires, requiresIsolation} from '../helpers/requirements.js'
import {
  digestOf,
  example,
  nativePackage,
  processesMatching,
  runFixture,
  wasmCmdsPackage,
} from '../helpers/run-fixtures.js'

// Real processes of the built CLI (npm run build first): `run` is about processes, exit codes and
// what the guest sees, none of which an in-process call could show.
let work: string
let wasm: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-test-'))
  wasm = await wasmCmdsPackage(work)
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>

describe('run: WebAssembly commands (node:wasi, in-process)', () => {
  it('passes argv, stdin, stdout and the exit code through', async () => {
    const echo = await runProcess(['run', wasm, '--', 'echo', 'hello', 'agent OS'])
    expect(echo).toMatchObject({stdout: 'hello agent OS\n', exitCode: 0})
    const cat = await runProcess(['run', wasm, '--', 'cat'], {input: 'line one\nline two\n'})
    expect(cat).toMatchObject({stdout: 'line one\nline two\n', exitCode: 0})
    const exit = await runProcess(['run', wasm, '--', 'exit', '42'])
    expect(exit.exitCode).toBe(42)
    // wasm-cmds names its commands like the runtime's default software (echo, cat, env) and one
    // like a builtin of its shell (exit): run says what runtime 0.2.21 would do, and nothing else.
    expect(exit.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(
        /^WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND: commands "cat", "echo", "env" of wasm-cmds are /,
      ),
      expect.stringMatching(/^WARN_AGENTOS_RUNTIME_SHELL_BUILTIN: command "exit" is also a builtin/),
    ])
  })

  it('gives the guest the base env, provides.env and --env, and nothing from the host', async () => {
    const result = await runProcess(
      ['run', wasm, runFixture('provides-second'), '-e', 'EXTRA=x=y', '--', 'env'],
      {
        env: {SECRET_HOST_VAR: 'leak'},
      },
    )
    expect(result.exitCode).toBe(0)
    // Runtime 0.2.21's base environment, sorted by name as it hands it over.
    expect(result.stdout.split('\n').filter(Boolean)).toEqual([
      'CHARSET=UTF-8',
      'DEMO_SHARED=from-provides-second',
      'EXTRA=x=y',
      'HOME=/home/agentos',
      'HOSTNAME=agentos',
      'LANG=C.UTF-8',
      'LC_COLLATE=C',
      'LOGNAME=agentos',
      'MANPATH=/opt/agentos/share/man:/usr/local/share/man:/usr/share/man',
      'PAGER=less',
      'PATH=/opt/agentos/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'PS1=\\h:\\w\\$ ',
      'PWD=/workspace',
      'SECOND_ONLY=yes',
      'SHELL=/bin/sh',
      'TMPDIR=/tmp',
      'USER=agentos',
    ])
  })

  it('reports exit code, captured output, resolution and timings under --json, exiting 0', async () => {
    const result = await runProcess(['run', wasm, '--json', '--', 'exit', '3'])
    expect(result.exitCode).toBe(0)
    const doc = json(result.stdout)
    expect(doc).toMatchObject({ok: false, exitCode: 3, stdout: '', stderr: '', isolation: 'wasi'})
    expect(doc.resolution).toMatchObject({
      command: 'exit',
      vmPath: '/opt/agentos/bin/exit',
      target: '/opt/agentos/pkgs/wasm-cmds/current/bin/exit',
      kind: 'wasm',
      executor: 'wasi',
    })
    expect(Object.keys(doc.timings as object)).toEqual([
      'load',
      'resolve',
      'setup',
      'run',
      'cleanup',
      'total',
    ])
    const echo = json((await runProcess(['run', wasm, '--json', '--', 'echo', 'captured'])).stdout)
    expect(echo).toMatchObject({ok: true, exitCode: 0, stdout: 'captured\n'})
  })

  it('sees the VM root: packages read-only, its own root writable, the host package unchanged', async () => {
    const before = await digestOf(wasm)
    const result = await runProcess(['run', wasm, '--', 'scribble'])
    // Three files created in the writable root (fd 3); the package preopen refused all three.
    expect(result).toMatchObject({stdout: 'opened 3\n', exitCode: 0})
    expect(await digestOf(wasm)).toBe(before)
  })
})

describe('run: Node.js and sh commands', () => {
  it.for(ISOLATIONS)(
    'runs a packed Node.js CLI and prints what it prints natively (%s)',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      const cli = join(example('my-tool-package'), 'node_modules/my-tool/cli.js')
      const native = execFileSync(process.execPath, [cli, '1h', '5m'], {encoding: 'utf8'})
      const result = await runProcess([
        'run',
        example('my-tool-package'),
        '--isolation',
        isolation,
        '--',
        'my-tool',
        '1h',
        '5m',
      ])
      expect(result.stdout, isolation).toBe(native)
      expect(result.exitCode).toBe(0)
    },
  )

  it('runs a #!/bin/sh script in /workspace inside the namespace, warning that the runtime would not', async (context) => {
    requires(context, bwrap)
    const result = await runProcess(['run', runFixture('sh-tool'), '--', 'greet', 'a b', 'c'])
    expect(result.stdout).toBe('greet: hello a b c\ngreet: cwd=/workspace home=/home/agentos user=agentos\n')
    expect(result.stderr).toContain('WARN_AGENTOS_RUNTIME_SHELL_SCRIPT: greet is a "#!/bin/sh" script')
    expect(result.exitCode).toBe(0)
  })

  it('finds bubblewrap usable, and needs no Node.js for a sh guest, with no /usr/bin on PATH', async (context) => {
    requires(context, bwrap)
    // Inside the single binary there is then no Node.js at all: a sh guest needs none.
    const args = ['run', runFixture('sh-tool'), '--json', '--', 'greet', 'x']
    const result = await runProcess(args, {env: {PATH: '/nonexistent'}})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      isolation: 'bwrap',
      stdout: expect.stringContaining('hello x'),
    })
  })

  it.for(ISOLATIONS)(
    'lets a Node.js command spawn other packages’ commands by their /opt/agentos/bin paths (%s)',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      // A WASM command through its runner shim (inside the single binary, the binary is the runner).
      const wasmTarget = ['/opt/agentos/bin/echo']
      const result = await runProcess([
        'run',
        runFixture('spawner'),
        runFixture('sh-tool'),
        wasm,
        '--isolation',
        isolation,
        '--',
        'spawner',
        ...wasmTarget,
      ])
      expect(result.exitCode, `${isolation}: ${result.stderr}`).toBe(0)
      const lines = result.stdout.trimEnd().split('\n')
      // argv path to a WASM command (through its runner shim), env path to a sh command.
      expect(lines.shift()).toMatch(/^\[(\/.*)?\/opt\/agentos\/bin\/echo\] via spawner$/)
      expect(lines[0]).toMatch(/^\[(\/.*)?\/opt\/agentos\/bin\/greet\] greet: hello via spawner$/)
      if (isolation === 'path-mapped') expect(result.stderr).toContain('path-mapped mode')
      else expect(lines[0]).toBe('[/opt/agentos/bin/greet] greet: hello via spawner')
    },
  )

  it('says path-mapped on stderr and in --json', async () => {
    const result = await runProcess([
      'run',
      runFixture('sh-tool'),
      '--isolation',
      'path-mapped',
      '--json',
      '--',
      'greet',
    ])
    expect(result.exitCode).toBe(0)
    const doc = json(result.stdout)
    expect(doc).toMatchObject({isolation: 'path-mapped', exitCode: 0})
    expect(doc.stdout).toContain('greet: hello')
    expect(result.stderr).toContain('no mount namespace')
  })

  it('stops a command at --timeout with exit 124, leaving no process behind', async () => {
    const marker = `run-timeout-test-${process.pid}`
    const result = await runProcess([
      'run',
      runFixture('sh-tool'),
      '--timeout',
      '300',
      '--kill-after',
      '200',
      '--',
      'node',
      '-e',
      `setInterval(() => {}, 1000) // ${marker}`,
    ])
    expect(result.exitCode).toBe(124)
    expect(result.stderr).toContain('ran past --timeout 300 ms')
    expect(await processesMatching(marker)).toEqual([])
  })
})

describe('run: signals', () => {
  it('passes SIGTERM to the guest and exits with its status', async () => {
    const {file, prefix} = cliCommand()
    const child = spawn(
      file,
      [
        ...prefix,
        'run',
        runFixture('sh-tool'),
        '--',
        'node',
        '-e',
        'process.on("SIGTERM", () => { console.log("guest got SIGTERM"); process.exit(143) }); console.log("ready"); setInterval(() => {}, 1000)',
      ],
      {stdio: ['ignore', 'pipe', 'pipe']},
    )
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      if (chunk.includes('ready')) child.kill('SIGTERM')
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(stdout).toBe('ready\nguest got SIGTERM\n')
    expect(code).toBe(143)
  })
})

describe('run: provides', () => {
  it('merges env in package order (existing keys win, --env wins, scrubbed) and overlays files', async (context) => {
    requires(context, bwrap)
    const result = await runProcess([
      'run',
      runFixture('provides'),
      runFixture('provides-second'),
      '-e',
      'DEMO_USER=from-user',
      '-e',
      'NODE_OPTIONS=--require=/x.js',
      '--',
      'show',
    ])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toBe(
      [
        'DEMO_HOME=/opt/agentos/provides-demo',
        'DEMO_SHARED=from-provides-demo',
        'DEMO_USER=from-user',
        'HOME=/home/agentos',
        'PATH=/opt/agentos/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'LD_PRELOAD=<unset>',
        'NODE_OPTIONS=<unset>',
        'BASH_ENV=<unset>',
        'MY_PRELOAD=<unset>',
        'DYLD_LIBRARY_PATH=<unset>',
        'setting = from-package',
        'data file',
        '',
      ].join('\n'),
    )
    expect(result.stderr).toContain(
      'WARN_AGENTOS_RUNTIME_ENV_SCRUBBED: LD_PRELOAD (from provides:provides-demo) is removed',
    )
    expect(result.stderr).toContain('NODE_OPTIONS (from user) is removed')
  })

  it.for(ISOLATIONS)(
    'copies up: a guest that writes everywhere it can changes 0 bytes of any package (%s)',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      const provides = join(work, 'provides')
      await cp(runFixture('provides'), provides, {recursive: true})
      const before = [await digestOf(provides), await digestOf(runFixture('scribbler'))]
      const result = await runProcess([
        'run',
        provides,
        runFixture('scribbler'),
        '--isolation',
        isolation,
        '--',
        'scribbler',
        '/opt/agentos',
        '/etc/provides-demo.conf',
        '/usr/share/provides-demo',
        '/home/agentos',
      ])
      if (isolation === 'path-mapped') {
        // /etc and /usr/share targets: a guest could write them by literal paths, which path
        // mapping cannot rewrite, so path-mapped mode refuses the run (issue 18).
        expect(result.exitCode, result.stderr).toBe(125)
        expect(result.stderr).toContain('ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED')
      } else {
        expect(result.exitCode, result.stderr).toBe(0)
        // The guest did change things: its copies in the per-run upper layer.
        expect(result.stdout).toMatch(/provides-demo\.conf: [1-9]\d* changes/)
      }
      expect([await digestOf(provides), await digestOf(runFixture('scribbler'))]).toEqual(before)
    },
  )

  it('refuses a provides source that is missing', async () => {
    const broken = join(work, 'provides-broken')
    await cp(runFixture('provides'), broken, {recursive: true})
    await rm(join(broken, 'etc'), {recursive: true})
    const result = await runProcess(['run', broken, '--', 'show'])
    expect(result.exitCode).toBe(125)
    expect(result.stderr).toContain('ERR_AGENTOS_RUN_PROVIDES_SOURCE_MISSING')
    expect(result.stderr).toContain('source etc/provides-demo.conf target /etc/provides-demo.conf')
  })
})

describe('run: resolution and errors', () => {
  it('refuses two packages linking the same command, naming both', async () => {
    const result = await runProcess(['run', runFixture('collide-a'), runFixture('collide-b'), '--', 'same'])
    expect(result.exitCode).toBe(125)
    expect(result.stderr).toMatch(
      /ERR_AGENTOS_RUN_COMMAND_COLLISION: command "same" is provided by both collide-a .* and collide-b/,
    )
    const doc = json(
      (await runProcess(['run', runFixture('collide-a'), runFixture('collide-b'), '--json'])).stdout,
    )
    expect(doc).toMatchObject({
      ok: false,
      error: {code: 'ERR_AGENTOS_RUN_COMMAND_COLLISION', details: {command: 'same'}},
    })
  })

  it('--which prints the PATH walk, package, entry, header and interpreter without running', async () => {
    const node = await runProcess(['run', example('my-tool-package'), wasm, '--which', 'my-tool'])
    expect(node.exitCode).toBe(0)
    expect(node.stdout).toContain(
      'my-tool → /opt/agentos/bin/my-tool → /opt/agentos/pkgs/my-tool/current/node_modules/my-tool/cli.js',
    )
    // /opt/agentos/bin is first on the runtime's PATH: the walk ends there.
    expect(node.stdout).toMatch(/\/opt\/agentos\/bin\/my-tool\s+found/)
    expect(node.stdout).not.toContain('/usr/local/bin/my-tool')
    expect(node.stdout).toMatch(/package:\s+my-tool@1\.0\.0/)
    expect(node.stdout).toMatch(/entry:\s+node_modules\/my-tool\/cli\.js/)
    expect(node.stdout).toMatch(/interpreter:\s+\/usr\/bin\/env node → Node\.js /)
    expect(node.stdout).toMatch(/executor:\s+node/)

    const direct = json(
      (await runProcess(['run', wasm, '--which', '/opt/agentos/pkgs/wasm-cmds/1.0.0/bin/cat', '--json']))
        .stdout,
    )
    expect(direct).toMatchObject({
      lookup: 'direct',
      kind: 'wasm',
      executor: 'wasi',
      search: [{result: 'found'}],
    })

    const sh = json((await runProcess(['run', runFixture('sh-tool'), '--which', 'greet', '--json'])).stdout)
    expect(sh).toMatchObject({executor: 'interpreter', interpreter: {path: '/bin/sh', via: 'host'}})

    const missing = await runProcess(['run', wasm, '--which', 'nope'])
    expect(missing.exitCode).toBe(127)
    expect(missing.stdout).toContain('ERR_AGENTOS_RUN_COMMAND_NOT_FOUND')
  })

  it('refuses native binaries and unknown commands with coded errors and no stack trace', async () => {
    const native = await nativePackage(work)
    const result = await runProcess(['run', native, '--', 'native-tool'])
    expect(result.exitCode).toBe(126)
    expect(result.stderr).toContain('native binaries cannot run in agentOS')
    expect(hasStackTrace(result.stderr)).toBe(false)
    const missing = await runProcess(['run', native, '--', 'nope'])
    expect(missing.exitCode).toBe(127)
    for (const args of [
      ['run', join(work, 'no-such-dir'), '--', 'x'],
      ['run', native, '--json', '--', 'native-tool'],
      ['run', runFixture('agents/die'), '--json', '--', 'nope'],
      ['run', wasm, '--env', 'not-a-pair', '--json', '--', 'echo'],
    ]) {
      const failed = await runProcess(args)
      expect(hasStackTrace(failed.stderr), failed.stderr).toBe(false)
      if (args.includes('--json')) expect(json(failed.stdout).ok).toBe(false)
    }
  })

  it('loads meta-package software modules (.mjs and .ts)', async () => {
    const mjs = await runProcess(['run', runFixture('meta.mjs'), '--', 'my-tool', '2s'])
    expect(mjs).toMatchObject({stdout: 'my-tool: 2000\n', exitCode: 0})
    const ts = json((await runProcess(['run', runFixture('meta.ts'), '--json'])).stdout)
    expect((ts.packages as Array<{name: string}>).map((p) => p.name)).toEqual(['sh-tool', 'my-tool'])
    const spawner = await runProcess(['run', runFixture('meta.mjs'), '--', 'spawner'])
    expect(spawner.stdout).toContain('greet: hello via spawner')
  })

  it('describes the VM when no command is given', async () => {
    const result = await runProcess(['run', runFixture('provides'), wasm])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('/opt/agentos/bin/echo')
    expect(result.stdout).toContain('/etc/provides-demo.conf')
    expect(result.stdout).toContain('DEMO_HOME=/opt/agentos/provides-demo')
  })

  it('says in its help that it is an emulation, not a security sandbox', async () => {
    const help = await runProcess(['run', '--help'])
    expect(help.stdout).toMatch(/NOT\s+a\s+security\s+sandbox/)
    expect(help.stdout).toMatch(/127\s+command\s+not\s+found/)
  })
})
