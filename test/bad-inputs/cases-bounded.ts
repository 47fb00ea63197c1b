/**
 * Bad-input rows for issue 18's "bounded everything": file names pack cannot carry (not UTF-8,
 * control characters), at the project's root, deeper, in a directory's name and inside an
 * installed dependency; and special files (FIFOs) where a reader would open them. Appended to
 * CASES (cases.ts).
 */
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {mknod, packageDir, project} from './build.js'
import type {BadInputCase} from './cases.js'

const NAME_CODE = 'ERR_AGENTOS_PACK_NAME_UNSUPPORTED'

/** A file (or, with `dirName`, a directory holding one) named `name` under `where` of the project. */
function packOddName(
  id: string,
  description: string,
  name: Buffer,
  where = '',
  dirName = false,
): BadInputCase {
  return {
    id: `pack/${id}`,
    description,
    build: async (dir) => {
      const root = await project(dir)
      const parent = Buffer.from(join(root, where) + '/')
      await mkdir(join(root, where), {recursive: true})
      const path = Buffer.concat([parent, name])
      if (dirName) {
        await mkdir(path)
        await writeFile(Buffer.concat([path, Buffer.from('/f.txt')]), 'x\n')
      } else await writeFile(path, 'x\n')
      return ['pack', root, '--out', join(dir, 'out')]
    },
    exit: 1,
    code: NAME_CODE,
    process: true,
  }
}

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))))

const ODD_NAMES: Array<[string, string, Buffer]> = [
  ['latin1', 'a Latin-1 name (0xe9), not UTF-8', bytes('caf', [0xe9], '.txt')],
  ['invalid-utf8', 'bytes 0xff 0xfe in a name', bytes('x', [0xff, 0xfe], '.txt')],
  ['overlong-utf8', 'an overlong UTF-8 encoding of "/" (0xc0 0xaf)', bytes('a', [0xc0, 0xaf], 'b')],
  ['lone-continuation', 'a lone UTF-8 continuation byte (0x80)', bytes([0x80], 'x.js')],
  ['truncated-utf8', 'a UTF-8 sequence cut short (0xe2 0x82)', bytes('euro', [0xe2, 0x82])],
  ['newline', 'a newline in a name', bytes('a\nb.txt')],
  ['carriage-return', 'a carriage return in a name', bytes('a\rb.txt')],
  ['tab', 'a tab in a name', bytes('a\tb.txt')],
  ['escape', 'an ANSI escape in a name', bytes('\u001b[31mred.txt')],
  ['del', 'a DEL character in a name', bytes('a\u007fb')],
  ['bell', 'a BEL character in a name', bytes('ring\u0007.js')],
  ['only-newline', 'a name that is one newline', bytes('\n')],
]

const FIFO = async (path: string): Promise<string | null> => mknod(path, 'p')

export const BOUNDED_CASES: BadInputCase[] = [
  ...ODD_NAMES.map(([id, description, name]) =>
    packOddName(`name-${id}`, `${description} (once a crash)`, name),
  ),
  ...ODD_NAMES.slice(0, 6).map(([id, description, name]) =>
    packOddName(`name-${id}-nested`, `${description}, two directories down`, name, 'lib/deep'),
  ),
  packOddName('name-dir-invalid-utf8', 'a directory whose name is not UTF-8', bytes('d', [0xff])),
  packOddName('name-dir-newline', 'a directory whose name holds a newline', bytes('d\ne'), '', true),
  packOddName(
    'name-dir-latin1-deep',
    'a Latin-1 directory name under lib/',
    bytes('r', [0xe9], 's'),
    'lib',
    true,
  ),
  packOddName(
    'name-in-dependency',
    'a non-UTF-8 name inside the installed dependency ms',
    bytes('m', [0xff]),
    'node_modules/ms',
  ),
  packOddName(
    'name-newline-in-dependency',
    'a newline in a name inside the installed dependency ms',
    bytes('x\ny'),
    'node_modules/ms',
  ),
  {
    id: 'validate/fifo-command-entry',
    description: 'a FIFO as the command entry (a reader opening it would block forever)',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      const error = await FIFO(join(pkg, 'bin/t.fifo'))
      if (error) return {skip: error}
      await writeFile(
        join(pkg, 'package.json'),
        JSON.stringify({name: 't', version: '1.0.0', bin: {t: 'bin/t.fifo'}}),
      )
      return ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
    process: true,
  },
  {
    id: 'validate/fifo-package-json',
    description: 'a FIFO in place of package.json',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      const {rm} = await import('node:fs/promises')
      await rm(join(pkg, 'package.json'))
      const error = await FIFO(join(pkg, 'package.json'))
      return error ? {skip: error} : ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
  },
  {
    id: 'validate/fifo-manifest',
    description: 'a FIFO in place of agentos-package.json',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      const {rm} = await import('node:fs/promises')
      await rm(join(pkg, 'agentos-package.json'))
      const error = await FIFO(join(pkg, 'agentos-package.json'))
      return error ? {skip: error} : ['validate', pkg]
    },
    exit: 1,
    code: 'ERR_AGENTOS_SPECIAL_FILE',
  },
]
