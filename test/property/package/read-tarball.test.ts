import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, posix} from 'node:path'
import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'
import {analyzePackage} from '../../../src/package/analyze.js'
import {normalizePackagePath} from '../../../src/format/paths.js'
import {memberPath, type PackageSnapshot} from '../../../src/package/snapshot.js'
import {readPackage} from '../../../src/package/read.js'
import {configureFastCheck} from '../../helpers/seed.js'
import {craftTar, type TarMember, type TarType, validPackageMembers} from '../../helpers/tar-craft.js'

// Every run writes and reads a real archive, so fewer runs than the in-memory properties.
const RUNS = 300
configureFastCheck(RUNS, 'test/property/tar-reader.test.ts')

const work = mkdtempSync(join(tmpdir(), 'agentos-tar-property-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))
let counter = 0

// Member names made of traversal pieces, ≤ 100 bytes so each fits the ustar name field.
const piece = fc.constantFrom('..', '.', '', 'package', 'a', 'bin', 'node_modules', '...', 'a\\..')
const memberName = fc
  .tuple(
    fc.constantFrom('', '/', './', '../', 'package/', 'package/../', '//'),
    fc.array(piece, {minLength: 1, maxLength: 6}),
  )
  .map(([head, parts]) => `${head}${parts.join('/')}`)
  .filter((name) => Buffer.byteLength(name) <= 100 && name !== '')
// Only links carry a link name: node-tar refuses any other member that has one (the whole archive
// then reads as corrupt, which is safe but would leave the traversal paths untested).
const member: fc.Arbitrary<TarMember> = fc
  .record({
    name: memberName,
    type: fc.constantFrom<TarType>('0', '0', '1', '2', '3', '4', '5', '6'),
    linkname: fc.oneof(memberName, fc.constantFrom('/etc/passwd', '../../../../etc', '/')),
    body: fc.constantFrom('x', '#!/bin/sh\n', ''),
  })
  .map((m) => (m.type === '1' || m.type === '2' ? m : {...m, linkname: undefined}))

/** Resolves like a naive extractor would (the attack the reader must not fall for). */
function escapesRoot(name: string): boolean {
  const resolved = posix.normalize(posix.join('/root', name.replace(/^(\.\/)+/, '')))
  return name.startsWith('/') || !(resolved === '/root' || resolved.startsWith('/root/'))
}

/** Reads an archive; refusing it whole (ERR_AGENTOS_TAR_CORRUPT) is a safe answer too. */
async function readOrRefuse(file: string): Promise<PackageSnapshot | undefined> {
  return readPackage(file).catch((error: {code?: string}) => {
    if (error.code !== 'ERR_AGENTOS_TAR_CORRUPT') throw error
    return undefined
  })
}

const outcomes = {total: 0, read: 0}

describe('the tar reader on hostile archives', () => {
  it('never yields an entry outside the package root, and reports every traversal it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(member, {minLength: 1, maxLength: 5}),
        fc.boolean(),
        async (hostile, gzip) => {
          const members = [...validPackageMembers(), ...hostile]
          const file = join(work, `a${counter++}.tgz`)
          writeFileSync(file, craftTar(members, {gzip}))
          outcomes.total++
          // node-tar reads a file member named "x/" as an old-style directory, so the body that
          // follows fails the next header's checksum: such an archive is refused whole.
          const snapshot = await readOrRefuse(file)
          if (!snapshot) return
          outcomes.read++

          for (const entry of snapshot.entries) {
            expect(normalizePackagePath(entry.path)).toEqual({path: entry.path})
          }
          const reported = new Set(
            snapshot.problems.filter((p) => p.code === 'ERR_AGENTOS_TAR_PATH_ESCAPES').map((p) => p.path),
          )
          for (const m of hostile) {
            if (escapesRoot(m.name)) expect(reported.has(m.name), m.name).toBe(true)
            if (reported.has(m.name)) expect(memberPath(m.name)).toBeNull()
          }
          // A link or device member is never taken for a regular file the runtime would run (the
          // first member at a path is the one kept).
          const firstType = new Map<string, TarType>()
          for (const m of members) {
            const path = memberPath(m.name)
            if (!path?.startsWith('package/')) continue
            const rooted = path.slice('package/'.length)
            if (!firstType.has(rooted)) firstType.set(rooted, m.type ?? '0')
          }
          for (const entry of snapshot.entries) {
            const type = firstType.get(entry.path)
            if (type !== undefined && type !== '0') expect(entry.kind, entry.path).not.toBe('file')
          }
          // And the package check flags what the archive holds instead of trusting it.
          const codes = new Set(analyzePackage(snapshot).problems.map((p) => p.code))
          if (reported.size > 0) expect(codes.has('ERR_AGENTOS_TAR_PATH_ESCAPES')).toBe(true)
        },
      ),
    )
    // Most archives must actually be read, or the checks above would prove little.
    expect(outcomes.read / outcomes.total).toBeGreaterThan(0.8)
  })
})
