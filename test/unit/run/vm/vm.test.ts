import {cp, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {splitRunArgv} from '../../../../src/cli/run-argv.js'
import {loadInputs} from '../../../../src/run/vm/inputs.js'
import {commandHeader, loadRunPackage, type RunPackage} from '../../../../src/run/vm/mount.js'
import {isNodeInterpreter} from '../../../../src/run/emulation/classify.js'
import {nodeOptionsFromShebang, resolveCommand} from '../../../../src/run/emulation/resolve.js'
import {buildVm, isScrubbedEnvName, parseEnvPairs} from '../../../../src/run/vm/vm.js'
import {resolutionWarnings} from '../../../../src/run/emulation/run.js'
import {REPO_ROOT} from '../../../helpers/fixtures.js'
import {example, runFixture} from '../../../helpers/run-fixtures.js'

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-unit-'))
})
afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

/** A package model without touching the disk. */
function pkg(name: string, extra: Partial<RunPackage> = {}): RunPackage {
  return {
    name,
    version: '1.0.0',
    dir: `/host/${name}`,
    commands: [],
    provides: {env: {}, files: []},
    ...extra,
  }
}

describe('the VM model', () => {
  it('merges env: base, provides in package order (existing keys win), agent.env, then --env; scrubbed', () => {
    const a = pkg('a', {
      provides: {env: {SHARED: 'a', ONLY_A: '1', HOME: '/elsewhere', LD_PRELOAD: 'x.so'}, files: []},
    })
    const b = pkg('b', {provides: {env: {SHARED: 'b', ONLY_B: '2'}, files: []}})
    const agent = pkg('agent', {
      agent: {acpEntrypoint: 'x', env: {SHARED: 'agent', AGENT_ONLY: 'yes'}, launchArgs: []},
    })
    const vm = buildVm([a, b, agent], {userEnv: {ONLY_B: 'user', NODE_OPTIONS: '--inspect'}, agent})
    // Runtime 0.2.21's base environment (test/conformance: wasm-env-base), PWD the cwd (an
    // agent's: /home/agentos), sorted by name as the runtime hands it over.
    expect(Object.entries(vm.env)).toEqual(
      Object.entries({
        AGENT_ONLY: 'yes',
        CHARSET: 'UTF-8',
        HOME: '/home/agentos',
        HOSTNAME: 'agentos',
        LANG: 'C.UTF-8',
        LC_COLLATE: 'C',
        LOGNAME: 'agentos',
        MANPATH: '/opt/agentos/share/man:/usr/local/share/man:/usr/share/man',
        ONLY_A: '1',
        ONLY_B: 'user',
        PAGER: 'less',
        PATH: '/opt/agentos/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        PS1: '\\h:\\w\\$ ',
        PWD: '/home/agentos',
        SHARED: 'agent',
        SHELL: '/bin/sh',
        TMPDIR: '/tmp',
        USER: 'agentos',
      }),
    )
    expect(buildVm([a, b]).cwd, 'a command starts in /workspace').toBe('/workspace')
    expect(vm.envSources).toMatchObject({
      HOME: 'base',
      ONLY_A: 'provides:a',
      ONLY_B: 'user',
      SHARED: 'agent:agent',
    })
    expect(vm.scrubbed).toEqual([
      {name: 'LD_PRELOAD', source: 'provides:a'},
      {name: 'NODE_OPTIONS', source: 'user'},
    ])
    // The runtime passes them through: each removal is a divergence, and says so.
    expect(vm.warnings.map((w) => w.code)).toEqual([
      'WARN_AGENTOS_RUNTIME_ENV_SCRUBBED',
      'WARN_AGENTOS_RUNTIME_ENV_SCRUBBED',
    ])
    expect(buildVm([a, b]).env.SHARED).toBe('a')
  })

  it('scrubs LD_*, DYLD_*, NODE_OPTIONS, BASH_ENV and *PRELOAD, nothing else', () => {
    for (const name of [
      'LD_LIBRARY_PATH',
      'DYLD_INSERT_LIBRARIES',
      'NODE_OPTIONS',
      'BASH_ENV',
      'LD_PRELOAD',
      'X_PRELOAD',
    ]) {
      expect(isScrubbedEnvName(name), name).toBe(true)
    }
    for (const name of ['PATH', 'NODE_PATH', 'OLD_X', 'PRELOADED'])
      expect(isScrubbedEnvName(name), name).toBe(false)
  })

  it('refuses a command linked by two packages, naming both', () => {
    const command = (dir: string) => ({name: 'tool', entry: 'bin/tool', hostPath: `${dir}/bin/tool`})
    const a = pkg('a', {commands: [command('/host/a')]})
    const b = pkg('b', {commands: [command('/host/b')]})
    expect(() => buildVm([a, b])).toThrow(
      /command "tool" is provided by both a \(\/host\/a\) and b \(\/host\/b\)/,
    )
    expect(() => buildVm([a, pkg('a')])).toThrow(/two packages are named "a"/)
  })

  it('says when a command is named like a builtin of the runtime shell (sh runs the builtin there)', () => {
    const command = (name: string) => ({name, entry: 'cli.js', hostPath: '/host/a/cli.js'})
    const vm = buildVm([pkg('a', {commands: [command('help'), command('my-tool'), command('source')]})])
    expect(vm.warnings).toEqual([
      {
        code: 'WARN_AGENTOS_RUNTIME_SHELL_BUILTIN',
        message: expect.stringContaining(
          'commands "help", "source" are also builtins of the runtime\'s shell',
        ),
      },
    ])
    expect(buildVm([pkg('a', {commands: [command('my-tool')]})]).warnings).toEqual([])
  })

  // Paths the VM manages are refused when the package is loaded, by the manifest rules
  // (run-manifest.test.ts); only packages together can claim the same path.
  it('refuses two packages overlaying the same target', () => {
    const file = (target: string) => ({provides: {env: {}, files: [{source: 'x', target}]}})
    expect(() => buildVm([pkg('a', file('/etc/x')), pkg('b', file('/etc/x'))])).toThrow(
      /provided by both a and b/,
    )
  })

  it('parses --env pairs and refuses malformed ones', () => {
    expect(parseEnvPairs(['A=1', 'B=', 'C=x=y'])).toEqual({A: '1', B: '', C: 'x=y'})
    expect(() => parseEnvPairs(['NOPE'])).toThrow(/NAME=VALUE/)
    expect(() => parseEnvPairs(['1A=x'])).toThrow(/NAME=VALUE/)
  })
})

