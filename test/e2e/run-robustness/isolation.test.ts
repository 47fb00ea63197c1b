/**
 * Run isolation (issue 7, section 5): guest writes to `/opt/agentos/**` fail like a read-only
 * mount, writes to `provides.files` targets copy up, and WASI guests trying `..`, absolute host
 * paths and symlinks out of the root reach nothing on the host; the package digest is unchanged
 * after each. Real processes of the built CLI (`npm run build` first).
 *
 * Every run gets TMPDIR inside this test's own temp dir, so the per-run VM root is
 * `<work>/tmp/agentos-run-*\/root`: a sentinel file two and three levels above the root is exactly
 * what an escape by `..` would find, and nothing the guests do can reach /tmp itself. The Node.js
 * and sh guests (fixtures/run/isolation/bin) refuse every path that is not a VM path (inside
 * bubblewrap) or a path of the per-run root (path-mapped, where they are plain host processes).
 */
import {existsSync} from 'node:fs'
import {chmod, cp, mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProcess} from '../../helpers/cli.js'
import {IS_ROOT, NOBODY, sharedTempDir, unprivilegedSkipReason} from '../../helpers/privileges.js'
import {ISOLATIONS, bwrap, requires, requiresIsolation, type Skippable} from '../../helpers/requirements.js'
import {digestOf, runFixture} from '../../helpers/run-fixtures.js'
import {watFileToWasm} from '../../helpers/wasm.js'

const PKG = 'isolation-probe'
const SENTINEL = 'host sentinel: must never be read or changed by a guest\n'
// WASI preview1 errno values.
const WASI = {ENOENT: 44, EPERM: 63, EROFS: 69, ENOTCAPABLE: 76}

let work: string
let pkg: string
/** The same package without its /etc provides target, which path-mapped mode refuses (issue 18). */
let pkgMapped: string
let tmp: string
let pkgDigest: string
let pkgMappedDigest: string
/** Sentinels two and three levels above every VM root, and their state before any run. */
let sentinels: string[]
let sentinelState: string[]

beforeAll(async () => {
  work = sharedTempDir('agentos-isolation-')
  pkg = join(work, 'pkg')
  tmp = join(work, 'tmp')
  await cp(runFixture('isolation'), pkg, {recursive: true})
  await rm(join(pkg, 'probe.wat'))
  await writeFile(join(pkg, 'bin/wasi-probe'), await watFileToWasm(runFixture('isolation/probe.wat')))
  await chmod(join(pkg, 'bin/wasi-probe'), 0o755)
  // A package link out of it is refused at mount since issue 18 (containment.test.ts).
  await mkdir(tmp, {mode: 0o777})
  await chmod(tmp, 0o777)
  sentinels = [join(work, 'sentinel'), join(tmp, 'sentinel')]
  for (const file of sentinels) await writeFile(file, SENTINEL, {mode: 0o666})
  sentinelState = await Promise.all(sentinels.map(stateOf))
  pkgMapped = join(work, 'pkg-mapped')
  await cp(pkg, pkgMapped, {recursive: true})
  await writeFile(join(pkgMapped, 'agentos-package.json'), JSON.stringify({name: PKG, version: '1.0.0'}))
  pkgDigest = await digestOf(pkg)
  pkgMappedDigest = await digestOf(pkgMapped)
})
afterAll(async () => {
  if (work) await rm(work, {recursive: true, force: true})
})

async function stateOf(file: string): Promise<string> {
  const info = await stat(file)
  return `${await readFile(file, 'utf8')}|${info.mode}|${info.mtimeMs}|${info.size}`
}

/** The package, the sentinels and the temp dir are as before, and no VM root is left behind. */
async function expectHostUntouched(output: string): Promise<void> {
  expect(await digestOf(pkg)).toBe(pkgDigest)
  expect(await digestOf(pkgMapped)).toBe(pkgMappedDigest)
  expect(await Promise.all(sentinels.map(stateOf))).toEqual(sentinelState)
  expect(output).not.toContain('host sentinel')
  expect((await readdir(tmp)).filter((name) => name.startsWith('agentos-run-'))).toEqual([])
}

