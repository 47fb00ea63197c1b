/**
 * The package's commands: the bin map (package.json's, or an archive's chunk 1) and what each
 * entry file turns out to be.
 */
import {posix} from 'node:path'
import type {Problem} from '../../errors.js'
import {type BinMap, type CommandEntry, normalizeBin} from '../../format/bin-map.js'
import {describeKind, detectHeader, type HeaderInfo, isNativeKind, type Shebang} from '../../format/header.js'
import type {CommandInfo} from '../model.js'
import type {PackageEntry, PackageSnapshot} from '../snapshot.js'
import {containerBin} from './container-bin.js'

/** The commands of a package, checked, with the bin map they come from. */
export interface PackageCommands {
  bin: BinMap
  /** There is a bin map at all (a package.json, or an archive's command list). */
  hasBinMap: boolean
  commands: CommandInfo[]
}

/** Reads the bin map and checks every command's entry file. */
export function packageCommands(
  snapshot: PackageSnapshot,
  packageJson: Record<string, unknown> | undefined,
  problems: Problem[],
): PackageCommands {
  const binDir = snapshot.entries
    .filter((e) => e.path.startsWith('bin/') && !e.path.slice(4).includes('/') && e.kind !== 'dir')
    .map((e) => e.path.slice(4))
  const bin = snapshot.container
    ? containerBin(snapshot.container, snapshot, packageJson, binDir)
    : packageJson
      ? normalizeBin(packageJson, binDir)
      : {commands: [], source: 'none' as const, problems: []}
  const hasBinMap = packageJson !== undefined || snapshot.container !== undefined
  problems.push(...bin.problems)
  const commands = bin.commands.map((command) => checkCommandEntry(command, snapshot.byPath, problems))
  return {bin, hasBinMap, commands}
}

/** A bin map without commands (and without errors of its own that explain why) is a warning. */
export function checkHasCommands({bin, hasBinMap, commands}: PackageCommands, problems: Problem[]): void {
  if (hasBinMap && commands.length === 0 && !bin.problems.some((p) => p.severity === 'error')) {
    problems.push({
      code: 'WARN_AGENTOS_NO_COMMANDS',
      severity: 'warning',
      path: 'package.json#bin',
      message: 'the package declares no commands',
      hint: 'Add a "bin" map so the commands are linked into /opt/agentos/bin.',
    })
  }
}

/**
 * What a command's entry is (a real file, not reached through a symlink), and whether the runtime
 * can execute it: mode, header, shebang, WebAssembly layer.
 */
export function checkCommandEntry(
  command: CommandEntry,
  byPath: Map<string, PackageEntry>,
  problems: Problem[],
): CommandInfo {
  const field = `package.json#bin.${command.name}`
  const info: CommandInfo = {...command, kind: 'missing', description: 'missing', size: 0, mode: 0}
  const linkedAncestor = ancestors(command.entry).find((dir) => byPath.get(dir)?.kind === 'symlink')
  const entry = byPath.get(command.entry)
  if (linkedAncestor || entry?.kind === 'symlink') {
    const link = byPath.get(linkedAncestor ?? command.entry)!
    info.kind = 'symlink'
    info.description = `symlink → ${link.linkTarget}`
    problems.push({
      code: 'ERR_AGENTOS_BIN_ENTRY_SYMLINK',
      severity: 'error',
      path: field,
      message: `command "${command.name}" entry ${command.entry} goes through the symlink ${link.path} → ${link.linkTarget}`,
      hint: 'Point bin at the real file: npm publish and the package mount drop symlinks.',
    })
    return info
  }
  if (!entry) {
    problems.push({
      code: 'ERR_AGENTOS_BIN_ENTRY_MISSING',
      severity: 'error',
      path: field,
      message: `command "${command.name}" entry ${command.entry} does not exist`,
      hint: 'Fix the bin path, or add the file to the package.',
    })
    return info
  }
  if (entry.kind === 'dir') {
    info.kind = 'directory'
    info.description = 'directory'
    problems.push({
      code: 'ERR_AGENTOS_BIN_ENTRY_DIRECTORY',
      severity: 'error',
      path: field,
      message: `command "${command.name}" entry ${command.entry} is a directory`,
      hint: 'Point bin at the executable file inside it.',
    })
    return info
  }
  if (entry.kind === 'other') {
    // A FIFO, socket or device (tree.ts reports it): it has no header or mode worth judging, and
    // reading it for one could block.
    info.kind = 'special'
    info.description = 'device, FIFO or socket'
    return info
  }
  info.size = entry.size
  info.mode = entry.mode
  const header = detectHeader(entry.head ?? Buffer.alloc(0))
  info.header = header
  info.kind = header.kind
  info.description = describeKind(header)
  const push: Report = (code, message, hint, severity = 'error') =>
    problems.push({
      code,
      severity,
      path: field,
      message: `command "${command.name}" (${command.entry}) ${message}`,
      hint,
    })
  checkExecutable(command, entry, header, push)
  return info
}

