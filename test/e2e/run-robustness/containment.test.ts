/**
 * Issue 18, "a guest sees only the VM": a WASM probe (fixtures/wat/containment-probe.wat) tries
 * links out of the VM root in directory components, `..`, absolute host paths and package links,
 * in every isolation mode, as root and as an unprivileged user; a host canary directory must come
 * out byte for byte as it went in, and nothing of it may be printed. Packages holding links out
 * of them are refused; bubblewrap as root leaves no capability to remount a package writable;
 * path-mapped mode refuses a `provides.files` target it would write on the host.
 * Real processes of the built CLI (`npm run build` first).
 */
import {existsSync} from 'node:fs'
import {chmod, mkdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runProcess} from '../../helpers/cli.js'
import {IS_ROOT, NOBODY, sharedTempDir, unprivilegedSkipReason} from '../../helpers/privileges.js'
import {bwrap, requires} from '../../helpers/requirements.js'
import {digestOf} from '../../helpers/run-fixtures.js'
import {snapshotTree, treeDigest} from '../../helpers/tree.js'
import {watFileToWasm, watToWasm} from '../../helpers/wasm.js'
import {ROOT} from '../../helpers/cli.js'

const CANARY = 'CANARY-host-bytes\n'
let work: string
let canary: string
let pkg: string
let canaryDigest: string

async function makePackage(dir: string, name: string, bin: Record<string, string>, extra: object = {}) {
  await mkdir(join(dir, 'bin'), {recursive: true})
  await writeFile(join(dir, 'package.json'), JSON.stringify({name, version: '1.0.0', bin}))
  await writeFile(join(dir, 'agentos-package.json'), JSON.stringify({name, version: '1.0.0', ...extra}))
}

beforeAll(async () => {
  work = sharedTempDir('agentos-containment-')
  canary = join(work, 'canary')
  await mkdir(join(canary, 'sub'), {recursive: true, mode: 0o777})
  await writeFile(join(canary, 'secret'), CANARY, {mode: 0o666})
  await writeFile(join(canary, 'sub/secret'), CANARY, {mode: 0o666})
  for (const dir of [canary, join(canary, 'sub')]) await chmod(dir, 0o777)
  await chmod(join(canary, 'secret'), 0o666)
  pkg = join(work, 'probe-pkg')
  await makePackage(pkg, 'containment-probe', {probe: 'bin/probe'})
  await writeFile(
    join(pkg, 'bin/probe'),
    await watFileToWasm(join(ROOT, 'fixtures/wat/containment-probe.wat')),
  )
  await chmod(join(pkg, 'bin/probe'), 0o755)
  canaryDigest = treeDigest(await snapshotTree(canary))
})
afterAll(async () => {
  if (work) await rm(work, {recursive: true, force: true})
})

async function run(inputs: string[], args: string[], uid?: number) {
  const result = await runProcess(['run', ...inputs, ...args], {
    env: {...process.env, HOME: work},
    uid,
    gid: uid,
  })
  return {...result, output: result.stdout + result.stderr}
}

async function expectCanaryUntouched(output: string): Promise<void> {
  expect(treeDigest(await snapshotTree(canary))).toBe(canaryDigest)
  expect(output).not.toContain('CANARY')
}

