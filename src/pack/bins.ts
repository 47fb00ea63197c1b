/**
 * The commands of the package being packed: its bin map checked (as written and as npm reads it),
 * each entry found in the package or its hoisted dependencies, made executable, and given a
 * shebang when it is a JS file without one.
 */
import {readFile} from 'node:fs/promises'
import {join, posix} from 'node:path'
import {AgentosError, type Problem} from '../errors.js'
import {type BinMap, normalizeBin} from '../format/bin-map.js'
import {detectHeader} from '../format/header.js'
import {parseJsonLenient} from '../format/json.js'
import type {OutputFile} from '../output/files.js'
import type {PackSource} from './source.js'
import type {FileLookup, Resolved} from './types.js'

/**
 * The commands, with each entry's package path; the bin map's warnings and those of a rewrite.
 * A command entry found in a tree is added to `files`, by path, so that it can be changed.
 */
export async function planCommands(
  resolved: Resolved,
  source: PackSource,
  npmName: string,
  rootOut: string,
  files: OutputFile[],
  lookup: FileLookup,
): Promise<{commands: Array<{name: string; entry: string}>; warnings: Problem[]}> {
  const {root, rootDir} = resolved
  const {planned, inTree, has} = lookup
  const bin = normalizeBin(root.package)
  // npm rewrites unsafe bin names and paths as it reads them ("a/b" → "b", "../x" → "x", ".."
  // dropped): the map as written is judged too, so such a package is refused with the reason
  // instead of being packed under other command names or refused as having no commands.
  const asWritten = normalizeBin(
    parseJsonLenient(await readFile(join(rootDir, 'package.json'), 'utf8').catch(() => '')),
  )
  checkBinMap(bin, asWritten, npmName, rootDir, source)
  const warnings: Problem[] = bin.problems.filter((p) => p.severity !== 'error')
  const commands: Array<{name: string; entry: string}> = []
  for (const command of bin.commands) {
    const entry = resolveBinEntry(command.entry, rootOut, has)
    if (!entry) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_BIN_NOT_FOUND',
        `bin "${command.name}" → ${command.entry} is not in the package or its hoisted dependencies`,
        {
          hint: 'Fix the bin path in package.json, or add the file to the package "files" list.',
          path: join(rootDir, 'package.json'),
        },
      )
    }
    let file = planned.get(entry)
    if (!file) {
      // A command entry in a tree is given by path, so that it can be changed (exec bit, shebang).
      file = inTree(entry)!
      planned.set(entry, file)
      files.push(file)
    }
    file.executable = true
    const rewritten = await addShebang(file, entry, command.name)
    if (rewritten) warnings.push(rewritten)
    commands.push({name: command.name, entry})
  }
  return {commands, warnings}
}

/** Refuses a bin map with errors, as written or as read, and one that declares no commands. */
function checkBinMap(
  bin: BinMap,
  asWritten: BinMap,
  npmName: string,
  rootDir: string,
  source: PackSource,
): void {
  const binErrors = [
    ...asWritten.problems.filter((p) => UNSAFE_BIN_CODES.has(p.code)),
    ...bin.problems.filter((p) => p.severity === 'error'),
  ]
  if (binErrors.length > 0) {
    throw new AgentosError('ERR_AGENTOS_PACK_BIN_INVALID', `${npmName}: ${binErrors[0]!.message}`, {
      hint: binErrors[0]!.hint,
      path: join(rootDir, 'package.json'),
      details: binErrors,
    })
  }
  if (bin.commands.length === 0) {
    throw new AgentosError(
      'ERR_AGENTOS_PACK_NO_BIN',
      `${npmName} declares no commands in package.json "bin"`,
      {
        hint:
          source.kind === 'directory'
            ? 'Add "bin": {"my-tool": "cli.js"} to the package.json of the project.'
            : `${source.spec} is a library, not a command: pack a project that depends on it and declares a "bin" that uses it.`,
        path: join(rootDir, 'package.json'),
      },
    )
  }
}

/**
 * Gives a JS command entry without a shebang one, returning the warning that says so.
 */
async function addShebang(file: OutputFile, entry: string, command: string): Promise<Problem | undefined> {
  const bytes = typeof file.source === 'string' ? await readFile(file.source) : Buffer.from(file.source)
  const header = detectHeader(bytes.subarray(0, 4096))
  if (header.kind === 'unknown' && !header.bomShebang && /\.(c|m)?js$/.test(entry)) {
    // A JS entry without a shebang cannot be executed by the runtime's header dispatch.
    file.source = Buffer.concat([Buffer.from('#!/usr/bin/env node\n'), bytes])
    return {
      code: 'WARN_AGENTOS_PACK_SHEBANG_ADDED',
      severity: 'warning',
      path: entry,
      message: `added "#!/usr/bin/env node" to ${entry} (command "${command}")`,
      hint: 'Add the shebang to the source file so the package works without this rewrite.',
    }
  }
  return undefined
}

// Bin problems of the map as written that npm's rewriting would hide (see planCommands()).
const UNSAFE_BIN_CODES = new Set(['ERR_AGENTOS_BIN_NAME_INVALID', 'ERR_AGENTOS_BIN_ENTRY_ESCAPES'])

/**
 * A bin entry as the runtime resolves it: inside the package first, then — for wrapper packages
 * whose bin points into their own `node_modules/` — the hoisted copy, walking up like Node does.
 */
function resolveBinEntry(entry: string, rootOut: string, has: (path: string) => boolean): string | undefined {
  const direct = posix.normalize(`${rootOut}/${entry}`)
  if (has(direct)) return direct
  const match = /^(?:\.\/)?node_modules\/(.+)$/.exec(entry)
  if (match) {
    const hoisted = posix.normalize(`node_modules/${match[1]}`)
    if (has(hoisted)) return hoisted
  }
  return undefined
}