/** Adds a problem about one command (an error unless `severity` says otherwise). */
type Report = (code: string, message: string, hint: string, severity?: Problem['severity']) => void

function checkExecutable(command: CommandEntry, entry: PackageEntry, header: HeaderInfo, push: Report): void {
  if ((entry.mode & 0o111) === 0) {
    push(
      'ERR_AGENTOS_BIN_NOT_EXECUTABLE',
      `is not executable (mode ${entry.mode.toString(8).padStart(4, '0')})`,
      `chmod +x ${command.entry} (pack sets 0755 on every command).`,
    )
  }
  if (header.bomShebang) {
    push(
      'ERR_AGENTOS_BIN_BOM',
      'starts with a UTF-8 byte order mark before "#!", so the runtime sees no shebang',
      'Save the file without BOM.',
    )
  } else if (isNativeKind(header.kind)) {
    push(
      'ERR_AGENTOS_BIN_NATIVE',
      `is a ${describeKind(header)}, which cannot run in agentOS`,
      'Compile the command to WebAssembly (wasm32-wasi) or write it for Node.js.',
    )
  } else if (header.kind === 'unknown') {
    push(
      'ERR_AGENTOS_BIN_UNKNOWN_HEADER',
      entry.size === 0 ? 'is empty' : 'has no recognized header (#!, \\0asm)',
      /\.(c|m)?js$/.test(command.entry) || command.entry.includes('node_modules/')
        ? `Add "#!/usr/bin/env node" as the first line of ${command.entry}.`
        : `Add a "#!" line naming the interpreter (e.g. "#!/usr/bin/env node") or ship a WebAssembly module.`,
    )
  } else if (header.kind === 'shebang') {
    checkShebang(header.shebang!, push)
  } else if (header.kind === 'wasm') {
    if (header.wasmLayer === 'component') {
      push(
        'ERR_AGENTOS_BIN_WASM_COMPONENT',
        'is a WebAssembly component; a component needs a WASI preview2 runtime',
        'Build a core module for wasm32-wasip1 (wasm32-wasi).',
      )
    } else if (header.wasmLayer !== 'core') {
      push(
        'ERR_AGENTOS_BIN_WASM_VERSION',
        `is WebAssembly with unknown version bytes ${header.wasmVersion || '(truncated)'}`,
        'Rebuild the module; a core module starts with 00 61 73 6d 01 00 00 00.',
      )
    }
  }
}

/** The runtime's shebang handling: an absolute interpreter, one argument, LF, 256 bytes. */
function checkShebang(shebang: Shebang, push: Report): void {
  if (shebang.interpreter === '' || !shebang.interpreter.startsWith('/')) {
    push(
      'ERR_AGENTOS_BIN_SHEBANG_INVALID',
      shebang.interpreter === ''
        ? 'has a "#!" line without an interpreter'
        : `names the interpreter "${shebang.interpreter}", which is not an absolute path`,
      'The runtime does not search $PATH for interpreters: write "#!/usr/bin/env node".',
    )
  } else if (
    posix.basename(shebang.interpreter) === 'env' &&
    shebang.argument &&
    /[ \t]/.test(shebang.argument) &&
    !shebang.argument.startsWith('-S')
  ) {
    push(
      'ERR_AGENTOS_BIN_SHEBANG_ENV_ARGS',
      `passes "${shebang.argument}" to env as one argument, so env looks for a program of that name`,
      'The runtime passes at most one argument: drop the extra flags, or use "#!/usr/bin/env -S node --flag".',
    )
  }
  if (shebang.crlf) {
    push(
      'ERR_AGENTOS_BIN_SHEBANG_CRLF',
      'has a "#!" line ending in CRLF, so the runtime looks for an interpreter name ending in "\\r"',
      'Convert the file to LF line endings.',
    )
  }
  if (shebang.truncated) {
    push(
      'WARN_AGENTOS_BIN_SHEBANG_TRUNCATED',
      'has a "#!" line longer than the 256 bytes the runtime reads',
      'Shorten the interpreter line.',
      'warning',
    )
  }
}

function ancestors(path: string): string[] {
  const parts = path.split('/')
  return parts.slice(0, -1).map((_, index) => parts.slice(0, index + 1).join('/'))
}
