/**
 * `run` on hostile packages stays bounded: a guest flooding stdout under --json gets a capped
 * capture with a note of the bytes dropped (once `Invalid string length`), and a FIFO as a command
 * entry is never opened blocking (once a hang in open()). Runs against dist/: `npm run build`.
 */
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {hasStackTrace, runProcess} from '../helpers/cli.js'
import {snapshotTree} from '../helpers/tree.js'
import {mknod} from '../bad-inputs/build.js'

let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-bounded-'))
})
afterAll(() => rm(work, {recursive: true, force: true}))

async function shellPackage(name: string, script: string): Promise<string> {
  const dir = join(work, name)
  await mkdir(join(dir, 'bin'), {recursive: true})
  await writeFile(join(dir, 'bin/cmd'), `#!/bin/sh\n${script}\n`)
  await chmod(join(dir, 'bin/cmd'), 0o755)
  await writeFile(join(dir, 'package.json'), JSON.stringify({name, version: '1.0.0', bin: {cmd: 'bin/cmd'}}))
  await writeFile(join(dir, 'agentos-package.json'), JSON.stringify({name, version: '1.0.0'}))
  return dir
}

describe('run stays bounded', () => {
  it(
    '--json of a guest writing 100 MB to stdout: capture capped, the drop noted, exit 0',
    {timeout: 120_000},
    async () => {
      const pkg = await shellPackage('flood', 'head -c 100000000 /dev/zero | tr "\\\\0" a')
      const before = await snapshotTree(pkg)
      const ran = await runProcess(['run', pkg, '--json', '--', 'cmd'])
      expect(ran.exitCode, ran.stderr.slice(0, 2000)).toBe(0)
      expect(hasStackTrace(ran.stderr)).toBe(false)
      const doc = JSON.parse(ran.stdout) as {stdout: string; exitCode: number}
      expect(doc.stdout.length).toBeLessThan(17 << 20)
      expect(doc.stdout).toMatch(/\[agentos: \d+ bytes of stdout dropped/)
      expect(await snapshotTree(pkg)).toEqual(before)
    },
  )

  for (const entry of ['bin/cmd', 'lib/cli.js']) {
    it(
      `a FIFO as the command entry (${entry}) never blocks: a coded refusal`,
      {timeout: 60_000},
      async (context) => {
        const pkg = await shellPackage(`fifo-${entry.replace(/\W/g, '-')}`, 'true')
        await rm(join(pkg, 'bin/cmd'))
        await mkdir(join(pkg, 'lib'), {recursive: true})
        const error = mknod(join(pkg, entry), 'p')
        if (error) return context.skip(error)
        await writeFile(
          join(pkg, 'package.json'),
          JSON.stringify({name: 'fifo', version: '1.0.0', bin: {cmd: entry}}),
        )
        const before = await snapshotTree(pkg)
        const ran = await Promise.race([
          runProcess(['run', pkg, '--json', '--', 'cmd']),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000)),
        ])
        expect(ran, 'run hung on the FIFO').toBeDefined()
        expect(ran!.exitCode, ran!.stdout).toBe(125)
        expect(hasStackTrace(ran!.stderr)).toBe(false)
        const doc = JSON.parse(ran!.stdout) as {error?: {code?: string; message?: string}}
        // validate's code for it, naming the file: it is there, just not a regular file.
        expect(doc.error?.code).toBe('ERR_AGENTOS_SPECIAL_FILE')
        expect(doc.error?.message).toContain(`${entry} is a FIFO`)
        expect(await snapshotTree(pkg)).toEqual(before)
      },
    )
  }
})
