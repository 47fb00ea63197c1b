import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {extractAospkg} from '../../src/archive/extract.js'
import {inspectPackage} from '../../src/package/inspect.js'
import {cliCommand, ROOT} from '../helpers/cli.js'

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
function npmPack(spec: string, into = dir): {file: string; integrity: string} {
  const result = spawnSync('npm', ['pack', spec, '--json', '--pack-destination', into], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  if (result.status !== 0) throw new Error(`npm pack ${spec} failed: ${result.stderr}`)
  const [info] = JSON.parse(result.stdout) as Array<{filename: string; integrity: string}>
  return {file: join(into, info!.filename), integrity: info!.integrity}
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

// The real commands through the built CLI (`npm run build` first): `run <packages> -- <cmd>` runs
// them in-process on node:wasi with the agentOS host layer. Outputs are compared byte for byte
// with the host's GNU tools on the same input wherever both are deterministic.
describe.skipIf(!ENABLED)('real @agentos-software commands through run', () => {
  let work: string
  let packages: string[]
  /** Host copy of what the VM sees at /data. */
  let data: string
  const TEXT = 'banana 3\napple 1\ncherry 2\ndate 10\n'

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'agentos-npm-run-'))
    packages = []
    for (const spec of [
      '@agentos-software/coreutils@0.3.4',
      '@agentos-software/sed@0.3.4',
      '@agentos-software/gawk@0.3.4',
      '@agentos-software/findutils@0.3.4',
    ]) {
      const name = spec.slice('@agentos-software/'.length, spec.lastIndexOf('@'))
      const {file} = npmPack(spec, work)
      const unpacked = join(work, `${name}-tgz`)
      await mkdir(unpacked)
      const tar = spawnSync('tar', ['-xzf', file, '-C', unpacked, 'package/dist/package.aospkg'], {
        encoding: 'utf8',
      })
      if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`)
      await extractAospkg(join(unpacked, 'package/dist/package.aospkg'), join(work, name))
      packages.push(join(work, name))
    }
    // A package that only provides /data, so the commands have files to read.
    const dataPkg = join(work, 'data-pkg')
    data = join(dataPkg, 'files')
    await mkdir(data, {recursive: true})
    await writeFile(join(data, 't.txt'), TEXT)
    await writeFile(join(data, 'passwd'), 'root:x:0:0\nagentos:x:1000:1000\n')
    await writeFile(join(dataPkg, 'package.json'), '{"name": "data-pkg", "version": "1.0.0"}\n')
    await writeFile(
      join(dataPkg, 'agentos-package.json'),
      JSON.stringify({
        name: 'data-pkg',
        version: '1.0.0',
        provides: {files: [{source: 'files', target: '/data'}]},
      }),
    )
    packages.push(dataPkg)
  }, 300_000)
  afterAll(async () => {
    await rm(work, {recursive: true, force: true})
  })

  /** `run <packages> [flags] -- <argv>`, output as bytes. */
  function vm(argv: string[], options: {input?: string; flags?: string[]} = {}) {
    const {file, prefix} = cliCommand()
    const result = spawnSync(file, [...prefix, 'run', ...packages, ...(options.flags ?? []), '--', ...argv], {
      cwd: ROOT,
      input: options.input ?? '',
      env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
      timeout: 60_000,
    })
    // The official coreutils, sed, gawk and findutils name their commands like the runtime's own
    // default software (it ships them): run says once per package that the real VM would refuse
    // them without defaultSoftware: false. That is all it may add to the guest's stderr.
    const stderr = result.stderr
      .toString('utf8')
      .split('\n')
      .filter((line) => !line.startsWith('WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND: '))
      .join('\n')
    return {stdout: result.stdout, stderr, exitCode: result.status}
  }

  /** The host's tool on the same input, with /data mapped to the host copy. */
  function host(argv: string[], input = '') {
    const mapped = argv.map((arg) => arg.replaceAll('/data/', `${data}/`))
    const result = spawnSync(mapped[0]!, mapped.slice(1), {
      input,
      env: {PATH: process.env.PATH, LC_ALL: 'C'},
    })
    return {stdout: result.stdout, exitCode: result.status}
  }

  const SAME_AS_HOST: Array<{argv: string[]; input?: string}> = [
    {argv: ['echo', 'hello', 'agent OS']},
    {argv: ['cat', '/data/t.txt']},
    {argv: ['cat'], input: TEXT},
    {argv: ['sort', '/data/t.txt']},
    {argv: ['sort', '-k2', '-n', '/data/t.txt']},
    {argv: ['wc', '-l'], input: TEXT},
    {argv: ['wc'], input: TEXT},
    {argv: ['head', '-n', '2', '/data/t.txt']},
    {argv: ['tail', '-n', '2', '/data/t.txt']},
    {argv: ['sha256sum'], input: TEXT},
    {argv: ['sed', '-e', 's/a/A/g', '/data/t.txt']},
    {argv: ['sed', '-n', '2p'], input: TEXT},
    {argv: ['awk', '{s += $2} END {print s}', '/data/t.txt']},
    {argv: ['awk', '-F:', '{print $1 "=" $3}', '/data/passwd']},
    {argv: ['sh', '-c', 'echo from-sh; x=5; echo $((x + 1)); for i in a b; do echo "$i"; done; exit 3']},
    // Spawning (host_process): pipes, command substitution, xargs.
    {argv: ['sh', '-c', 'echo a | cat']},
    {argv: ['sh', '-c', 'printf "c\\nb\\na\\n" | sort | head -n 2']},
    {argv: ['sh', '-c', 'x=$(echo hi | tr a-z A-Z); echo "got $x"; false | true; echo $?']},
    {argv: ['sh', '-c', "cat /data/t.txt | sort -r | awk '{print $2}' | sed -e s/1/one/"]},
    {argv: ['xargs', 'echo'], input: 'p q\nr\n'},
    {argv: ['sh', '-c', 'yes | head -n 3']},
    {argv: ['sh', '-c', 'ls /nope 2>/dev/null; echo $?; echo gone > /dev/null']},
    {argv: ['sh', '-c', 'exec echo via-exec; echo not reached']},
  ]

  it.each(SAME_AS_HOST.map((c) => ({...c, name: c.argv.join(' ')})))(
    '$name: same bytes and exit code as the host tool',
    ({argv, input}) => {
      const guest = vm(argv, {input})
      const expected = host(argv, input)
      expect(guest.stderr).toBe('')
      expect(guest.stdout.toString('utf8')).toBe(expected.stdout.toString('utf8'))
      expect(Buffer.compare(guest.stdout, expected.stdout)).toBe(0)
      expect(guest.exitCode).toBe(expected.exitCode)
    },
  )

  it('ls -l lists the same names and modes as the host', () => {
    const columns = (out: Buffer) =>
      out
        .toString('utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('total'))
        .map((line) => [line.split(/\s+/)[0], line.split(/\s+/).at(-1)])
    const guest = vm(['ls', '-l', '/data'])
    expect(guest).toMatchObject({exitCode: 0, stderr: ''})
    expect(columns(guest.stdout)).toEqual(columns(host(['ls', '-l', '/data/']).stdout))
    expect(columns(guest.stdout).map(([, name]) => name)).toEqual(['passwd', 't.txt'])
    // host_fs.path_mode: links, executables and devices show their real modes.
    const listed = vm([
      'ls',
      '-l',
      '/opt/agentos/bin/ls',
      '/opt/agentos/pkgs/coreutils/current/bin/ls',
      '/dev/null',
    ])
    expect(columns(listed.stdout)).toEqual([
      ['crw-rw-rw-', '/dev/null'],
      ['lrwxrwxrwx', '../pkgs/coreutils/current/bin/ls'],
      ['-rwxr-xr-x', '/opt/agentos/pkgs/coreutils/current/bin/ls'],
    ])
  })

  it('sh runs /opt/agentos/bin commands in a pipeline', async () => {
    const {readdir} = await import('node:fs/promises')
    const names = (await Promise.all(packages.map((dir) => readdir(join(dir, 'bin')).catch(() => []))))
      .flat()
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const result = vm(['sh', '-c', 'ls /opt/agentos/bin | sort | head -3'])
    expect(result).toMatchObject({exitCode: 0, stderr: ''})
    expect(result.stdout.toString('utf8')).toBe(`${names.slice(0, 3).join('\n')}\n`)
  })

  it('timeout stops a command that runs too long (waitpid WNOHANG and kill reach the child)', () => {
    const start = performance.now()
    const result = vm(['timeout', '1', 'sleep', '5'])
    expect(result).toMatchObject({exitCode: 124, stderr: ''})
    expect(performance.now() - start).toBeLessThan(4500)
  })

  // --timeout runs the command in a child process (wasi/runner.ts) instead of in-process.
  it.each(['path-mapped', 'auto'])(
    'spawning works from the child-process runner too (--isolation %s)',
    (isolation) => {
      const script =
        'echo a | cat; ls /opt/agentos/bin/ls; timeout 1 sleep 3; echo $?; cat /data/passwd | wc -l'
      const result = vm(['sh', '-c', script], {flags: ['--isolation', isolation, '--timeout', '30000']})
      expect(result.exitCode).toBe(0)
      expect(result.stdout.toString('utf8')).toBe('a\n/opt/agentos/bin/ls\n124\n2\n')
    },
  )

  it('sh redirects into files of the VM', () => {
    const result = vm([
      'sh',
      '-c',
      'echo x > /tmp/r.txt; echo y >> /tmp/r.txt; cat /tmp/r.txt; wc -l < /tmp/r.txt',
    ])
    expect(result).toMatchObject({exitCode: 0, stderr: ''})
    expect(result.stdout.toString('utf8')).toBe('x\ny\n2\n')
  })

  it('a background command nobody waits for still runs before sh exits', async () => {
    const result = vm(['sh', '-c', 'ls /opt/agentos > /tmp/bg.txt &'], {flags: ['--keep-root']})
    const root = /VM root is kept at (.+)$/m.exec(result.stderr)?.[1]
    try {
      expect(result.exitCode).toBe(0)
      // The runtime's layout: commands in bin, packages under pkgs/<name>/<version>.
      expect(await readFile(join(root!, 'tmp/bg.txt'), 'utf8')).toBe('bin\npkgs\n')
    } finally {
      if (root) await rm(join(root, '..'), {recursive: true, force: true})
    }
  })

  it('mkdir, cp and rm change the VM root; a provides directory is read-only, as in the runtime', () => {
    const kept = (stderr: string) => /VM root is kept at (.+)$/m.exec(stderr)?.[1]
    const made = vm(['mkdir', '-p', '/tmp/a/b'], {flags: ['--keep-root']})
    const copied = vm(['cp', '/data/t.txt', '/tmp/copy.txt'], {flags: ['--keep-root']})
    const removed = vm(['rm', '/data/passwd'], {flags: ['--keep-root']})
    const roots = [made, copied, removed].map((r) => kept(r.stderr))
    try {
      expect([made.exitCode, copied.exitCode]).toEqual([0, 0])
      // agentOS 0.2.21 mounts a provides.files directory read-only (EACCES for a guest's write).
      expect(removed.exitCode).not.toBe(0)
      expect(existsSync(join(roots[0]!, 'tmp/a/b'))).toBe(true)
      return readFile(join(roots[1]!, 'tmp/copy.txt'), 'utf8').then((text) => {
        expect(text).toBe(TEXT)
        expect(existsSync(join(data, 'passwd'))).toBe(true)
      })
    } finally {
      for (const root of roots) if (root) void rm(join(root, '..'), {recursive: true, force: true})
    }
  })
})