async function run(args: string[], options: {uid?: number; pkg?: string} = {}) {
  const dir = options.pkg ?? (args.includes('path-mapped') ? pkgMapped : pkg)
  const result = await runProcess(['run', dir, ...args], {
    env: {TMPDIR: tmp, HOME: work},
    uid: options.uid,
  })
  return {...result, output: result.stdout + result.stderr}
}

/** node-writer's JSON lines, in argument order. */
function nodeResults(stdout: string): Array<{arg: string; ok?: boolean; code?: string; content?: string}> {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as {arg: string; ok?: boolean; code?: string; content?: string})
}

/** wasi-probe's lines as [errno, content?], in argument order. */
function probeResults(stdout: string): Array<{errno: number; content?: string}> {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => {
      const match = / => (\d+)(?: (.*))?$/.exec(line)
      if (!match) throw new Error(`unexpected probe line: ${line}`)
      return {errno: Number(match[1]), content: match[2]}
    })
}

// Writes under /opt/agentos: into a package (a new file and an existing one), a new command link,
// removing a link, and a new directory beside the packages.
const OPT_WRITES = [
  `w=/opt/agentos/pkgs/${PKG}/1.0.0/new-file`,
  `w=/opt/agentos/pkgs/${PKG}/1.0.0/package.json`,
  'w=/opt/agentos/bin/new-command',
  'u=/opt/agentos/bin/node-writer',
  'm=/opt/agentos/new-dir',
]
const SH_OPT_WRITES = [
  `w=/opt/agentos/pkgs/${PKG}/1.0.0/new-file`,
  'w=/opt/agentos/bin/new-command',
  'm=/opt/agentos/bin/d',
]

