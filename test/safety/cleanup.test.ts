/**
 * Clean up after every exit: a SIGKILLed CLI leaves no running guest (path-mapped, where no pid
 * namespace takes the guest along; a WASM command the guest runs through the WASI runner
 * included), the next run sweeps per-run roots and software modules' temp dirs whose owner is
 * dead (and keeps live ones and those it did not make), the temp files of cache writes (aospkg
 * stamps, pack's V8 code cache) are swept when their owner is dead, and the aospkg cache is not
 * writable by others whatever the umask. Real processes against dist/ (`npm run build` first).
 */
import {randomInt} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import module from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeAospkg} from '../../src/output/write-aospkg.js'
import {processStart} from '../../src/util/owner.js'
import {cliCommand, runProcess, startCli, startProcess} from '../helpers/cli.js'
import {deadPid, inPool, processTree} from '../helpers/processes.js'
import {processesMatching, wasmCmdsPackage} from '../helpers/run-fixtures.js'

let work: string
let tmp: string
let sleeper: string
let wasm: string
/** A sleep length no other process uses: the marker to find the guest by. */
const marker = `4${randomInt(10_000, 99_999)}.75`

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-cleanup-'))
  // The CLI's own temp dir, so its sweep sees only this test's roots.
  tmp = join(work, 'tmp')
  await mkdir(tmp)
  wasm = await wasmCmdsPackage(work)
  sleeper = join(work, 'sleeper')
  await mkdir(join(sleeper, 'bin'), {recursive: true})
  await writeFile(
    join(sleeper, 'package.json'),
    JSON.stringify({name: 'sleeper', version: '1.0.0', bin: {sleeper: 'bin/sleeper'}}),
  )
  await writeFile(join(sleeper, 'agentos-package.json'), JSON.stringify({name: 'sleeper', version: '1.0.0'}))
  // `cat` is wasm-cmds' WASM command: a runner process reading the pipe from sleep.
  await writeFile(join(sleeper, 'bin/sleeper'), `#!/bin/sh\necho started\nsleep ${marker} | cat\n`)
  await chmod(join(sleeper, 'bin/sleeper'), 0o755)
})
afterAll(async () => {
  for (const pid of await processesMatching(marker)) process.kill(pid, 'SIGKILL')
  await rm(work, {recursive: true, force: true})
})

/** A package at work/<name> whose one command, <name>, is the shell script `script`. */
async function shellCommandPackage(name: string, script: string): Promise<string> {
  const pkg = join(work, name)
  await mkdir(join(pkg, 'bin'), {recursive: true})
  await writeFile(
    join(pkg, 'package.json'),
    JSON.stringify({name, version: '1.0.0', bin: {[name]: `bin/${name}`}}),
  )
  await writeFile(join(pkg, 'agentos-package.json'), JSON.stringify({name, version: '1.0.0'}))
  await writeFile(join(pkg, 'bin', name), script, {mode: 0o755})
  return pkg
}

/** The processes whose command line holds `mark` still there after up to 20 s (then killed). */
async function leftAfterWait(mark: string): Promise<number[]> {
  for (let waited = 0; waited < 20_000 && (await processesMatching(mark)).length > 0; waited += 100)
    await sleep(100)
  const left = await processesMatching(mark)
  for (const p of left) process.kill(p, 'SIGKILL')
  return left
}

const cmdline = (pid: number) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('a SIGKILLed CLI', () => {
  it(
    'leaves no path-mapped guest running, nor the WASM command it runs; the next run sweeps its root',
    {timeout: 60_000},
    async () => {
      const env = {TMPDIR: tmp}
      const cli = startCli(['run', sleeper, wasm, '--isolation', 'path-mapped', '--', 'sleeper'], {env})
      const pid = cli.child.pid!
      // Until the guest's sleep and the WASM runner's cat are both up.
      let procs = new Map<number, string | undefined>()
      for (let waited = 0; waited < 30_000; waited += 100) {
        procs = await processTree(pid)
        const lines = await Promise.all([...procs.keys()].map(cmdline))
        if (lines.some((l) => l.includes(marker)) && lines.some((l) => l.includes('/bin/cat'))) break
        await sleep(100)
      }
      const lines = await Promise.all([...procs.keys()].map(cmdline))
      expect(
        lines.some((l) => l.includes(marker)),
        lines.join('\n'),
      ).toBe(true)
      expect(
        lines.some((l) => l.includes('/bin/cat')),
        lines.join('\n'),
      ).toBe(true)
      const [root] = await readdir(tmp)
      // The exit, not the end of its output: a surviving guest would hold the CLI's stdout open.
      const exited = new Promise((resolve) => cli.child.once('exit', (_code, signal) => resolve(signal)))
      cli.child.kill('SIGKILL')
      expect(await exited).toBe('SIGKILL')
      const alive = async () =>
        [...procs].filter(([p, started]) => started !== undefined && processStart(p) === started)
      for (let waited = 0; waited < 20_000 && (await alive()).length > 0; waited += 100) await sleep(100)
      const survivors = await alive()
      for (const [p] of survivors) process.kill(p, 'SIGKILL')
      expect(survivors).toEqual([])
      // Its root is left behind, with the dead CLI as owner: the next run removes it.
      expect(root).toMatch(/^agentos-run-/)
      await runProcess(['run', wasm, '--', 'echo', 'hi'], {env})
      expect(await readdir(tmp)).not.toContain(root)
    },
  )
})

