import {chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ROOT, runProcess, startCli} from '../helpers/cli.js'
import {processTree, stillRunning} from '../helpers/processes.js'
import {agentosRuntime, requires} from '../helpers/requirements.js'
import {example, sdkAgentPackage} from '../helpers/run-fixtures.js'
import {watFileToWasm} from '../helpers/wasm.js'

// `run --engine agentos` against the real runtime (AGENTOS_TOOLCHAIN_RUNTIME=<dir>, a project
// install or `runtime install`); skipped without one. Each run boots a VM: seconds, not ms.
// The real VM also mounts its default software (@agentos-software/common: sh, coreutils…), so
// the emulation's wasm-cmds fixture (echo, cat, env…) is refused there as a command collision; the
// WASM quickstart package (tool-a, tool-b) is used instead, with coreutils for the rest.
let work: string
let wasm: string
const engine = ['run', '--engine', 'agentos']

/** The WASM quickstart package: fixtures/examples/my-cmds with its commands compiled from WAT. */
async function myCmdsPackage(dir: string): Promise<string> {
  const source = example('my-cmds')
  await mkdir(join(dir, 'bin'), {recursive: true})
  await cp(join(source, 'package.json'), join(dir, 'package.json'))
  await cp(join(source, 'agentos-package.json'), join(dir, 'agentos-package.json'))
  for (const file of await readdir(join(source, 'wat'))) {
    const out = join(dir, 'bin', basename(file, '.wat'))
    await writeFile(out, await watFileToWasm(join(source, 'wat', file)))
    await chmod(out, 0o755)
  }
  return dir
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-runtime-test-'))
  wasm = await myCmdsPackage(join(work, 'my-cmds'))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('run --engine agentos (the real runtime)', {timeout: 120_000}, () => {
  it('runs the WASM quickstart: stdout, stderr and the exit code pass through', async (context) => {
    requires(context, agentosRuntime)
    const a = await runProcess([...engine, wasm, '--', 'tool-a'])
    expect(a).toMatchObject({stdout: 'tool-a: hello\n', exitCode: 0})
    // The runtime's own log lines stay off the terminal without --verbose.
    expect(a.stderr).not.toMatch(/level=info|agentos-v8-runtime:/)
    const b = await runProcess([...engine, wasm, '--', 'tool-b'])
    expect(b).toMatchObject({stdout: '', stderr: 'tool-b: bye\n', exitCode: 3})
  })

  it('passes argv and stdin, and the exit code of a failing command', async (context) => {
    requires(context, agentosRuntime)
    const cat = await runProcess([...engine, wasm, '--', 'cat'], {input: 'line one\nline two\n'})
    expect(cat).toMatchObject({stdout: 'line one\nline two\n', exitCode: 0})
    const exit = await runProcess([...engine, wasm, '--', 'sh', '-c', 'echo "$1"; exit 42', 'sh', 'an arg'])
    expect(exit).toMatchObject({stdout: 'an arg\n', exitCode: 42})
  })

  it("leaves neither the driver nor the runtime's sidecar running after a SIGKILL of the CLI", async (context) => {
    requires(context, agentosRuntime)
    const pkg = join(work, 'waiter')
    await mkdir(join(pkg, 'bin'), {recursive: true})
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({name: 'waiter', version: '1.0.0', bin: {waiter: 'bin/waiter.js'}}),
    )
    await writeFile(join(pkg, 'agentos-package.json'), JSON.stringify({name: 'waiter', version: '1.0.0'}))
    await writeFile(
      join(pkg, 'bin/waiter.js'),
      '#!/usr/bin/env node\nconsole.log("up")\nsetTimeout(() => {}, 600_000)\n',
    )
    await chmod(join(pkg, 'bin/waiter.js'), 0o755)
    // A temp dir of its own: the runtime's leftovers (an import cache, sockets) must not stay.
    const tmp = join(work, 'waiter-tmp')
    await mkdir(tmp)
    const env = {TMPDIR: tmp}
    const cli = startCli([...engine, pkg, '--', 'waiter'], {env})
    const up = new Promise<void>((resolve) =>
      cli.child.stdout!.on('data', (chunk: Buffer) => chunk.includes('up') && resolve()),
    )
    await up
    const tree = await processTree(cli.child.pid!)
    // The driver and the sidecar at least.
    expect(tree.size).toBeGreaterThanOrEqual(2)
    cli.child.kill('SIGKILL')
    await cli.ended
    // The driver sees its channel close, has the VM kill the command and disposes the VM: seconds.
    for (let waited = 0; waited < 30_000 && stillRunning(tree).length > 0; waited += 200) await sleep(200)
    const left = stillRunning(tree)
    for (const pid of left) process.kill(pid, 'SIGKILL')
    expect(left).toEqual([])
    // The killed run's temp dir is the next run's to remove; that run leaves nothing itself.
    const next = await runProcess([...engine, example('my-tool-package'), '--', 'my-tool', '1h'], {env})
    expect(next).toMatchObject({stdout: 'my-tool: 3600000\n', exitCode: 0})
    expect(await readdir(tmp)).toEqual([])
  })

  it('runs the packed Node.js CLI as it runs natively', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess([...engine, example('my-tool-package'), '--', 'my-tool', '1h'])
    expect(result).toMatchObject({stdout: 'my-tool: 3600000\n', exitCode: 0})
  })

  it('--json: one document with engine, runtimeVersion, output and timings', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess([...engine, wasm, '--json', '--', 'tool-b'])
    expect(result.exitCode).toBe(0)
    const doc = JSON.parse(result.stdout) as Record<string, unknown>
    expect(doc).toMatchObject({
      ok: false,
      engine: 'agentos',
      runtimeVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      exitCode: 3,
      stdout: '',
      stderr: 'tool-b: bye\n',
      timedOut: false,
      argv: ['tool-b'],
    })
    expect(Object.keys(doc.timings as object)).toEqual([
      'resolve',
      'start',
      'import',
      'create',
      'run',
      'dispose',
      'total',
    ])
  })

  it('--verbose shows the runtime log; a missing command exits 127; --timeout exits 124', async (context) => {
    requires(context, agentosRuntime)
    const verbose = await runProcess([...engine, '--verbose', wasm, '--', 'tool-a'])
    expect(verbose.exitCode).toBe(0)
    expect(verbose.stderr).toMatch(/level=info|agentos-v8-runtime:/)
    const missing = await runProcess([...engine, wasm, '--', 'no-such-command'])
    expect(missing.exitCode).toBe(127)
    expect(missing.stderr).toContain('ERR_AGENTOS_RUN_COMMAND_NOT_FOUND')
    const slow = await runProcess([...engine, '--timeout', '300', wasm, '--', 'sh', '-c', 'sleep 10'])
    expect(slow.exitCode).toBe(124)
  })

  it('--which asks the VM: the link in /opt/agentos/bin and the header behind it', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess([...engine, example('my-tool-package'), '--which', 'my-tool', '--json'])
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      engine: 'agentos',
      found: true,
      vmPath: '/opt/agentos/bin/my-tool',
      package: 'my-tool',
      kind: 'shebang',
    })
  })

  it('--which says when the VM runs something else than the package command', async (context) => {
    requires(context, agentosRuntime)
    // Runtime 0.2.21: "help" is its shell's builtin; a missing entry falls to the /bin stub.
    const builtin = await runProcess([
      ...engine,
      join(ROOT, 'fixtures/validate/runtime-shell-builtin/package'),
      '--which',
      'help',
      '--json',
    ])
    expect(JSON.parse(builtin.stdout)).toMatchObject({
      found: true,
      vmPath: 'help',
      builtin: true,
      shadowed: true,
    })
    const text = await runProcess([
      ...engine,
      join(ROOT, 'fixtures/validate/runtime-shell-builtin/package'),
      '--which',
      'help',
    ])
    expect(text.stdout).toContain("help → a builtin of the VM's shell")
    const missing = await runProcess([
      ...engine,
      join(ROOT, 'fixtures/validate/cmd-entry-missing/package'),
      '--which',
      'my-tool',
      '--json',
    ])
    expect(JSON.parse(missing.stdout)).toMatchObject({found: true, vmPath: '/bin/my-tool', shadowed: true})
    expect(JSON.parse(missing.stdout).builtin).toBeUndefined()
  })

  it('--agent opens a session through the session API and streams the prompt', async (context) => {
    requires(context, agentosRuntime)
    const result = await runProcess([...engine, example('my-agent-package'), '--agent', '--prompt', 'hello'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('you said: hello')
    expect(result.stdout).toContain('agentInfo:     my-agent 0.3.0')
    const json = await runProcess([...engine, example('my-agent-package'), '--agent', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({
      engine: 'agentos',
      outcome: 'ok',
      agent: {name: 'my-agent'},
      agentInfo: {name: 'my-agent', version: '0.3.0'},
      agentCapabilities: {protocolVersion: 1},
      sessionId: expect.any(String),
    })
  })

  it('the SDK agent opens a session, and its prompt reads the VM through the client fs callback', async (context) => {
    requires(context, agentosRuntime)
    const sdk = await sdkAgentPackage(work)
    const result = await runProcess([...engine, sdk, '--agent', '--prompt', 'hi', '--json'])
    const doc = JSON.parse(result.stdout) as {outcome: string; agentInfo: unknown; prompt?: {reply?: string}}
    expect(doc.agentInfo).toMatchObject({name: 'sdk-agent', version: '2.0.0'})
    // The agent reads its own package.json at /opt/agentos/pkgs/sdk-agent/current/ (where the
    // runtime mounts packages) and names itself from it.
    expect(doc.outcome, result.stdout).toBe('ok')
    expect(doc.prompt?.reply).toContain('echo from sdk-agent: hi')
  })
})