describe('run isolation: /opt/agentos is read-only', () => {
  it('bubblewrap: Node.js and sh guests get EROFS for every write under /opt/agentos', async (context) => {
    requires(context, bwrap)
    const node = await run(['--isolation', 'bwrap', '--', 'node-writer', ...OPT_WRITES])
    expect(node.exitCode, node.output).toBe(0)
    expect(nodeResults(node.stdout)).toEqual(OPT_WRITES.map((arg) => ({arg, ok: false, code: 'EROFS'})))
    await expectHostUntouched(node.output)

    const sh = await run(['--isolation', 'bwrap', '--', 'sh-writer', ...SH_OPT_WRITES])
    expect(sh.exitCode, sh.output).toBe(0)
    const lines = sh.stdout.trim().split('\n')
    expect(lines).toHaveLength(SH_OPT_WRITES.length)
    for (const [index, line] of lines.entries()) {
      expect(line).toMatch(new RegExp(`^${SH_OPT_WRITES[index]} failed: .*Read-only file system$`))
    }
    await expectHostUntouched(sh.output)
  })

  // Path-mapped guests are host processes writing to per-run copies: no mount, so no EROFS. The
  // copies have no write bit, which is the closest refusal: EACCES for an unprivileged user.
  const unprivileged = IS_ROOT ? unprivilegedSkipReason() : null
  it('path-mapped: unprivileged Node.js and sh guests get EACCES under /opt/agentos', async (context) => {
    if (unprivileged) context.skip(unprivileged)
    const uid = IS_ROOT ? NOBODY : undefined
    const node = await run(['--isolation', 'path-mapped', '--', 'node-writer', ...OPT_WRITES], {uid})
    expect(node.exitCode, node.output).toBe(0)
    const results = nodeResults(node.stdout)
    expect(results.map((r) => [r.ok, r.code])).toEqual(OPT_WRITES.map(() => [false, 'EACCES']))
    // The guest saw its VM paths rewritten into the per-run root, under this test's TMPDIR.
    for (const [index, r] of results.entries()) {
      expect(r.arg.slice(0, 2)).toBe(OPT_WRITES[index]!.slice(0, 2))
      expect(r.arg).toMatch(new RegExp(`^.=${tmp}/agentos-run-[^/]+/root/opt/agentos/`))
    }
    await expectHostUntouched(node.output)

    const sh = await run(['--isolation', 'path-mapped', '--', 'sh-writer', ...SH_OPT_WRITES], {uid})
    expect(sh.exitCode, sh.output).toBe(0)
    const lines = sh.stdout.trim().split('\n')
    expect(lines).toHaveLength(SH_OPT_WRITES.length)
    for (const line of lines) expect(line).toMatch(/ failed: .*Permission denied$/)
    await expectHostUntouched(sh.output)
  })

  it('path-mapped as root: mode bits do not stop root, so writes land in the per-run copy only', async (context) => {
    if (!IS_ROOT) context.skip('a root-only case (mode bits already stop other users)')
    const node = await run(['--isolation', 'path-mapped', '--', 'node-writer', ...OPT_WRITES])
    expect(node.exitCode, node.output).toBe(0)
    expect(node.stderr).toContain('path-mapped mode')
    for (const r of nodeResults(node.stdout)) {
      expect(r.arg).toMatch(new RegExp(`^.=${tmp}/agentos-run-[^/]+/root/opt/agentos/`))
    }
    // The copy with the writes in it is gone with the run; the package is as before.
    await expectHostUntouched(node.output)
  })

  it('WASI: a WASM guest gets every write under /opt/agentos refused', async () => {
    const wasm = await run(['--', 'wasi-probe', ...OPT_WRITES, 'w=/opt/agentos/new-file'])
    expect(wasm.exitCode, wasm.output).toBe(0)
    // In-process, read-only preopens refuse by rights: ENOTCAPABLE.
    expect(probeResults(wasm.stdout).map((r) => r.errno)).toEqual(
      [...OPT_WRITES, 'w=/opt/agentos/new-file'].map(() => WASI.ENOTCAPABLE),
    )
    await expectHostUntouched(wasm.output)
  })

  it('WASI runner in bubblewrap: the read-only bind refuses every write under /opt/agentos', async (context) => {
    requires(context, bwrap)
    // Through the WASI runner in the namespace (--timeout runs WASM as a child process): the
    // read-only bind refuses, and node:wasi passes the kernel's EROFS on.
    const runner = await run([
      '--isolation',
      'bwrap',
      '--timeout',
      '60000',
      '--',
      'wasi-probe',
      ...OPT_WRITES,
    ])
    expect(runner.exitCode, runner.output).toBe(0)
    expect(probeResults(runner.stdout).map((r) => r.errno)).toEqual(OPT_WRITES.map(() => WASI.EROFS))
    await expectHostUntouched(runner.output)
  })

  // Path-mapped, the WASI runner sees /opt/agentos through a read-only preopen as in-process runs
  // do (before it had only the root and each package, so a new file in /opt/agentos/bin was made).
  it('path-mapped WASI runner: every write under /opt/agentos is refused', async () => {
    const args = [`w=/opt/agentos/pkgs/${PKG}/1.0.0/new-file`, 'w=/opt/agentos/bin/new-command']
    const runner = await run([
      '--isolation',
      'path-mapped',
      '--timeout',
      '60000',
      '--',
      'wasi-probe',
      ...args,
    ])
    await expectHostUntouched(runner.output)
    expect(runner.exitCode, runner.output).toBe(0)
    expect(probeResults(runner.stdout).map((r) => r.errno)).toEqual(args.map(() => WASI.ENOTCAPABLE))
  })
})