describe('a guest that SIGKILLs its CLI first thing', () => {
  // The guest runs from its exec on, and the CLI only wakes from its spawn after that: on a loaded
  // machine 12 of 20 such guests outlived their CLI unregistered, before guests waited behind the
  // watchdog's gate. Five at once, so that the old race shows on a quiet machine too.
  it('does not outlive it', {timeout: 60_000}, async () => {
    const mark = `6${randomInt(10_000, 99_999)}.5`
    const pkg = await shellCommandPackage('parricide', `#!/bin/sh\nkill -9 $PPID\nexec sleep ${mark}\n`)
    try {
      // The exits, not the ends of output: a surviving guest holds its CLI's stdout open.
      const signals = await Promise.all(
        Array.from({length: 5}, () => {
          const cli = startCli(['run', pkg, '--isolation', 'path-mapped', '--', 'parricide'], {
            env: {TMPDIR: tmp},
          })
          return new Promise((resolve) => cli.child.once('exit', (_code, signal) => resolve(signal)))
        }),
      )
      expect(signals).toEqual(Array(5).fill('SIGKILL'))
      expect(await leftAfterWait(mark)).toEqual([])
    } finally {
      for (const p of await processesMatching(mark)) process.kill(p, 'SIGKILL')
    }
  })
})

describe('a CLI SIGKILLed at any instant of a path-mapped start', () => {
  // Thirty kills spread from the CLI's spawn to 3 times a start's length: before the watchdog,
  // while it starts, with the guest behind its gate, once the guest runs. None may leave it.
  it('leaves no guest running, whenever the kill lands', {timeout: 120_000}, async () => {
    const mark = `7${randomInt(10_000, 99_999)}.5`
    const pkg = await shellCommandPackage('instant', `#!/bin/sh\nsleep ${mark} &\nexec sleep ${mark}\n`)
    try {
      // How long a start takes on this machine now, so that the kills span it.
      const first = startCli(['run', pkg, '--isolation', 'path-mapped', '--', 'instant'], {
        env: {TMPDIR: tmp},
      })
      const t0 = performance.now()
      while ((await processesMatching(mark)).length === 0 && performance.now() - t0 < 30_000) await sleep(10)
      const start = performance.now() - t0
      first.child.kill('SIGKILL')
      // Three times that: five starts at once are slower than the one measured.
      const delays = Array.from({length: 30}, (_, index) => Math.round((index * start * 3) / 29))
      const kill = async (ms: number) => {
        const cli = startCli(['run', pkg, '--isolation', 'path-mapped', '--', 'instant'], {
          env: {TMPDIR: tmp},
        })
        const exited = new Promise((resolve) => cli.child.once('exit', resolve))
        await sleep(ms)
        const guestUp = (await processesMatching(mark)).length > 0
        cli.child.kill('SIGKILL')
        await exited
        return guestUp
      }
      const up = await inPool(
        delays.map((ms) => () => kill(ms)),
        5,
      )
      // Both sides of the guest's start were hit (else the test could not fail).
      const seen = `guest up at each kill (ms: ${delays.join(' ')}): ${up.join(' ')}`
      expect(up, seen).toContain(true)
      expect(up, seen).toContain(false)
      expect(await leftAfterWait(mark)).toEqual([])
    } finally {
      for (const p of await processesMatching(mark)) process.kill(p, 'SIGKILL')
    }
  })
})

