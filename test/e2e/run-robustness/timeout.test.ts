import {randomInt} from 'node:crypto'
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProcess} from '../../helpers/cli.js'
import {ISOLATIONS, requiresIsolation} from '../../helpers/requirements.js'
import {processesMatching} from '../../helpers/run-fixtures.js'

// `run --timeout` must end the run even when the guest leaves a child behind that ignores SIGTERM
// and holds the guest's stdout: path-mapped there is no pid namespace to take it along.
let work: string
let pkg: string
/** A sleep length no other process on the machine uses: the marker to find leftovers by. */
const marker = `3${randomInt(10_000, 99_999)}.25`

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-run-timeout-'))
  pkg = join(work, 'stubborn')
  await mkdir(join(pkg, 'bin'), {recursive: true})
  await writeFile(
    join(pkg, 'package.json'),
    JSON.stringify({name: 'stubborn', version: '1.0.0', bin: {stubborn: 'bin/stubborn'}}),
  )
  await writeFile(join(pkg, 'agentos-package.json'), JSON.stringify({name: 'stubborn', version: '1.0.0'}))
  await writeFile(
    join(pkg, 'bin/stubborn'),
    `#!/bin/sh\ntrap '' TERM\n(trap '' TERM; exec sleep ${marker}) &\necho started\nsleep ${marker}\n`,
  )
  await chmod(join(pkg, 'bin/stubborn'), 0o755)
})
afterAll(async () => {
  for (const pid of await processesMatching(marker)) process.kill(pid, 'SIGKILL')
  await rm(work, {recursive: true, force: true})
})

describe('run --timeout with a guest whose child ignores SIGTERM', () => {
  it.for(ISOLATIONS)(
    '%s: ends after the grace period and leaves no process behind',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      const start = performance.now()
      const result = await runProcess([
        'run',
        pkg,
        '--isolation',
        isolation,
        '--timeout',
        '1000',
        '--kill-after',
        '500',
        '--json',
        '--',
        'stubborn',
      ])
      const seconds = (performance.now() - start) / 1000
      const report = JSON.parse(result.stdout) as {timedOut: boolean; stdout: string}
      expect(report, result.stderr).toMatchObject({timedOut: true, stdout: 'started\n'})
      // 1 s timeout + 0.5 s grace + the 2 s wait for streams held outside the tree, plus slack for a
      // loaded machine; before, the run never ended.
      expect(seconds).toBeLessThan(20)
      expect(await processesMatching(marker)).toEqual([])
    },
  )
})

describe('run: durations a Node.js timer cannot take', () => {
  // Past 2^31-1 ms a timer fires after 1 ms: `--timeout 3000000000` stopped the guest at once.
  it.for(['--timeout', '--kill-after', '--prompt-timeout'])(
    '%s 2147483648 is a usage error, not a stop after 1 ms',
    async (flag) => {
      const result = await runProcess(['run', pkg, '--json', flag, '2147483648', '--', 'stubborn'])
      expect(result.exitCode, result.stdout + result.stderr).toBe(2)
      const doc = JSON.parse(result.stdout) as {error?: {code?: string}}
      expect(doc.error?.code).toBe('ERR_AGENTOS_USAGE')
      expect(result.stderr).not.toContain('TimeoutOverflowWarning')
    },
  )
})
