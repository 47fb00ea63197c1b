import {chmod, cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, isAbsolute, join, posix, relative, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {watFileToWasm} from './wasm.js'

/** Repository root (two levels above test/helpers). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** Folder of the WebAssembly text sources used by `wat` steps. */
export const WAT_DIR = join(REPO_ROOT, 'fixtures', 'wat')

/** One step applied to a fixture's copy before it is validated. */
export type Step =
  | {op: 'write'; path: string; hex: string; mode?: string}
  | {op: 'write'; path: string; text: string; mode?: string}
  | {op: 'chmod'; path: string; mode: string}
  | {op: 'symlink'; path: string; target: string}
  | {op: 'mkdir'; path: string}
  | {
      op: 'wat'
      path: string
      wat: string
      mode?: string
      truncate?: number
      patchHex?: {offset: number; hex: string}
    }
  | {op: 'remove'; path: string}

/** `expected.json` of a fixture case. */
export interface Expected {
  description: string
  ok: boolean
  /** Exact sorted set of distinct error and warning codes. */
  codes: string[]
  /** Exact sorted set of distinct info codes; only asserted when given. */
  infos?: string[]
  strict?: boolean
  prepare?: Step[]
  /** The validator is known to disagree with the spec here; the runner expects the case to fail. */
  knownBug?: string
}

/** A prepared fixture: a temporary package directory and what validating it must report. */
export interface PreparedFixture {
  dir: string
  expected: Expected
  cleanup(): Promise<void>
}

/** Resolves a step path inside `root`, refusing absolute paths and `..` segments. */
function inside(root: string, path: unknown): string {
  if (typeof path !== 'string' || path === '') throw new Error(`fixture step path must be a string: ${path}`)
  if (isAbsolute(path) || path.includes('\\') || path.split('/').includes('..')) {
    throw new Error(`fixture step path must stay inside the package: ${path}`)
  }
  const full = resolve(root, posix.normalize(path))
  const rel = relative(root, full)
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new Error(`fixture step path must name something inside the package: ${path}`)
  }
  return full
}

function parseMode(mode: string | undefined): number | undefined {
  if (mode === undefined) return undefined
  if (!/^[0-7]{3,4}$/.test(mode)) throw new Error(`fixture mode must be an octal string: ${mode}`)
  return Number.parseInt(mode, 8)
}

function parseHex(hex: string): Buffer {
  const clean = hex.replace(/\s+/g, '')
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`fixture hex is malformed: ${hex}`)
  return Buffer.from(clean, 'hex')
}

async function writeBytes(file: string, bytes: Uint8Array | string, mode: string | undefined) {
  await mkdir(dirname(file), {recursive: true})
  await writeFile(file, bytes)
  const parsed = parseMode(mode)
  if (parsed !== undefined) await chmod(file, parsed)
}

/** Applies one {@link Step} inside `root`. */
export async function applyStep(root: string, step: Step): Promise<void> {
  const target = inside(root, step.path)
  switch (step.op) {
    case 'write':
      if ('hex' in step) await writeBytes(target, parseHex(step.hex), step.mode)
      else await writeBytes(target, step.text, step.mode)
      return
    case 'chmod':
      await chmod(target, parseMode(step.mode)!)
      return
    case 'symlink':
      await mkdir(dirname(target), {recursive: true})
      await symlink(step.target, target)
      return
    case 'mkdir':
      await mkdir(target, {recursive: true})
      return
    case 'wat': {
      if (step.wat.includes('/') || step.wat.includes('\\'))
        throw new Error(`wat must be a file name: ${step.wat}`)
      let bytes = Buffer.from(await watFileToWasm(join(WAT_DIR, step.wat)))
      if (step.patchHex) {
        const patch = parseHex(step.patchHex.hex)
        if (step.patchHex.offset < 0 || step.patchHex.offset + patch.length > bytes.length) {
          throw new Error(`patchHex is outside the module (${bytes.length} bytes)`)
        }
        patch.copy(bytes, step.patchHex.offset)
      }
      if (step.truncate !== undefined) bytes = bytes.subarray(0, step.truncate)
      await writeBytes(target, bytes, step.mode)
      return
    }
    case 'remove':
      await rm(target, {recursive: true, force: false})
      return
    default:
      throw new Error(`unknown fixture step ${JSON.stringify(step)}`)
  }
}

/**
 * Copies `<caseDir>/package/` (or nothing, when absent) into a fresh temporary directory, keeping
 * modes and symlinks verbatim, then applies the `prepare` steps of `<caseDir>/expected.json`.
 */
export async function prepareFixture(caseDir: string): Promise<PreparedFixture> {
  const expected = JSON.parse(await readFile(join(caseDir, 'expected.json'), 'utf8')) as Expected
  const base = await mkdtemp(join(tmpdir(), 'agentos-fixture-'))
  const dir = join(base, 'package')
  const cleanup = () => rm(base, {recursive: true, force: true})
  try {
    const source = join(caseDir, 'package')
    const hasPackage = await stat(source).then(
      (info) => info.isDirectory(),
      () => false,
    )
    if (hasPackage) {
      await cp(source, dir, {recursive: true, preserveTimestamps: true, verbatimSymlinks: true})
    } else {
      await mkdir(dir)
    }
    for (const step of expected.prepare ?? []) await applyStep(dir, step)
  } catch (error) {
    await cleanup()
    throw error
  }
  return {dir, expected, cleanup}
}