describe('a SIGKILLed CLI sharing its terminal with the guest', () => {
  // A guest on the CLI's terminal stays in the CLI's process group (job control needs it), so no
  // group kill can take it: the watchdog kills the tree. The guest also starts a child in a new
  // session, which leaves every process group but not the tree.
  it(
    'leaves none of the guest tree running: its children, a setsid child, the WASM runner',
    {timeout: 60_000},
    async () => {
      const mark = `5${randomInt(10_000, 99_999)}.25`
      const pkg = await shellCommandPackage(
        'tty-sleeper',
        `#!/bin/sh\nsetsid sleep ${mark} &\nsleep ${mark} | cat\n`,
      )
      const {file, prefix} = cliCommand()
      const cli = [file, ...prefix, 'run', pkg, wasm, '--isolation', 'path-mapped', '--', 'tty-sleeper']
      // script(1) gives the CLI a terminal; the shell stays its session leader (as a login shell
      // would), so the CLI's death hangs nothing up and only the watchdog can end the guest.
      const terminal = startProcess('script', ['-qfec', `sh -c '${cli.join(' ')}; sleep 120'`, '/dev/null'], {
        env: {...process.env, TMPDIR: tmp},
      })
      try {
        let cliPid: number | undefined
        for (let waited = 0; waited < 30_000; waited += 100) {
          const procs = await processTree(terminal.child.pid!)
          const lines = new Map(
            await Promise.all([...procs.keys()].map(async (p) => [p, await cmdline(p)] as const)),
          )
          cliPid = [...lines].find(([, l]) => l.includes('\0run\0'))?.[0]
          const sleeps = [...lines.values()].filter((l) => l.includes(mark)).length
          // The setsid child left the tree already: count it through /proc.
          if (
            cliPid &&
            sleeps >= 1 &&
            (await processesMatching(mark)).length >= 2 &&
            [...lines.values()].some((l) => l.includes('/bin/cat'))
          )
            break
          await sleep(100)
        }
        expect(cliPid).toBeDefined()
        const guests = await processesMatching(mark)
        expect(guests.length).toBeGreaterThanOrEqual(2)
        process.kill(cliPid!, 'SIGKILL')
        expect(await leftAfterWait(mark)).toEqual([])
      } finally {
        terminal.child.kill('SIGKILL')
        for (const p of await processesMatching(mark)) process.kill(p, 'SIGKILL')
      }
    },
  )
})

describe('a CLI SIGKILLed while it loads a software module', () => {
  it('leaves a temp dir that the next run sweeps', async () => {
    const dir = join(work, 'software-kill')
    await mkdir(dir)
    const env = {TMPDIR: dir}
    // Unresolvable from here, so run writes its stand-in defineSoftware to a temp dir; the module
    // then blocks, holding the CLI there until it is killed.
    const software = join(work, 'blocking-software.mjs')
    await writeFile(
      software,
      [
        "import {defineSoftware} from '@rivet-dev/agentos'",
        'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000)',
        `export default defineSoftware({packagePath: ${JSON.stringify(wasm)}})`,
        '',
      ].join('\n'),
    )
    const cli = startCli(['run', software, '--', 'echo', 'hi'], {env})
    let left: string[] = []
    for (let waited = 0; waited < 30_000 && left.length === 0; waited += 100) {
      await sleep(100)
      left = (await readdir(dir)).filter((name) => name.startsWith('agentos-software-'))
    }
    cli.child.kill('SIGKILL')
    expect((await cli.ended).signal).toBe('SIGKILL')
    expect(left).toHaveLength(1)
    expect(await readdir(dir)).toContain(left[0])
    const result = await runProcess(['run', wasm, '--', 'echo', 'hi'], {env})
    expect(result).toMatchObject({exitCode: 0, stdout: 'hi\n'})
    // jiti keeps its own transform cache there too: only ours is looked at.
    expect((await readdir(dir)).filter((name) => name.startsWith('agentos-'))).toEqual([])
  }, 60_000)
})

describe("software modules' temp dirs", () => {
  it('are swept when the owner in their name is dead; live ones and untagged ones are kept', async () => {
    const dir = join(work, 'software-sweep')
    await mkdir(dir)
    const make = async (name: string) => {
      await mkdir(join(dir, name))
      await writeFile(join(dir, name, 'define-software.mjs'), 'export const defineSoftware = (e) => e\n')
    }
    await make(`agentos-software-${await deadPid()}.0-dead01`)
    await make(`agentos-software-${process.pid}.1-reuse1`)
    await make(`agentos-software-${process.pid}.${processStart(process.pid)}-live01`)
    // An older version's name carries no owner: not provably dead.
    await make('agentos-software-untag1')
    const result = await runProcess(['run', wasm, '--', 'echo', 'hi'], {env: {TMPDIR: dir}})
    expect(result).toMatchObject({exitCode: 0, stdout: 'hi\n'})
    expect((await readdir(dir)).sort()).toEqual([
      `agentos-software-${process.pid}.${processStart(process.pid)}-live01`,
      'agentos-software-untag1',
    ])
  })
})