const deep = '../'.repeat(24)
/** The probe passes a 0x01 byte as NUL. */
const NUL = '\x01'
/** Link tricks, `..` and absolute paths aimed at the canary. */
const probeArgs = () => [
  `l=${deep.slice(0, -1)}=/home/agentos/up`,
  `r=/home/agentos/up${canary}/secret`,
  `w=/home/agentos/up${canary}/secret`,
  `w=/home/agentos/up${canary}/sub/secret`,
  `m=/home/agentos/up${canary}/made`,
  `u=/home/agentos/up${canary}/sub/secret`,
  `l=${canary}=/home/agentos/abs`,
  `r=/home/agentos/abs/secret`,
  `w=/home/agentos/abs/new-file`,
  `l=/=/workspace/root`,
  `r=/workspace/root${canary}/secret`,
  `l=../home/agentos/up=/tmp/chain`,
  `r=/tmp/chain${canary}/sub/secret`,
  `r=${deep}${canary.slice(1)}/secret`,
  `r=${canary}/secret`,
  `w=${canary}/secret`,
  `r=/opt/agentos/pkgs/containment-probe/1.0.0/${deep}${canary.slice(1)}/secret`,
  // A NUL ends the path for the kernel: `up2\0` must not reach it as the link `up2`.
  `l=up${canary}/secret=/home/agentos/up2`,
  `l=up${canary}=/home/agentos/up3`,
  `r=/home/agentos/up2${NUL}`,
  `w=/home/agentos/up2${NUL}`,
  `s=/home/agentos/up2${NUL}`,
  `g=/home/agentos/up3${NUL}`,
  `h=/home/agentos/up2${NUL}=/home/agentos/hard`,
  `w=/home/agentos/hard`,
  `n=/home/agentos/up3${NUL}=/home/agentos/moved`,
  `d=/home/agentos/up3${NUL}=sub/secret`,
  `e=/home/agentos/up3${NUL}=made`,
  // Descriptor-relative paths, hard links and renames out of a package or the VM.
  `d=/home/agentos=${deep}${canary.slice(1)}/secret`,
  `e=/home/agentos=${deep}${canary.slice(1)}/made`,
  `d=/opt/agentos/pkgs/containment-probe/1.0.0=${deep}${canary.slice(1)}/secret`,
  `e=/opt/agentos/pkgs/containment-probe/1.0.0=made`,
  `e=/opt/agentos/pkgs=containment-probe/1.0.0/made`,
  `h=/opt/agentos/pkgs/containment-probe/1.0.0/package.json=/home/agentos/pj`,
  `n=/opt/agentos/pkgs/containment-probe/1.0.0/package.json=/home/agentos/pj2`,
  `x=/opt/agentos/pkgs/containment-probe/1.0.0/bin`,
  `g=/home/agentos/up${canary}`,
  `k=/home/agentos/up2`,
  // Last: a directory renumbered over the root preopen (fd 3) must not take its place, or a path
  // resolved as the VM's `/up/…` reaches the kernel as `<home>/up/…`, through the guest's link.
  `v=3=/home/agentos`,
  `r=/opt/agentos/pkgs/containment-probe/1.0.0/${deep}up${canary}/secret`,
  `w=/opt/agentos/pkgs/containment-probe/1.0.0/${deep}up${canary}/secret`,
  `c=4`,
  `o=/opt/agentos/pkgs/containment-probe/1.0.0/${deep}home/agentos`,
  `w=/opt/agentos/pkgs/containment-probe/1.0.0/${deep}up${canary}/sub/secret`,
]

const MODES: Array<[string, string[]]> = [
  ['in-process WASI', []],
  ['WASI runner in bubblewrap', ['--isolation', 'bwrap', '--timeout', '60000']],
  ['WASI runner path-mapped', ['--isolation', 'path-mapped', '--timeout', '60000']],
]
const unprivileged = IS_ROOT ? unprivilegedSkipReason() : null
const USERS: Array<[string, number | undefined]> = [
  [IS_ROOT ? 'root' : 'this user', undefined],
  ['unprivileged', IS_ROOT ? NOBODY : undefined],
]

describe('a WASM guest reads and changes no host byte', () => {
  for (const [user, uid] of USERS) {
    it.for(MODES)(`%s, as ${user}`, async ([, flags], context) => {
      if (flags.includes('bwrap')) requires(context, bwrap)
      if (user === 'unprivileged' && unprivileged) context.skip(unprivileged)
      const pkgBefore = await digestOf(pkg)
      const result = await run([pkg], [...flags, '--', 'probe', ...probeArgs()], uid)
      expect(result.exitCode, result.output).toBe(0)
      expect(result.stdout.trim().split('\n')).toHaveLength(probeArgs().length)
      await expectCanaryUntouched(result.output)
      expect(await digestOf(pkg)).toBe(pkgBefore)
    })
  }
})

describe('packages and archives whose links leave them are refused', () => {
  it.for(MODES)('a package holding hostroot -> / (%s)', async ([, flags], context) => {
    if (flags.includes('bwrap')) requires(context, bwrap)
    const bad = join(work, 'hostroot-pkg')
    await rm(bad, {recursive: true, force: true})
    await makePackage(bad, 'hostroot-pkg', {probe2: 'bin/probe2'})
    await writeFile(join(bad, 'bin/probe2'), await readFile(join(pkg, 'bin/probe')))
    await chmod(join(bad, 'bin/probe2'), 0o755)
    await mkdir(join(bad, 'd'))
    await symlink('..', join(bad, 'd/s'))
    await symlink('d/s/d/s/../..', join(bad, 'hostroot'))
    const result = await run(
      [bad],
      [...flags, '--', 'probe2', `r=/opt/agentos/pkgs/hostroot-pkg/1.0.0/hostroot${canary}/secret`],
    )
    expect(result.exitCode, result.output).toBe(125)
    expect(result.stderr).toContain('ERR_AGENTOS_SYMLINK')
    await expectCanaryUntouched(result.output)
  })
})

