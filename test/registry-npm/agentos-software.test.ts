import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {inspectPackage} from '../../src/core/inspect.js'

// Opt-in (network): `npm run test:registry`. Fetches the pinned @agentos-software packages with
// `npm pack`, checks each tarball against its pinned integrity, and inspects it in place.
const ENABLED = process.env.AGENTOS_NPM_REGISTRY_TESTS === '1'

/** Integrity values pinned in the project's research notes (wasm-corpus.md §1). */
const PINNED: Array<{spec: string; integrity: string; commands: number}> = [
  {
    spec: '@agentos-software/coreutils@0.3.4',
    integrity:
      'sha512-tGd0gQjUjHnm+5KgOBwidwUtlkKnl9biQuD7X2sZl15VOhYqUJpnyLF33h/nF3r9WtOTclSiLj/dc2xCxmAXnw==',
    commands: 118,
  },
  {
    spec: '@agentos-software/grep@0.3.4',
    integrity:
      'sha512-Bta2Ljl+kCX/3Bjg06Q9N9LPRcf13S92lHRaYG+CeGVDXabIIgkHLUGIQlI1OKuIr7IRAktjgelUAuJnxGFvvw==',
    commands: 2,
  },
  {
    spec: '@agentos-software/sed@0.3.4',
    integrity:
      'sha512-J10nZnZmme2SvXK5WMK2unQlOVncMQVUCS20GZB579a2gNoayLJYHGvfJ9a4+42wOHgDKL1u74byWlydCkEyOQ==',
    commands: 1,
  },
  {
    spec: '@agentos-software/gawk@0.3.4',
    integrity:
      'sha512-NlU6nGxoqIUc1I2zdBHFwH04gE0tBygP2FcBO12VBptty7lbgq1CNLk909jIcSNFEwlm3VRPHeZNkbdVKZ2Ujg==',
    commands: 1,
  },
  {
    spec: '@agentos-software/findutils@0.3.4',
    integrity:
      'sha512-wjBWE3lkXe70fRj6da1+2MM/7KlPcBRhr2BycvgvAtglOT/0PtabFU9CrDuX3Vm/8acU/8tw35+WeitPOLi9mg==',
    commands: 2,
  },
  {
    spec: '@agentos-software/diffutils@0.3.4',
    integrity:
      'sha512-a5Do+ERMdHPwT0Vrp35fxSgrsJNK8wCsYX8dOAomH9N+xJyV2Hb7/LLyp7XxqGk9BEjMeA6UhbH5ZY/HAlx5sQ==',
    commands: 1,
  },
  {
    spec: '@agentos-software/tar@0.3.5',
    integrity:
      'sha512-hSf6PY4q1luIomFSDgVHxVDDIPdAVZxdgwrQFEYH4aIE6TXX9qatVmzR36uYLWpnFGAZTR6srREGoTnmOGV4Lg==',
    commands: 1,
  },
  {
    spec: '@agentos-software/gzip@0.3.4',
    integrity:
      'sha512-l7Y/Vwiwsqgna68yYwdNCnUBPGBg5zdmtjEFeG3hnDDFLe/02h17q0gUIqJmDBIAy1q9GoizqcFi7zXO2xygKg==',
    commands: 3,
  },
]

let dir: string

/** `npm pack <spec>` into the temp dir; returns the tarball path and npm's own integrity. */
function npmPack(spec: string): {file: string; integrity: string} {
  const result = spawnSync('npm', ['pack', spec, '--json', '--pack-destination', dir], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (result.status !== 0) throw new Error(`npm pack ${spec} failed: ${result.stderr}`)
  const [info] = JSON.parse(result.stdout) as Array<{filename: string; integrity: string}>
  return {file: join(dir, info!.filename), integrity: info!.integrity}
}

describe.skipIf(!ENABLED)('@agentos-software packages from the npm registry', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agentos-npm-registry-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it.each(PINNED)('$spec: pinned integrity, inspected in place', async ({spec, integrity, commands}) => {
    const packed = npmPack(spec)
    expect(packed.integrity).toBe(integrity)
    // Checked again on the bytes themselves, not only on what npm reports.
    const bytes = await readFile(packed.file)
    expect(`sha512-${createHash('sha512').update(bytes).digest('base64')}`).toBe(integrity)

    const report = await inspectPackage(packed.file)
    const [npmName, version] = [spec.slice(0, spec.lastIndexOf('@')), spec.slice(spec.lastIndexOf('@') + 1)]
    expect(report.source).toMatchObject({
      type: 'aospkg',
      member: 'package/dist/package.aospkg',
      formatVersion: 1,
    })
    expect(report).toMatchObject({npmName, version, validation: {ok: true}})
    expect(report.commands).toHaveLength(commands)
    expect(report.commands.every((c) => c.kind === 'wasm')).toBe(true)
    expect(report.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    if (spec.includes('/coreutils@')) {
      expect(report.name).toBe('coreutils')
      expect(report.commands.map((c) => c.name)).toEqual(
        expect.arrayContaining(['[', 'cat', 'echo', 'ls', 'sh']),
      )
    }
  })
})