describe('stale VM roots', () => {
  it('are swept when their owner is dead; live ones and ones without a record are kept', async () => {
    const dir = join(work, 'sweep')
    await mkdir(dir)
    const make = async (name: string, owner?: object) => {
      await mkdir(join(dir, name, 'root/opt/agentos/pkgs'), {recursive: true})
      // A copies root's /opt/agentos has no write bits.
      await chmod(join(dir, name, 'root/opt/agentos'), 0o555)
      if (owner) await writeFile(join(dir, name, 'agentos-owner.json'), JSON.stringify(owner))
    }
    await make('agentos-run-dead01', {pid: await deadPid(), started: '1'})
    await make('agentos-run-reuse1', {pid: process.pid, started: '1'})
    await make('agentos-run-live01', {pid: process.pid, started: processStart(process.pid)})
    await make('agentos-run-norec1')
    await make('agentos-run-other-dead', {pid: await deadPid()})
    const result = await runProcess(['run', wasm, '--', 'echo', 'hi'], {env: {TMPDIR: dir}})
    expect(result).toMatchObject({exitCode: 0, stdout: 'hi\n'})
    expect((await readdir(dir)).sort()).toEqual([
      'agentos-run-live01',
      'agentos-run-norec1',
      'agentos-run-other-dead',
    ])
  })
})

describe('the aospkg cache', () => {
  it('is not writable by others under umask 000', async () => {
    const archive = join(work, 'wasm-cmds.aospkg')
    await writeAospkg(wasm, archive)
    const cache = join(work, 'cache')
    const {file, prefix} = cliCommand()
    const result = await startProcess(
      '/bin/sh',
      ['-c', 'umask 000; exec "$@"', 'sh', file, ...prefix, 'run', archive, '--', 'echo', 'hi'],
      {env: {...process.env, AGENTOS_TOOLCHAIN_CACHE: cache}},
    ).ended
    expect(result).toMatchObject({exitCode: 0, stdout: 'hi\n'})
    const wrong: string[] = []
    const walk = async (path: string): Promise<void> => {
      const info = await stat(path)
      const mode = info.mode & 0o7777
      if (info.isDirectory()) {
        if (mode !== 0o755 && mode !== 0o700) wrong.push(`${path} ${mode.toString(8)}`)
        for (const name of await readdir(path)) await walk(join(path, name))
      } else if (mode !== 0o644 && mode !== 0o755) wrong.push(`${path} ${mode.toString(8)}`)
    }
    await walk(join(cache, 'aospkg'))
    await walk(join(cache, 'aospkg-stamps'))
    expect(wrong).toEqual([])
  })
})

describe('temp files of cache writes', () => {
  it('are swept from the aospkg stamps when their owner is dead', async () => {
    const archive = join(work, 'stamped.aospkg')
    await writeAospkg(wasm, archive)
    const cache = join(work, 'stamp-cache')
    const stamps = join(cache, 'aospkg-stamps')
    await mkdir(stamps, {recursive: true})
    const sha = 'ab'.repeat(32)
    const dead = await deadPid()
    const live = `${sha}.${process.pid}.${processStart(process.pid)}.0000beef.tmp`
    const names = [`${sha}.${dead}.0000dead.tmp`, `${sha}.${dead}.12345.0000dead.tmp`, live]
    for (const name of names) await writeFile(join(stamps, name), sha)
    const result = await runProcess(['run', archive, '--', 'echo', 'hi'], {
      env: {AGENTOS_TOOLCHAIN_CACHE: cache},
    })
    expect(result).toMatchObject({exitCode: 0, stdout: 'hi\n'})
    const left = await readdir(stamps)
    expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([live])
    // The run's own stamp was written (and its temp file renamed).
    expect(left.filter((name) => /^[0-9a-f]{64}$/.test(name))).toHaveLength(1)
  })

  it.skipIf('enableCompileCache' in module)(
    "are swept from pack's code cache (Node.js 20) when their owner is dead",
    async () => {
      const dir = join(work, 'code-cache')
      const cacheDir = join(dir, `agentos-toolchain-compile-cache-${process.getuid!()}`)
      await mkdir(cacheDir, {recursive: true, mode: 0o700})
      const dead = await deadPid()
      const live = `1234abcd-99.v8.${process.pid}.${processStart(process.pid)}.tmp`
      for (const name of [`1234abcd-99.v8.${dead}.tmp`, `1234abcd-99.v8.${dead}.777.tmp`, live])
        await writeFile(join(cacheDir, name), 'partial')
      const project = join(work, 'code-cache-project')
      await mkdir(join(project, 'bin'), {recursive: true})
      await writeFile(
        join(project, 'package.json'),
        JSON.stringify({name: 'code-cache-project', version: '1.0.0', bin: {hello: 'bin/hello.js'}}),
      )
      await writeFile(join(project, 'bin/hello.js'), '#!/usr/bin/env node\nconsole.log("hello")\n')
      const result = await runProcess(['pack', project, '--out', join(work, 'code-cache-out'), '--json'], {
        env: {TMPDIR: dir},
      })
      expect(result.exitCode, result.stderr).toBe(0)
      const left = await readdir(cacheDir)
      expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([live])
      expect(left.filter((name) => name.endsWith('.v8'))).toHaveLength(1)
    },
  )
})

