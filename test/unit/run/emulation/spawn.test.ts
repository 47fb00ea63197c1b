import {describe, expect, it} from 'vitest'
import {exitCodeOf, runGuest, startGuest} from '../../../../src/run/emulation/process/spawn.js'

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