describe('run isolation: provides.files targets copy up', () => {
  const target = '/etc/isolation-probe.conf'
  it.for(ISOLATIONS)(
    'a guest writes the target and reads its write back; the package file is unchanged (%s)',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      const source = await readFile(join(pkg, 'etc/isolation-probe.conf'), 'utf8')
      if (isolation === 'path-mapped') {
        // A guest could write the target by a literal path, which path mapping cannot rewrite: the
        // host's /etc would change. Refused before anything runs.
        const refused = await run(['--isolation', isolation, '--json', '--', 'node-writer', `w=${target}`], {
          pkg,
        })
        expect(refused.exitCode, refused.output).toBe(125)
        expect(JSON.parse(refused.stdout)).toMatchObject({
          error: {code: 'ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED'},
        })
        await expectHostUntouched(refused.output)
        return
      }
      const node = await run([
        '--isolation',
        isolation,
        '--',
        'node-writer',
        `r=${target}`,
        `w=${target}`,
        `r=${target}`,
      ])
      expect(node.exitCode, node.output).toBe(0)
      expect(nodeResults(node.stdout).map((r) => [r.ok, r.content])).toEqual([
        [true, source],
        [true, undefined],
        [true, 'node-write\n'],
      ])
      await expectHostUntouched(node.output)
      const sh = await run(['--isolation', isolation, '--', 'sh-writer', `w=${target}`, `r=${target}`])
      expect(sh.exitCode, sh.output).toBe(0)
      expect(
        sh.stdout
          .trim()
          .split('\n')
          .map((line) => line.replace(/^\S+ /, '')),
      ).toEqual(['ok', 'ok sh-write'])
      await expectHostUntouched(sh.output)
      const wasm = await run(['--', 'wasi-probe', `r=${target}`, `w=${target}`, `r=${target}`])
      expect(wasm.exitCode, wasm.output).toBe(0)
      expect(probeResults(wasm.stdout)).toEqual([
        {errno: 0, content: source.replace(/\n/g, '|')},
        {errno: 0},
        {errno: 0, content: 'probe-write|'},
      ])
      await expectHostUntouched(wasm.output)
      expect(await readFile(join(pkg, 'etc/isolation-probe.conf'), 'utf8')).toBe(source)
    },
  )
})

describe('run isolation: WASI guests reach nothing outside the root', () => {
  const refused = [WASI.ENOENT, WASI.ENOTCAPABLE, WASI.EPERM]
  // In-process (node:wasi with preopens) and, where bubblewrap works, through the WASI runner in
  // the namespace (--timeout runs WASM as a child process).
  const WASI_MODES = ['in-process', 'bwrap runner'] as const
  const requiresWasiMode = (context: Skippable, mode: (typeof WASI_MODES)[number]) => {
    if (mode === 'bwrap runner') requires(context, bwrap)
  }

  const probe = async (mode: (typeof WASI_MODES)[number], args: string[]) => {
    const flags = mode === 'in-process' ? [] : ['--isolation', 'bwrap', '--timeout', '60000']
    const result = await run([...flags, '--', 'wasi-probe', ...args])
    expect(result.exitCode, result.output).toBe(0)
    const results = probeResults(result.stdout)
    expect(results).toHaveLength(args.length)
    return {result, at: (arg: string) => results[args.indexOf(arg)]!}
  }

  it.for(WASI_MODES)(
    '`..`, /../.., package-relative `..`, absolute host paths and a package link read nothing (%s)',
    async (mode, context) => {
      requiresWasiMode(context, mode)
      // The root is <work>/tmp/agentos-run-X/root: `../..` from it is <work>/tmp, `../../..` is
      // <work>, where the sentinels are; the package's own link `escape` points at ../sentinel.
      const reads = [
        'r=../../sentinel',
        'r=../../../sentinel',
        'r=/../../sentinel',
        'r=/../../../sentinel',
        `r=/opt/agentos/pkgs/${PKG}/1.0.0/../sentinel`,
        `r=/opt/agentos/pkgs/${PKG}/1.0.0/../../../../sentinel`,
        `r=${work}/sentinel`,
        `r=${tmp}/sentinel`,
      ]
      // Writes: `..` stops at the VM's / as on any system, so these may land in the guest's own
      // root (read back from /sentinel), never above it.
      const writes = ['w=../../sentinel', 'w=/../../../sentinel', `w=${work}/sentinel`, `w=${tmp}/sentinel`]
      const {result, at} = await probe(mode, [...reads, ...writes, 'r=/sentinel'])
      for (const arg of reads) {
        expect(refused, `${arg} => ${at(arg).errno}`).toContain(at(arg).errno)
        expect(at(arg).content).toBeUndefined()
      }
      // Absolute host paths are VM paths that do not exist in the VM.
      expect(at(`w=${work}/sentinel`).errno).toBe(WASI.ENOENT)
      expect(at(`w=${tmp}/sentinel`).errno).toBe(WASI.ENOENT)
      const landed = ['w=../../sentinel', 'w=/../../../sentinel'].some((arg) => at(arg).errno === 0)
      expect(at('r=/sentinel')).toEqual(landed ? {errno: 0, content: 'probe-write|'} : {errno: WASI.ENOENT})
      await expectHostUntouched(result.output)
    },
  )

  it.for(WASI_MODES)(
    'links made in the writable root that climb out of it, or point at host paths, lead nowhere outside (%s)',
    async (mode, context) => {
      requiresWasiMode(context, mode)
      // From /home/agentos, 4 levels up is <work>/tmp on the host and 5 is <work>.
      const links = [
        'l=../../../../sentinel=/home/agentos/up4',
        'l=../../../../../sentinel=/home/agentos/up5',
        `l=${work}/sentinel=/home/agentos/abs`,
      ]
      const reads = ['r=/home/agentos/up4', 'r=/home/agentos/up5', 'r=/home/agentos/abs']
      const {result, at} = await probe(mode, [...links, ...reads, 'w=/home/agentos/up5', 'r=/sentinel'])
      // Links may be made, relative or absolute (as the runtime allows, 3bf3914): their target is
      // text, and every path through one is resolved as a VM path.
      expect([0, ...refused]).toContain(at(`l=${work}/sentinel=/home/agentos/abs`).errno)
      for (const arg of reads) {
        expect(refused, `${arg} => ${at(arg).errno}`).toContain(at(arg).errno)
        expect(at(arg).content).toBeUndefined()
      }
      // A write through a climbing link stops at the VM's /, like `..`.
      const wrote = at('w=/home/agentos/up5').errno === 0
      if (!wrote) expect(refused).toContain(at('w=/home/agentos/up5').errno)
      expect(at('r=/sentinel')).toEqual(wrote ? {errno: 0, content: 'probe-write|'} : {errno: WASI.ENOENT})
      await expectHostUntouched(result.output)
    },
  )
})

