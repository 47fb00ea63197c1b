/**
 * Bad-input rows from the second adversarial pass of issue 18: `--tar` paths that clash with the
 * same run's outputs, that name special files (replaced even with `--force` before), or that lie
 * under a file. Appended to CASES (cases.ts).
 */
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {mknod, project, put, tarHeader, wasmFile} from './build.js'
import type {BadInputCase} from './cases.js'

const out = (dir: string) => join(dir, 'out')

/** A pack whose `--tar` is `tar(dir)`, with the extra flags. */
function packTar(
  id: string,
  description: string,
  tar: (dir: string) => Promise<string | {skip: string}>,
  code: string,
  flags: string[] = [],
): BadInputCase {
  return {
    id: `pack/${id}`,
    description,
    build: async (dir) => {
      const path = await tar(dir)
      if (typeof path !== 'string') return path
      return ['pack', await project(dir), '--out', out(dir), '--tar', path, ...flags]
    },
    exit: 1,
    code,
  }
}

/** A special file at `dir/name`, or why it cannot be made here. */
async function special(dir: string, name: string, type: 'p' | 'c'): Promise<string | {skip: string}> {
  const path = join(dir, name)
  const error = mknod(path, type)
  return error ? {skip: `cannot make a ${type === 'p' ? 'FIFO' : 'device'}: ${error}`} : path
}

/**
 * A .tgz listing one member more than a package may have (200,000), each an empty file: about a
 * megabyte compressed. Such an archive kept `pack` busy for minutes at over 1 GB of memory.
 */
function manyMembers(): Buffer {
  const headers = [tarHeader({name: 'package/package.json'}, 2), Buffer.from('{}'.padEnd(512, '\0'))]
  for (let i = 0; i < 200_000; i++) headers.push(tarHeader({name: `package/f/${i}`}, 0))
  return gzipSync(Buffer.concat([...headers, Buffer.alloc(1024)]))
}

export const ADVERSARIAL_CASES: BadInputCase[] = [
  ...(['pack', 'inspect'] as const).map((command): BadInputCase => ({
    id: `${command}/tgz-too-many-members`,
    description: 'a 1 MB .tgz listing 200,001 members (pack ran for minutes at over 1 GB)',
    build: async (dir) => [
      command,
      await put(dir, 'many.tgz', manyMembers()),
      ...(command === 'pack' ? ['--out', out(dir)] : []),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_TOO_MANY_MEMBERS',
  })),
  ...(
    [
      ['package/package.json', 'package.json'],
      ['package/cli.js', 'bin file'],
    ] as const
  ).map(([member, what]): BadInputCase => ({
    id: `pack/tarball-${what === 'bin file' ? 'bin' : 'package-json'}-declares-1gb`,
    description: `a .tgz source whose ${what} declares 1 GiB (a gzip bomb of that shape took 1.2 GB of memory)`,
    build: async (dir) => [
      'pack',
      await put(
        dir,
        'bomb.tgz',
        gzipSync(Buffer.concat([tarHeader({name: member}, 1024 ** 3), Buffer.alloc(4096)])),
      ),
      '--out',
      out(dir),
    ],
    exit: 1,
    code: 'ERR_AGENTOS_TAR_MEMBER_TOO_LARGE',
  })),
  {
    id: 'pack/aospkg-out-is-fifo-forced',
    description: '--format aospkg --out naming a FIFO, with --force (once replaced by the archive)',
    build: async (dir) => {
      const fifo = await special(dir, 'p.aospkg', 'p')
      if (typeof fifo !== 'string') return fifo
      return ['pack', await project(dir), '--format', 'aospkg', '--out', fifo, '--force']
    },
    exit: 1,
    code: 'ERR_AGENTOS_AOSPKG_OUT_NOT_FILE',
  },
  {
    id: 'assemble-wasm/aospkg-out-is-fifo-forced',
    description: '--format aospkg --out naming a FIFO, with --force (once replaced by the archive)',
    build: async (dir) => {
      const fifo = await special(dir, 'p.aospkg', 'p')
      if (typeof fifo !== 'string') return fifo
      return [
        'assemble-wasm',
        await wasmFile(dir, 'hello'),
        '--name',
        'x',
        '--version',
        '1.0.0',
        '--project',
        dir,
        '--format',
        'aospkg',
        '--out',
        fifo,
        '--force',
      ]
    },
    exit: 1,
    code: 'ERR_AGENTOS_AOSPKG_OUT_NOT_FILE',
  },
  packTar(
    'tar-is-out',
    '--tar names the --out directory (once a crash with EISDIR after the commit)',
    async (dir) => out(dir),
    'ERR_AGENTOS_TAR_OUT_CLASH',
  ),
  packTar(
    'tar-inside-out',
    '--tar inside the --out directory (once a file added to the package output)',
    async (dir) => join(out(dir), 'package.tgz'),
    'ERR_AGENTOS_TAR_OUT_CLASH',
  ),
  packTar(
    'tar-is-the-aospkg',
    '--tar names the archive of --format aospkg',
    async (dir) => `${out(dir)}.aospkg`,
    'ERR_AGENTOS_TAR_OUT_CLASH',
    ['--format', 'aospkg'],
  ),
  packTar(
    'tar-is-fifo-forced',
    '--tar names a FIFO, with --force (once replaced by the tarball)',
    (dir) => special(dir, 'fifo', 'p'),
    'ERR_AGENTOS_TAR_OUT_NOT_FILE',
    ['--force'],
  ),
  packTar(
    'tar-is-device-forced',
    '--tar names a character device, with --force (as root, /dev/full was replaced)',
    (dir) => special(dir, 'null-device', 'c'),
    'ERR_AGENTOS_TAR_OUT_NOT_FILE',
    ['--force'],
  ),
  packTar(
    'tar-trailing-slash',
    '--tar ending in a slash, the directory not there yet (once written as a file of that name)',
    async (dir) => `${join(dir, 'dist')}/`,
    'ERR_AGENTOS_TAR_OUT_IS_DIR',
  ),
  packTar(
    'tar-under-a-file',
    '--tar below an existing file (once a crash, ENOTDIR, after the commit)',
    async (dir) => join(await put(dir, 'notes.txt', 'mine\n'), 'package.tgz'),
    'ERR_AGENTOS_OUT_WRITE_FAILED',
  ),
]
