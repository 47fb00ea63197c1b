import {compareBytes} from './byte-order.js'
import type {Problem} from '../errors.js'
import {NAME_MAX, normalizePackagePath} from './paths.js'

/** One command of a package: the name linked into `/opt/agentos/bin` and its entry file. */
export interface CommandEntry {
  name: string
  /** Package-relative path of the entry file, normalized (`node_modules/x/cli.js`, `bin/jq`). */
  entry: string
}

/** Where the command list came from (`aospkg`: the manifest chunk of an archive without package.json). */
export type BinSource = 'bin-string' | 'bin-object' | 'bin-dir' | 'aospkg' | 'none'

/** Result of {@link normalizeBin}. */
export interface BinMap {
  commands: CommandEntry[]
  source: BinSource
  problems: Problem[]
}

const CONTROL = /[\u0000-\u001f\u007f]/

/** The unscoped part of an npm name: `@scope/tool` → `tool`. */
export function unscopedName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1)
}

/**
 * Why a command name cannot be linked into `/opt/agentos/bin`, or null when it can. Hidden names
 * (`_x`, `.x`) are not errors: the runtime just never links them.
 */
export function commandNameIssue(name: string): string | null {
  if (name === '') return 'is empty'
  if (name === '.' || name === '..') return `is "${name}"`
  if (name.includes('/')) return 'contains "/"'
  if (name.includes('\0')) return 'contains a NUL byte'
  if (CONTROL.test(name)) return 'contains a control character'
  // Longer names cannot be created as a link in /opt/agentos/bin (nor as bin/<name>).
  if (Buffer.byteLength(name) > NAME_MAX) return `is longer than ${NAME_MAX} bytes`
  return null
}

/**
 * Turns a `package.json` value into the package's command list, the way the agentOS runtime
 * projects it: a string `bin` is one command named after the unscoped package name; an object
 * maps names to entries; names starting with `_` or `.` are never commands; one leading `./` is
 * dropped from entries. Without a `bin` key the runtime lists the top-level files of `bin/`, so
 * `binDirEntries` (names found there) is the fallback; an explicit empty object means no commands.
 *
 * Entries are normalized and checked to stay inside the package; every problem is reported.
 */
export function normalizeBin(packageJson: unknown, binDirEntries: readonly string[] = []): BinMap {
  const problems: Problem[] = []
  const commands: CommandEntry[] = []
  const pkg = (packageJson && typeof packageJson === 'object' ? packageJson : {}) as Record<string, unknown>
  const bin = pkg.bin
  const add = (name: string, rawEntry: string) => addCommand(name, rawEntry, commands, problems)

  let source: BinSource
  if (typeof bin === 'string') {
    source = 'bin-string'
    addBinString(bin, pkg.name, binDirEntries, add, problems)
  } else if (bin && typeof bin === 'object' && !Array.isArray(bin)) {
    source = 'bin-object'
    addBinObject(bin as Record<string, unknown>, add, problems)
  } else if (bin === undefined) {
    source = binDirEntries.length > 0 ? 'bin-dir' : 'none'
    for (const name of binDirEntries) add(name, `bin/${name}`)
    if (source === 'bin-dir') {
      problems.push({
        code: 'WARN_AGENTOS_BIN_MAP_MISSING',
        severity: 'warning',
        path: 'package.json#bin',
        message: 'package.json has no "bin"; commands are taken from the files in bin/',
        hint: 'Declare the commands explicitly: "bin": {"tool": "bin/tool"}.',
      })
    }
  } else {
    source = 'none'
    problems.push({
      code: 'ERR_AGENTOS_BIN_TYPE',
      severity: 'error',
      path: 'package.json#bin',
      message: `bin is ${describeType(bin)}; it must be a path string or an object of name → path`,
      hint: 'Write "bin": {"tool": "bin/tool"}.',
    })
  }
  commands.sort((a, b) => compareBytes(a.name, b.name))
  return {commands, source, problems}
}

/** A string `bin`: one command named after the unscoped package name. */
function addBinString(
  bin: string,
  name: unknown,
  binDirEntries: readonly string[],
  add: (name: string, rawEntry: string) => void,
  problems: Problem[],
): void {
  if (typeof name !== 'string' || name === '') {
    // The runtime then treats the map as absent and falls back to bin/, as without a bin.
    for (const entry of binDirEntries) add(entry, `bin/${entry}`)
    problems.push({
      code: 'ERR_AGENTOS_BIN_NAME_INVALID',
      severity: 'error',
      path: 'package.json#bin',
      message: 'bin is a string but package.json has no "name" to name the command after',
      hint: 'Add a "name", or write bin as an object: {"my-tool": "cli.js"}.',
    })
  } else {
    add(unscopedName(name), bin)
  }
}

/** An object `bin`: name → entry; entries that are not strings are skipped with a warning. */
function addBinObject(
  bin: Record<string, unknown>,
  add: (name: string, rawEntry: string) => void,
  problems: Problem[],
): void {
  for (const [name, entry] of Object.entries(bin)) {
    if (typeof entry !== 'string') {
      problems.push({
        code: 'WARN_AGENTOS_BIN_ENTRY_TYPE',
        severity: 'warning',
        path: `package.json#bin.${name}`,
        message: `bin "${name}" is ${describeType(entry)}, not a path string; it is ignored`,
        hint: 'Make the value a package-relative path such as "bin/tool".',
      })
      continue
    }
    add(name, entry)
  }
}

/** One `bin` entry: a command when its name and entry pass, else a problem. */
function addCommand(name: string, rawEntry: string, commands: CommandEntry[], problems: Problem[]): void {
  const field = `package.json#bin.${name}`
  if (name !== '.' && name !== '..' && (name.startsWith('_') || name.startsWith('.'))) {
    problems.push({
      code: 'INFO_AGENTOS_BIN_HIDDEN',
      severity: 'info',
      path: field,
      message: `bin "${name}" starts with "${name[0]}" and is not linked as a command`,
    })
    return
  }
  const nameIssue = commandNameIssue(name)
  if (nameIssue) {
    problems.push({
      code: 'ERR_AGENTOS_BIN_NAME_INVALID',
      severity: 'error',
      path: `package.json#bin[${JSON.stringify(name)}]`,
      message: `command name ${JSON.stringify(name)} ${nameIssue}`,
      hint: 'Command names become file names in /opt/agentos/bin: use a plain name such as "my-tool".',
    })
    return
  }
  const stripped = rawEntry.startsWith('./') ? rawEntry.slice(2) : rawEntry
  const normalized = normalizePackagePath(stripped)
  if ('issue' in normalized) {
    problems.push({
      code: normalized.issue === 'empty' ? 'ERR_AGENTOS_BIN_ENTRY_MISSING' : 'ERR_AGENTOS_BIN_ENTRY_ESCAPES',
      severity: 'error',
      path: field,
      message:
        normalized.issue === 'empty'
          ? `command "${name}" has an empty entry path`
          : `command "${name}" entry ${JSON.stringify(rawEntry)} is not inside the package (${normalized.issue})`,
      hint: 'Point the bin entry at a file inside the package, relative to package.json.',
    })
    return
  }
  commands.push({name, entry: normalized.path})
}

/** "a number", "an array", "null"… for messages about wrong JSON types. */
export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const t = typeof value
  return t === 'object' ? 'an object' : t === 'undefined' ? 'missing' : `a ${t}`
}