describe('run isolation: an agent’s fs requests stay in the VM', () => {
  it.for(ISOLATIONS)(
    'links the agent makes to host files are followed inside the VM; /opt/agentos is read-only (%s)',
    async (isolation, context) => {
      requiresIsolation(context, isolation)
      const target = join(work, 'sentinel')
      const result = await runProcess(
        [
          'run',
          runFixture('agents/fs-escape'),
          '--agent',
          '--isolation',
          isolation,
          '--json',
          '-e',
          `FS_ESCAPE_TARGET=${target}`,
        ],
        {env: {TMPDIR: tmp, HOME: work}},
      )
      expect(result.exitCode, result.stderr).toBe(0)
      const report = JSON.parse(result.stdout) as {outcome: string; stderrTail: string}
      expect(report.outcome).toBe('ok')
      const answers = Object.fromEntries(
        [...report.stderrTail.matchAll(/^fs-escape: (\S+ \S+) => (.*)$/gm)].map((m) => [m[1], m[2]]),
      )
      const name = 'sentinel'
      // Before any write, the links lead to files that do not exist in the VM.
      expect(answers['fs/read_text_file /home/agentos/rel-link']).toMatch(/^error/)
      expect(answers[`fs/read_text_file /home/agentos/dir-link/${name}`]).toMatch(/^error/)
      // Writes through the links land where they lead inside the VM, and read back from there.
      for (const link of ['abs-link', 'rel-link', 'dangling-link', `dir-link/${name}`]) {
        expect(answers[`fs/write_text_file /home/agentos/${link}`], link).toBe('ok')
      }
      expect(report.stderrTail).toMatch(
        /fs\/read_text_file \/home\/agentos\/abs-link => error.*\n[^]*fs\/read_text_file \/home\/agentos\/abs-link => ok "fs-escape was here\\n"/,
      )
      for (const path of [
        `/opt/agentos/fs-escape-agent/acp.js`,
        '/opt/agentos/bin/new-command',
        '/opt/agentos/new-file',
      ]) {
        expect(answers[`fs/write_text_file ${path}`]).toBe(`error ${path} is on a read-only mount of the VM`)
      }
      expect(answers['fs/read_text_file /home/agentos/sub/fine.txt']).toBe('ok "fs-escape was here\\n"')
      await expectHostUntouched(result.stdout + result.stderr)
      expect(existsSync(`${target}.created`)).toBe(false)
    },
  )
})