describe('temp files of a killed pack', () => {
  it('the next pack removes the archive and tarball temp files a dead run left; a live run keeps its own', async () => {
    const lane = join(work, 'temps')
    await mkdir(join(lane, 'proj'), {recursive: true})
    await writeFile(
      join(lane, 'proj/package.json'),
      JSON.stringify({name: 'proj', version: '1.0.0', bin: {proj: 'cli.js'}}),
    )
    await writeFile(join(lane, 'proj/cli.js'), '#!/usr/bin/env node\n', {mode: 0o755})
    const dead = await deadPid()
    const stale = [`.out.aospkg.agentos-tmp-${dead}-0badf00d`, `.out.tgz.agentos-tmp-${dead}-0badf00d`]
    const live = `.out.tgz.agentos-tmp-${process.pid}-0badf00d`
    for (const name of [...stale, live]) await writeFile(join(lane, name), '')
    const result = await runProcess(
      [
        'pack',
        join(lane, 'proj'),
        '--out',
        join(lane, 'out'),
        '--format',
        'both',
        '--tar',
        join(lane, 'out.tgz'),
      ],
      {env: {...process.env, TMPDIR: tmp}},
    )
    expect(result.exitCode, result.stderr).toBe(0)
    const left = (await readdir(lane)).filter((name) => name.includes('agentos-tmp'))
    expect(left).toEqual([live])
  })
})

describe('outputs under umask 000', () => {
  it('pack and assemble-wasm write nothing others can change (directories, marker, tarball, archive)', async () => {
    const lane = join(work, 'umask')
    await mkdir(join(lane, 'proj'), {recursive: true})
    await writeFile(
      join(lane, 'proj/package.json'),
      JSON.stringify({name: 'proj', version: '1.0.0', bin: {proj: 'cli.js'}}),
    )
    await writeFile(join(lane, 'proj/cli.js'), '#!/usr/bin/env node\n', {mode: 0o755})
    const module = join(wasm, 'bin/cat')
    const {file, prefix} = cliCommand()
    const umask000 = (args: string[]) =>
      startProcess('/bin/sh', ['-c', 'umask 000; exec "$@"', 'sh', file, ...prefix, ...args], {
        env: {...process.env, TMPDIR: tmp},
      }).ended
    const out = join(lane, 'out')
    expect(
      await umask000([
        'pack',
        join(lane, 'proj'),
        '--out',
        join(out, 'pkg'),
        '--format',
        'both',
        '--tar',
        join(out, 'pkg.tgz'),
      ]),
    ).toMatchObject({exitCode: 0})
    expect(
      await umask000([
        'assemble-wasm',
        module,
        '--command',
        `cat=${module}`,
        '--name',
        'w',
        '--version',
        '1.0.0',
        '--project',
        lane,
        '--out',
        join(out, 'wasm'),
        '--format',
        'both',
      ]),
    ).toMatchObject({exitCode: 0})
    const writable: string[] = []
    for (const entry of await readdir(out, {recursive: true, withFileTypes: true})) {
      const path = join(entry.parentPath, entry.name)
      if ((await stat(path)).mode & 0o022) writable.push(path)
    }
    expect(writable).toEqual([])
  })
})
