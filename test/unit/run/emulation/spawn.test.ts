import {describe, expect, it} from 'vitest'
import {spawn} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  descendantsOf,
  exitCodeOf,
  killAll,
  runGuest,
  startGuest,
} from '../../../../src/run/emulation/process/spawn.js'
import {processStart} from '../../../../src/util/owner.js'

// The one spawn helper of `run`, on real child processes.
const node = (code: string) => ({
  file: process.execPath,
  args: ['-e', code],
  env: {PATH: process.env.PATH ?? ''},
})

describe('the guest spawn helper', () => {
  it('captures output and passes the exit code through', async () => {
    const run = await runGuest({
      ...node('console.log("out"); console.error("err"); process.exit(9)'),
      stdio: 'capture',
    })
    expect(run).toMatchObject({exitCode: 9, stdout: 'out\n', stderr: 'err\n', timedOut: false})
  })

  it('stops a guest at its timeout with SIGTERM, then SIGKILL after the grace', async () => {
    const polite = await runGuest({...node('setInterval(() => {}, 1000)'), stdio: 'capture', timeoutMs: 200})
    expect(polite).toMatchObject({exitCode: 124, timedOut: true, exit: {signal: 'SIGTERM'}})
    const stubborn = await runGuest({
      ...node('process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)'),
      stdio: 'capture',
      // Long enough for Node to start and install its SIGTERM handler on a loaded machine;
      // otherwise SIGTERM alone ends it and the SIGKILL path is never taken.
      timeoutMs: 3000,
      killAfterMs: 200,
    })
    expect(stubborn).toMatchObject({exitCode: 124, exit: {signal: 'SIGKILL'}})
  })

  it('stops a guest when its abort signal fires', async () => {
    const controller = new AbortController()
    const guest = await startGuest({
      ...node('setInterval(() => {}, 1000)'),
      stdio: 'pipe',
      signal: controller.signal,
    })
    controller.abort()
    expect(exitCodeOf(await guest.exited)).toBe(128 + 15)
  })

  it('keeps the tail of stderr and reports a program that cannot start as a coded error', async () => {
    const guest = await startGuest({
      ...node('process.stderr.write("x".repeat(10000) + "END")'),
      stdio: 'pipe',
      tailBytes: 10,
    })
    await guest.exited
    expect(guest.stderrTail()).toBe('xxxxxxxEND')
    await expect(
      startGuest({file: '/no/such/program', args: [], env: {}, stdio: 'pipe'}),
    ).rejects.toMatchObject({
      code: 'ERR_AGENTOS_RUN_SPAWN_FAILED',
      exitCode: 126,
    })
  })
})

describe('killing what a guest started', () => {
  it('kills a process seen earlier only while its pid still names it (same start time)', async () => {
    const child = spawn('sleep', ['30'], {stdio: 'ignore'})
    await new Promise((resolve) => child.once('spawn', resolve))
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
    const pid = child.pid!
    // The same pid with another start time: the process seen has exited and the pid was reused.
    killAll(new Map([[pid, 'another-start']]))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(processStart(pid)).toBeDefined()
    killAll(new Map([[pid, processStart(pid)]]))
    expect(await exited).toBe('SIGKILL')
  })

  it('lists every process below a pid with its start time', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30 & wait'], {stdio: 'ignore'})
    let tree = new Map<number, string | undefined>()
    for (let waited = 0; waited < 10_000 && tree.size < 2; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      tree = await descendantsOf(child.pid!)
    }
    expect(tree.size).toBe(2)
    for (const [pid, started] of tree) expect(started).toBe(processStart(pid))
    killAll(tree)
    child.kill('SIGKILL')
  })
})

describe('a watched guest (path-mapped: no bwrap info fd), which starts behind the watchdog gate', () => {
  it('gets exactly its environment, names no shell would keep included', async () => {
    const env = {'a.b': '1', 'npm_config_x-y': 'two words', PWD: '/no/such/dir', EMPTY: '', é: 'ü\nnext'}
    const run = await runGuest({
      ...node('console.log(JSON.stringify(process.env))'),
      env,
      stdio: 'capture',
    })
    expect(JSON.parse(run.stdout!)).toEqual(env)
  })

  it('does not get the gate: its fd 3 is closed', async () => {
    const run = await runGuest({
      file: '/bin/sh',
      args: ['-c', 'if [ -e /proc/self/fd/3 ]; then echo open; else echo closed; fi'],
      env: {},
      stdio: 'capture',
    })
    expect(run.stdout).toBe('closed\n')
  })

  it('reports a directory or a file without the execute bit as a program that cannot start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentos-spawn-'))
    const plain = join(dir, 'plain')
    await writeFile(plain, '#!/bin/sh\n', {mode: 0o644})
    try {
      for (const file of [dir, plain])
        await expect(startGuest({file, args: [], env: {}, stdio: 'pipe'})).rejects.toMatchObject({
          code: 'ERR_AGENTOS_RUN_SPAWN_FAILED',
          exitCode: 126,
        })
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