describe('argv', () => {
  it('splits at the first -- and gives a bare --agent an empty value', () => {
    expect(splitRunArgv(['./p', '--', 'cmd', '--flag', '--'])).toEqual({
      own: ['./p'],
      command: 'cmd',
      args: ['--flag', '--'],
    })
    expect(splitRunArgv(['./p', '--agent']).own).toEqual(['./p', '--agent='])
    expect(splitRunArgv(['--agent', './p']).own).toEqual(['--agent=', './p'])
    expect(splitRunArgv(['--agent', '--prompt', 'x']).own).toEqual(['--agent=', '--prompt', 'x'])
    expect(splitRunArgv(['./p', '--agent', 'claude']).own).toEqual(['./p', '--agent', 'claude'])
  })
})

describe('package projection', () => {
  it('reads name, commands with headers, agent and provides', async () => {
    const agent = await loadRunPackage(example('my-agent-package'))
    expect(agent.name).toBe('my-agent')
    const kinds = await Promise.all(
      agent.commands.map(async (c) => [c.name, (await commandHeader(agent, c)).kind]),
    )
    expect(kinds).toEqual([
      ['my-agent', 'shebang'],
      ['my-agent-acp', 'shebang'],
    ])
    expect(agent.agent).toEqual({
      acpEntrypoint: 'my-agent-acp',
      env: {MY_AGENT_CLI: '/opt/agentos/bin/my-agent'},
      launchArgs: ['--acp'],
    })
    expect(agent.provides.files).toEqual([
      {source: 'node_modules/@example/my-agent/etc/my-agent.conf', target: '/etc/my-agent.conf'},
    ])
  })

  it('explains a broken manifest with the shared checks and points at validate', async () => {
    const dir = join(work, 'broken')
    await cp(runFixture('sh-tool'), dir, {recursive: true})
    await writeFile(join(dir, 'agentos-package.json'), '{"name": "sh-tool", "provides": {"env": {"A": 1}}}')
    const error = await loadRunPackage(dir).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'ERR_AGENTOS_PROVIDES_ENV_VALUE', exitCode: 125})
    expect((error as Error).message).toContain('provides.env')
    expect((error as {hint: string}).hint).toContain('agentos-toolchain validate')
    await writeFile(join(dir, 'agentos-package.json'), '{"name": ')
    expect(await loadRunPackage(dir).catch((e: unknown) => e)).toMatchObject({
      code: 'ERR_AGENTOS_JSON_SYNTAX',
      exitCode: 125,
    })
  })

  it('loads directories and software modules in order, mounting a directory once', async () => {
    const packages = await loadInputs([runFixture('meta.mjs'), runFixture('sh-tool'), runFixture('meta.ts')])
    expect(packages.map((p) => p.name)).toEqual(['my-tool', 'sh-tool', 'spawner'])
    const bad = join(work, 'bad.mjs')
    await writeFile(bad, 'export default 42\n')
    expect(await loadInputs([bad]).catch((e: unknown) => e)).toMatchObject({
      code: 'ERR_AGENTOS_RUN_SOFTWARE_INVALID',
    })
    const relative = join(work, 'relative.mjs')
    await writeFile(relative, 'export default {packageDir: "relative/dir"}\n')
    expect(await loadInputs([relative]).catch((e: unknown) => e)).toMatchObject({
      code: 'ERR_AGENTOS_SOFTWARE_DIR_RELATIVE',
      exitCode: 125,
    })
  })
})