describe('paths that are not UTF-8', () => {
  // node:wasi read the bytes as U+FFFD: the guest asked for one name and made another.
  it.for(MODES)('%s: refused with EILSEQ (25), nothing made', async ([, flags], context) => {
    if (flags.includes('bwrap')) requires(context, bwrap)
    const result = await run(
      [pkg],
      [
        ...flags,
        '--',
        'probe',
        'w=/home/agentos/bad\x02name',
        'm=/home/agentos/bad\x02dir',
        'l=target=/home/agentos/bad\x02link',
        'g=/home/agentos',
        'w=/home/agentos/\ufeffbom',
        'g=/home/agentos',
      ],
    )
    expect(result.exitCode, result.output).toBe(0)
    const lines = result.stdout.trim().split('\n')
    for (const line of lines.slice(0, 3)) expect(line).toMatch(/ => 25$/)
    expect(lines[3]).not.toContain('\ufffd')
    expect(lines[3]).not.toContain('bad')
    // A leading U+FEFF is kept as part of the name (TextDecoder would drop it as a mark).
    expect(lines[4]).toMatch(/ => 0$/)
    expect(lines[5]).toContain('\ufeffbom')
  })
})

describe('links to absolute paths, which the VM allows, mean VM paths', () => {
  // node:wasi alone refuses them ("ln -s /x y" failed); the runtime makes them.
  it.for(MODES)(
    '%s: made, followed inside the VM, refused where the VM is read-only',
    async ([, flags], context) => {
      if (flags.includes('bwrap')) requires(context, bwrap)
      const manifest = '/opt/agentos/pkgs/containment-probe/1.0.0/agentos-package.json'
      const result = await run(
        [pkg],
        [
          ...flags,
          '--',
          'probe',
          `l=${manifest}=/home/agentos/abs-link`,
          'r=/home/agentos/abs-link',
          `l=/=/home/agentos/root-link`,
          `r=/home/agentos/root-link${manifest}`,
          `l=${canary}/secret=/home/agentos/canary-link`,
          'r=/home/agentos/canary-link',
          'l=/etc=/opt/agentos/pkgs/containment-probe/1.0.0/etc-link',
        ],
      )
      expect(result.exitCode, result.output).toBe(0)
      const lines = result.stdout.trim().split('\n')
      expect(lines[0]).toMatch(/ => 0$/)
      expect(lines[1]).toMatch(/ => 0 \{"name":"containment-probe"/)
      expect(lines[2]).toMatch(/ => 0$/)
      expect(lines[3]).toMatch(/ => 0 \{"name":"containment-probe"/)
      // Made, but it names a VM path, where there is no canary: ENOENT (44).
      expect(lines[4]).toMatch(/ => 0$/)
      expect(lines[5]).toMatch(/ => 44$/)
      // A package is read-only: ENOTCAPABLE (76) or EROFS (69), as for any link there.
      expect(lines[6]).toMatch(/ => (76|69)$/)
      await expectCanaryUntouched(result.output)
    },
  )
})

describe('a WASM command that starts commands runs inside the namespace, with its children', () => {
  // Its children run while it does: a child swapping a directory for a link between the parent's
  // resolution and open would send the open to the host. Inside bubblewrap `/` is the VM's.
  it('host-spawn under bubblewrap; in this process when path-mapped; a plain module always here', async (context) => {
    requires(context, bwrap)
    const spawner = join(work, 'spawner-pkg')
    await makePackage(spawner, 'spawner-pkg', {'host-spawn': 'bin/host-spawn', child: 'bin/child'})
    const source = (await readFile(join(ROOT, 'fixtures/wat/host-spawn.wat'), 'utf8'))
      .replace('"/bin/child"', '"/opt/agentos/bin/child"')
      .replace('(call $spawn (i32.const 512) (i32.const 10)', '(call $spawn (i32.const 512) (i32.const 22)')
    await writeFile(join(spawner, 'bin/host-spawn'), await watToWasm(source))
    await writeFile(join(spawner, 'bin/child'), await watFileToWasm(join(ROOT, 'fixtures/wat/args-env.wat')))
    await chmod(join(spawner, 'bin/host-spawn'), 0o755)
    await chmod(join(spawner, 'bin/child'), 0o755)
    const expected = {exitCode: 0, stdout: 'parent: child\nfrom parent\nGREETING=hi\nPWD=/\n'}
    const namespaced = JSON.parse((await run([spawner], ['--json', '--', 'host-spawn'])).stdout)
    expect(namespaced).toMatchObject({...expected, isolation: 'bwrap'})
    const mapped = JSON.parse(
      (await run([spawner], ['--json', '--isolation', 'path-mapped', '--', 'host-spawn'])).stdout,
    )
    expect(mapped).toMatchObject({...expected, isolation: 'wasi'})
    const plain = JSON.parse((await run([pkg], ['--json', '--', 'probe'])).stdout)
    expect(plain).toMatchObject({exitCode: 0, isolation: 'wasi'})
  })
})

describe('bubblewrap as root keeps no capability', () => {
  it('a guest cannot remount its package writable', async (context) => {
    requires(context, bwrap)
    if (!IS_ROOT) context.skip('a root-only case (an unprivileged bwrap has no capabilities anyway)')
    const sh = join(work, 'remount-pkg')
    await makePackage(sh, 'remount-pkg', {remount: 'bin/remount'})
    const mount = '/opt/agentos/pkgs/remount-pkg/1.0.0'
    await writeFile(
      join(sh, 'bin/remount'),
      `#!/bin/sh\nmount -o remount,rw,bind ${mount} 2>/dev/null; mount -o remount,rw ${mount} 2>/dev/null\necho pwned >> ${mount}/package.json 2>/dev/null && echo WROTE\necho done\n`,
      {mode: 0o755},
    )
    const before = await digestOf(sh)
    const result = await run([sh], ['--isolation', 'bwrap', '--', 'remount'])
    expect(result.stdout, result.output).toContain('done')
    expect(result.stdout).not.toContain('WROTE')
    expect(await digestOf(sh)).toBe(before)
  })
})

describe('path-mapped mode refuses what it cannot contain', () => {
  it('a provides.files target outside the VM directories, written by a literal path', async () => {
    const name = `agentos-containment-${process.pid}.conf`
    const hostFile = join('/etc', name)
    const dir = join(work, 'etc-pkg')
    await makePackage(
      dir,
      'etc-pkg',
      {writer: 'bin/writer'},
      {provides: {files: [{source: 'conf', target: hostFile}]}},
    )
    await writeFile(join(dir, 'conf'), 'conf\n')
    await writeFile(join(dir, 'bin/writer'), `#!/bin/sh\necho written > ${hostFile} && echo WROTE\n`, {
      mode: 0o755,
    })
    try {
      const result = await run([dir], ['--isolation', 'path-mapped', '--', 'writer'])
      expect(existsSync(hostFile), result.output).toBe(false)
      expect(result.exitCode, result.output).toBe(125)
      expect(result.stderr).toContain('ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED')
    } finally {
      await rm(hostFile, {force: true})
    }
  })
})

describe('provides.files links keep their text at the target', () => {
  const ISOLATIONS: Array<[string, string[]]> = [
    ['path-mapped', ['--isolation', 'path-mapped']],
    ['bubblewrap', ['--isolation', 'bwrap']],
  ]

  it.for(ISOLATIONS)(
    'a write through a link in a provides directory leaves the package as it was (%s)',
    async ([, flags], context) => {
      if (flags.includes('bwrap')) requires(context, bwrap)
      const dir = join(work, `through-link-${flags[1]}`)
      await makePackage(
        dir,
        'through-link',
        {wr: 'bin/wr'},
        {provides: {files: [{source: 'conf', target: '/workspace/conf'}]}},
      )
      await mkdir(join(dir, 'conf'))
      await writeFile(join(dir, 'conf/real.txt'), 'original\n')
      await symlink('real.txt', join(dir, 'conf/l'))
      await writeFile(join(dir, 'bin/wr'), '#!/bin/sh\necho pwned >> "$1"\n', {mode: 0o755})
      const before = await digestOf(dir)
      const result = await run([dir], [...flags, '--', 'wr', '/workspace/conf/l'])
      expect(await readFile(join(dir, 'conf/real.txt'), 'utf8'), result.output).toBe('original\n')
      expect(await digestOf(dir)).toBe(before)
    },
  )

  it('path-mapped: a link that stays in the package at its source but leaves the VM at its target is refused', async () => {
    const dir = join(work, 'climbing-link')
    const source = 'a/b/c/d/e/f/g'
    await makePackage(
      dir,
      'climbing-link',
      {rd: 'bin/rd'},
      {provides: {files: [{source, target: '/workspace/conf'}]}},
    )
    await mkdir(join(dir, source), {recursive: true})
    // At its source the link lands on the package's own copy of the canary's path.
    await mkdir(join(dir, canary), {recursive: true})
    await writeFile(join(dir, canary, 'secret'), 'package copy\n')
    await symlink(`${'../'.repeat(7)}${canary.slice(1)}/secret`, join(dir, source, 'l'))
    await writeFile(join(dir, 'bin/rd'), '#!/bin/sh\ncat "$1"; echo pwned >> "$1"\n', {mode: 0o755})
    const before = await digestOf(dir)
    const result = await run([dir], ['--isolation', 'path-mapped', '--', 'rd', '/workspace/conf/l'])
    expect(result.exitCode, result.output).toBe(125)
    expect(result.stderr).toContain('ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED')
    expect(await digestOf(dir)).toBe(before)
    await expectCanaryUntouched(result.output)
  })
})
