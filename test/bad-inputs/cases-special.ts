/**
 * Bad-input rows for special files (FIFO, socket, device) where a package has a command entry or
 * a provided file: `validate` and `run` must give one verdict, the same code (once `run` said
 * ERR_AGENTOS_RUN_COMMAND_NOT_FOUND for a file that is there). Appended to CASES (cases.ts).
 */
import {mkdir, rm} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {link, mknod, packageDir, unixSocket} from './build.js'
import type {BadInputCase, Built} from './cases.js'

const SPECIAL = 'ERR_AGENTOS_SPECIAL_FILE'

/** Puts a special file at `rel` of a fresh package (replacing bin/t there); null or why not. */
type Make = (path: string) => Promise<string | null> | string | null

const fifo: Make = (path) => mknod(path, 'p')
const socket: Make = (path) => unixSocket(path)
const charDevice: Make = (path) => mknod(path, 'c', 1, 3)

/** A package whose `rel` is made by `make`, with `manifest` when given; the package dir. */
async function specialPackage(
  dir: string,
  rel: string,
  make: Make,
  manifest?: Record<string, unknown>,
): Promise<string | {skip: string}> {
  const pkg = await packageDir(dir, manifest ? {manifest, files: {'etc/.keep': ''}} : {})
  await rm(join(pkg, rel), {force: true})
  await mkdir(dirname(join(pkg, rel)), {recursive: true})
  const error = await make(join(pkg, rel))
  return error ? {skip: `cannot make ${rel}: ${error}`} : pkg
}

const PROVIDING = {
  name: 't',
  version: '1.0.0',
  provides: {files: [{source: 'etc/pipe', target: '/etc/pipe'}]},
}

/** One input, checked by validate and by run (which would run command t). */
export interface SpecialInput {
  slug: string
  description: string
  build(dir: string): Promise<string | {skip: string}>
  code: string
}

export const SPECIAL_INPUTS: SpecialInput[] = [
  {
    slug: 'fifo-entry',
    description: 'a FIFO as command t (run once said the command was not found)',
    build: (dir) => specialPackage(dir, 'bin/t', fifo),
    code: SPECIAL,
  },
  {
    slug: 'socket-entry',
    description: 'a Unix socket as command t',
    build: (dir) => specialPackage(dir, 'bin/t', socket),
    code: SPECIAL,
  },
  {
    slug: 'char-device-entry',
    description: 'a character device (1,3: /dev/null) as command t',
    build: (dir) => specialPackage(dir, 'bin/t', charDevice),
    code: SPECIAL,
  },
  {
    slug: 'dev-null-link-entry',
    description: 'command t a symlink to /dev/null (refused as a link out of the package)',
    build: async (dir) => {
      const pkg = await packageDir(dir)
      await rm(join(pkg, 'bin/t'))
      await link(pkg, 'bin/t', '/dev/null')
      return pkg
    },
    code: 'ERR_AGENTOS_SYMLINK',
  },
  {
    slug: 'fifo-beside-entry',
    description: 'a FIFO no command names, beside a good command t',
    build: (dir) => specialPackage(dir, 'lib/pipe', fifo),
    code: SPECIAL,
  },
  {
    slug: 'fifo-provided-source',
    description: 'a FIFO as a provides.files source (run would copy or mount it)',
    build: (dir) => specialPackage(dir, 'etc/pipe', fifo, PROVIDING),
    code: SPECIAL,
  },
]

const args = async (input: SpecialInput, dir: string, command: (pkg: string) => string[]): Promise<Built> => {
  const pkg = await input.build(dir)
  return typeof pkg === 'string' ? command(pkg) : pkg
}

export const SPECIAL_CASES: BadInputCase[] = SPECIAL_INPUTS.flatMap((input): BadInputCase[] => [
  {
    id: `validate/special-${input.slug}`,
    description: input.description,
    build: (dir) => args(input, dir, (pkg) => ['validate', pkg]),
    exit: 1,
    code: input.code,
  },
  {
    id: `run/special-${input.slug}`,
    description: `${input.description}: refused with validate's code, never opened`,
    build: (dir) => args(input, dir, (pkg) => ['run', pkg, '--', 't']),
    exit: 125,
    code: input.code,
    errorCode: input.code,
    process: true,
  },
])