describe('command resolution', () => {
  it('walks PATH, follows the link, and picks the executor from the header', async () => {
    const vm = buildVm(await loadInputs([example('my-tool-package'), runFixture('sh-tool')]))
    const tool = await resolveCommand(vm, 'my-tool')
    expect(tool).toMatchObject({
      lookup: 'path',
      vmPath: '/opt/agentos/bin/my-tool',
      target: '/opt/agentos/pkgs/my-tool/current/node_modules/my-tool/cli.js',
      resolved: '/opt/agentos/pkgs/my-tool/1.0.0/node_modules/my-tool/cli.js',
      package: {name: 'my-tool', version: '1.0.0'},
      entry: 'node_modules/my-tool/cli.js',
      kind: 'shebang',
      interpreter: {path: '/usr/bin/env', argument: 'node', via: 'node'},
      executor: 'node',
    })
    // /opt/agentos/bin is first on the runtime's PATH.
    expect(tool.search.map((s) => s.result)).toEqual(['found'])
    expect(await resolveCommand(vm, 'greet')).toMatchObject({
      executor: 'interpreter',
      interpreter: {path: '/bin/sh'},
    })
    expect(await resolveCommand(vm, 'node')).toMatchObject({vmPath: '/bin/node', executor: 'system'})
    const direct = await resolveCommand(vm, '/opt/agentos/pkgs/sh-tool/current/bin/greet')
    expect(direct).toMatchObject({lookup: 'direct', executor: 'interpreter', search: [{result: 'found'}]})
    expect((await resolveCommand(vm, 'missing')).error).toMatchObject({
      code: 'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND',
      exitCode: 127,
    })
  })

  it('a command linked to an entry the package lacks: ERR_AGENTOS_RUN_ENTRY_MISSING and the runtime divergence', async () => {
    const vm = buildVm(await loadInputs([join(REPO_ROOT, 'fixtures/validate/cmd-entry-missing/package')]))
    for (const command of ['my-tool', '/opt/agentos/bin/my-tool']) {
      const resolution = await resolveCommand(vm, command)
      expect(resolution.error).toMatchObject({
        code: 'ERR_AGENTOS_RUN_ENTRY_MISSING',
        exitCode: 127,
        message: expect.stringContaining('its entry node_modules/my-tool/main.js is not a file in my-tool'),
      })
      // Runtime 0.2.21 runs the VM's /bin/my-tool stub instead (exit 0, no output).
      expect(resolutionWarnings(resolution).map((w) => w.code)).toEqual([
        'WARN_AGENTOS_RUNTIME_ENTRY_MISSING',
      ])
    }
    expect(resolutionWarnings(await resolveCommand(vm, 'nope')).map((w) => w.code)).toEqual([
      'WARN_AGENTOS_RUNTIME_NOT_FOUND_EXIT',
    ])
  })

  it('honours a changed PATH and skips files without an exec bit', async () => {
    const dir = join(work, 'noexec')
    await cp(runFixture('sh-tool'), dir, {recursive: true})
    const {chmod} = await import('node:fs/promises')
    await chmod(join(dir, 'bin/greet'), 0o644)
    const vm = buildVm(await loadInputs([dir]))
    const result = await resolveCommand(vm, 'greet')
    expect(result.search.find((s) => s.vmPath === '/opt/agentos/bin/greet')?.result).toBe('not-executable')
    expect(result.error?.code).toBe('ERR_AGENTOS_RUN_NOT_EXECUTABLE')
    const noPath = buildVm(await loadInputs([runFixture('sh-tool')]), {userEnv: {PATH: '/usr/bin'}})
    expect((await resolveCommand(noPath, 'greet')).error?.exitCode).toBe(127)
  })

  it('reports a command entry that became a FIFO or socket after the mount as a special file', async () => {
    // The mount refuses special files (loadRunPackage); the lookup holds even when one appears later.
    const {spawnSync} = await import('node:child_process')
    for (const kind of ['FIFO', 'socket']) {
      const dir = join(work, `special-${kind}`)
      await cp(runFixture('sh-tool'), dir, {recursive: true})
      const vm = buildVm(await loadInputs([dir]))
      const entry = join(dir, 'bin/greet')
      await rm(entry)
      const make =
        kind === 'FIFO'
          ? spawnSync('mkfifo', [entry])
          : spawnSync(process.execPath, [
              '-e',
              "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))",
              entry,
            ])
      expect(make.error).toBeUndefined()
      const result = await resolveCommand(vm, 'greet')
      expect(result.search[0]).toEqual({vmPath: '/opt/agentos/bin/greet', result: 'found'})
      expect(result.error).toMatchObject({code: 'ERR_AGENTOS_SPECIAL_FILE', exitCode: 125})
      expect(result.error?.message).toContain(`is a ${kind} (a special file)`)
      expect(result.error?.message).toContain(entry)
    }
  })

  it('recognises Node.js interpreters on #! lines as the runtime does', () => {
    expect(isNodeInterpreter('/usr/bin/env', 'node')).toBe(true)
    expect(isNodeInterpreter('/usr/bin/env', '-S node --no-warnings')).toBe(true)
    expect(isNodeInterpreter('/usr/local/bin/node')).toBe(true)
    // One argument, never split: env would look for a program called "node --flag".
    expect(isNodeInterpreter('/usr/bin/env', 'node --flag')).toBe(false)
    expect(isNodeInterpreter('/bin/sh')).toBe(false)
    expect(nodeOptionsFromShebang('/usr/bin/env', '-S node --no-warnings --x')).toEqual([
      '--no-warnings',
      '--x',
    ])
    expect(nodeOptionsFromShebang('/usr/bin/node', '--max-old-space-size=100')).toEqual([
      '--max-old-space-size=100',
    ])
  })
})
