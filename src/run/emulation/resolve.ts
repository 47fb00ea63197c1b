import {access, constants, open, realpath} from 'node:fs/promises'
import {posix} from 'node:path'
import {
  describeKind,
  detectHeader,
  type HeaderInfo,
  HEADER_BYTES,
  PE_PROBE_BYTES,
} from '../../format/header.js'
import {RUN_EXIT} from '../errors.js'
import {hostNode, hostNodeVersion} from '../../util/host-node.js'
import {isWithin} from '../../util/paths.js'
import {type RunPackage} from '../vm/mount.js'
import {AGENTOS_BIN, AGENTOS_PKGS, packageMount, type Vm} from '../vm/vm.js'

/**
 * Commands the VM itself provides in its system directories (the runtime registers them as kernel
 * commands with stub files in /bin). Here they are the host's: the emulation's stand-in.
 */
export const SYSTEM_COMMANDS: Readonly<Record<string, () => string>> = Object.freeze({
  '/bin/node': hostNode,
  '/bin/sh': () => '/bin/sh',
})

/** How a resolved command runs. */
export type Executor = 'wasi' | 'node' | 'interpreter' | 'system'

/** One step of the `$PATH` walk. */
export interface SearchStep {
  vmPath: string
  result: 'found' | 'absent' | 'not-executable'
}

/** The interpreter named by a `#!` line, and what runs it here. */
export interface InterpreterInfo {
  /** Literal path from the `#!` line. */
  path: string
  /** The single argument, when the line has one. */
  argument?: string
  /** `node`: this CLI's Node.js; `host`: the host file at that path; `package`: a VM command. */
  via: 'node' | 'host' | 'package'
  /** Host file that runs. */
  hostPath?: string
  /** Node.js version, for `via: node`. */
  version?: string
}

/** What a command name resolves to in the VM, as `--which` prints it. */
export interface Resolution {
  command: string
  lookup: 'path' | 'direct'
  /** The VM's `$PATH`, split. */
  path: string[]
  search: SearchStep[]
  /** VM path where the command was found (`/opt/agentos/bin/x`). */
  vmPath?: string
  /** VM path of the file that runs, after the command link (`/opt/agentos/pkgs/pkg/current/cli.js`). */
  target?: string
  /** {@link target} with `current` resolved (`/opt/agentos/pkgs/pkg/1.0.0/cli.js`). */
  resolved?: string
  package?: {name: string; version?: string; dir: string}
  /** Package-relative entry. */
  entry?: string
  /** Host file behind `target`. */
  hostPath?: string
  kind?: HeaderInfo['kind'] | 'missing' | 'system'
  description?: string
  interpreter?: InterpreterInfo
  executor?: Executor
  /** Why it cannot run, when it cannot. */
  error?: {code: string; message: string; hint: string; exitCode: number}
}

/** What a VM path is, as far as running it goes. */
type VmFile =
  | {type: 'package'; pkg: RunPackage; rel: string; hostPath: string; target: string; resolved: string}
  | {type: 'system'; hostPath: string}
  | {type: 'overlay'; hostPath: string}
  | {type: 'none'}

/**
 * Looks a VM path up in the mount table: a command link, a file inside a package mount, an
 * overlay, or one of the system commands.
 */
function lookupVmPath(vm: Vm, vmPath: string): VmFile {
  if (vmPath.startsWith(`${AGENTOS_BIN}/`)) {
    const link = vm.links.get(vmPath.slice(AGENTOS_BIN.length + 1))
    if (!link) return {type: 'none'}
    return {
      type: 'package',
      pkg: link.package,
      rel: link.command.entry,
      hostPath: link.command.hostPath,
      target: link.target,
      resolved: link.resolved,
    }
  }
  if (vmPath.startsWith(`${AGENTOS_PKGS}/`)) {
    const [name, version, ...rest] = vmPath.slice(AGENTOS_PKGS.length + 1).split('/')
    const pkg = vm.packages.find((candidate) => candidate.name === name)
    if (!pkg || (version !== pkg.version && version !== 'current') || rest.length === 0) return {type: 'none'}
    const rel = rest.join('/')
    return {
      type: 'package',
      pkg,
      rel,
      hostPath: posix.join(pkg.dir, rel),
      target: vmPath,
      resolved: posix.join(packageMount(pkg), rel),
    }
  }
  for (const overlay of vm.overlays) {
    if (vmPath === overlay.target || vmPath.startsWith(`${overlay.target}/`)) {
      return {type: 'overlay', hostPath: overlay.hostSource + vmPath.slice(overlay.target.length)}
    }
  }
  const system = SYSTEM_COMMANDS[vmPath]
  return system ? {type: 'system', hostPath: system()} : {type: 'none'}
}

interface FileFacts {
  exists: boolean
  executable: boolean
  header: HeaderInfo
}

async function fileFacts(hostPath: string, insideDir?: string): Promise<FileFacts> {
  const none: FileFacts = {exists: false, executable: false, header: {kind: 'unknown'}}
  const real = await realpath(hostPath).catch(() => undefined)
  if (!real || (insideDir && !isWithin(insideDir, real))) return none
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    handle = await open(real, 'r')
    const info = await handle.stat()
    if (!info.isFile()) return none
    const buffer = Buffer.alloc(Math.min(info.size, PE_PROBE_BYTES))
    const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
    let head = buffer.subarray(0, bytesRead)
    if (!(head[0] === 0x4d && head[1] === 0x5a)) head = head.subarray(0, HEADER_BYTES)
    return {exists: true, executable: (info.mode & 0o111) !== 0, header: detectHeader(head)}
  } catch {
    return none
  } finally {
    await handle?.close()
  }
}

const MAX_INTERPRETER_DEPTH = 4

/**
 * Resolves a command the way the VM does: a name containing `/` is a path (relative to the guest
 * cwd); any other name is searched along the guest `$PATH`, left to right, skipping matches
 * without an exec bit. The header of what is found picks the executor. Never throws for a command
 * that cannot run: `error` says why, so `--which` can still show the walk.
 */
export async function resolveCommand(vm: Vm, command: string): Promise<Resolution> {
  const path = (vm.env.PATH ?? '').split(':')
  const resolution: Resolution = {
    command,
    lookup: command.includes('/') ? 'direct' : 'path',
    path,
    search: [],
  }
  const fail = (code: string, message: string, hint: string, exitCode: number) => {
    resolution.error = {code, message, hint, exitCode}
    return resolution
  }
  if (command === '') {
    return fail(
      'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND',
      'the command name is empty',
      'Name a command.',
      RUN_EXIT.notFound,
    )
  }

  let found: {vmPath: string; file: Exclude<VmFile, {type: 'none'}>; facts: FileFacts} | undefined
  let skipped: string | undefined
  const candidates =
    resolution.lookup === 'direct'
      ? [posix.resolve(vm.cwd, command)]
      : path.map((dir) => posix.join(dir === '' ? vm.cwd : dir, command))
  for (const vmPath of candidates) {
    const file = lookupVmPath(vm, vmPath)
    const facts =
      file.type === 'none'
        ? undefined
        : await fileFacts(file.hostPath, file.type === 'package' ? file.pkg.dir : undefined)
    if (!facts?.exists) {
      resolution.search.push({vmPath, result: 'absent'})
      continue
    }
    if (!facts.executable && resolution.lookup === 'path') {
      resolution.search.push({vmPath, result: 'not-executable'})
      skipped ??= vmPath
      continue
    }
    resolution.search.push({vmPath, result: 'found'})
    found = {vmPath, file: file as Exclude<VmFile, {type: 'none'}>, facts}
    break
  }

  if (!found) {
    if (skipped) {
      return fail(
        'ERR_AGENTOS_RUN_NOT_EXECUTABLE',
        `${skipped} is not executable`,
        'Set the exec bit on the command entry (pack sets 0755 on every command).',
        RUN_EXIT.cannotExecute,
      )
    }
    const names = [...vm.links.keys()]
    return fail(
      'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND',
      resolution.lookup === 'direct'
        ? `${candidates[0]} does not exist in the VM`
        : `command "${command}" was not found on the VM's PATH`,
      names.length > 0
        ? `Commands in this VM: ${names.join(', ')} (and the system's node, sh).`
        : 'None of the packages links a command; check their package.json "bin".',
      RUN_EXIT.notFound,
    )
  }

  const {file, facts} = found
  resolution.vmPath = found.vmPath
  resolution.hostPath = file.hostPath
  if (file.type === 'package') {
    resolution.target = file.target
    resolution.resolved = file.resolved
    resolution.package = {name: file.pkg.name, version: file.pkg.version, dir: file.pkg.dir}
    resolution.entry = file.rel
  }
  if (file.type === 'system') {
    resolution.kind = 'system'
    resolution.description =
      file.hostPath === hostNode() ? `Node.js ${hostNodeVersion() ?? ''}`.trim() : 'system shell'
    resolution.executor = 'system'
    return resolution
  }
  if (!facts.executable) {
    return fail(
      'ERR_AGENTOS_RUN_NOT_EXECUTABLE',
      `${found.vmPath} is not executable`,
      'Set the exec bit on the file (pack sets 0755 on every command).',
      RUN_EXIT.cannotExecute,
    )
  }
  return classify(vm, resolution, facts.header, 0)
}

async function classify(
  vm: Vm,
  resolution: Resolution,
  header: HeaderInfo,
  depth: number,
): Promise<Resolution> {
  resolution.kind ??= header.kind
  resolution.description ??= describeKind(header)
  const where = resolution.target ?? resolution.vmPath
  const fail = (code: string, message: string, hint: string) => {
    resolution.error = {code, message, hint, exitCode: RUN_EXIT.cannotExecute}
    return resolution
  }
  switch (header.kind) {
    case 'wasm':
      if (header.wasmLayer !== 'core') {
        return fail(
          'ERR_AGENTOS_RUN_WASM_UNSUPPORTED',
          `${where} is a ${describeKind(header)}; agentOS runs WASI preview1 core modules`,
          'Build a core module for wasm32-wasip1 (clang --target=wasm32-wasi, cargo --target wasm32-wasip1).',
        )
      }
      resolution.executor = 'wasi'
      return resolution
    case 'elf':
    case 'macho':
    case 'pe':
      return fail(
        'ERR_AGENTOS_RUN_NATIVE',
        `${where} is a ${describeKind(header)}: native binaries cannot run in agentOS`,
        'Compile the command to WebAssembly (wasm32-wasi) or write it for Node.js.',
      )
    case 'shebang':
      return classifyShebang(vm, resolution, header, depth)
    default:
      return fail(
        'ERR_AGENTOS_RUN_UNKNOWN_HEADER',
        header.bomShebang
          ? `${where} starts with a byte order mark before "#!", so the VM sees no interpreter`
          : `${where} has no "#!" line and is not WebAssembly, so the VM cannot execute it`,
        header.bomShebang
          ? 'Save the file without BOM.'
          : 'Add a first line such as "#!/usr/bin/env node", or ship a WebAssembly module.',
      )
  }
}

async function classifyShebang(
  vm: Vm,
  resolution: Resolution,
  header: HeaderInfo,
  depth: number,
): Promise<Resolution> {
  const shebang = header.shebang!
  const fail = (code: string, message: string, hint: string) => {
    resolution.error = {code, message, hint, exitCode: RUN_EXIT.cannotExecute}
    return resolution
  }
  const interpreter: InterpreterInfo = {path: shebang.interpreter, via: 'host'}
  if (shebang.argument !== undefined) interpreter.argument = shebang.argument
  resolution.interpreter ??= interpreter
  if (!shebang.interpreter.startsWith('/')) {
    return fail(
      'ERR_AGENTOS_RUN_INTERPRETER_NOT_FOUND',
      `the "#!" line names "${shebang.interpreter}", not an absolute path; the VM never searches $PATH for interpreters`,
      'Write "#!/usr/bin/env node" (env searches $PATH).',
    )
  }
  if (isNodeInterpreter(shebang.interpreter, shebang.argument)) {
    interpreter.via = 'node'
    interpreter.hostPath = hostNode()
    interpreter.version = hostNodeVersion()
    resolution.executor = 'node'
    return resolution
  }
  const file = lookupVmPath(vm, shebang.interpreter)
  if (file.type === 'package') {
    // An interpreter that is itself a package command (`#!/opt/agentos/bin/python3`): the runtime
    // chains interpreters, up to a small depth.
    if (depth + 1 >= MAX_INTERPRETER_DEPTH) {
      return fail(
        'ERR_AGENTOS_RUN_INTERPRETER_LOOP',
        'interpreters chain too deep (ELOOP)',
        'Point "#!" at a real interpreter.',
      )
    }
    const facts = await fileFacts(file.hostPath, file.pkg.dir)
    if (!facts.exists) {
      return fail(
        'ERR_AGENTOS_RUN_INTERPRETER_NOT_FOUND',
        `interpreter ${shebang.interpreter} does not exist in the VM`,
        'Add the package that provides it.',
      )
    }
    interpreter.via = 'package'
    interpreter.hostPath = file.hostPath
    resolution.executor = undefined
    const inner = await classify(
      vm,
      {
        ...resolution,
        kind: undefined,
        description: undefined,
        interpreter: undefined,
        target: shebang.interpreter,
      },
      facts.header,
      depth + 1,
    )
    if (inner.error) return fail(inner.error.code, inner.error.message, inner.error.hint)
    if (inner.executor !== 'wasi' && inner.executor !== 'node') {
      return fail(
        'ERR_AGENTOS_RUN_INTERPRETER_CHAIN',
        `interpreter ${shebang.interpreter} is itself a script for another interpreter`,
        'This emulation chains one level: point "#!" at a WebAssembly or Node.js command.',
      )
    }
    resolution.executor = inner.executor
    return resolution
  }
  const hostPath = file.type === 'none' ? shebang.interpreter : file.hostPath
  const usable = await access(hostPath, constants.X_OK).then(
    () => true,
    () => false,
  )
  if (!usable) {
    return fail(
      'ERR_AGENTOS_RUN_INTERPRETER_NOT_FOUND',
      `interpreter ${JSON.stringify(shebang.interpreter)} does not exist in the VM`,
      shebang.crlf
        ? 'The "#!" line ends in CRLF, so the interpreter name ends in "\\r": convert the file to LF.'
        : 'Use "#!/usr/bin/env node" or "#!/bin/sh".',
    )
  }
  interpreter.hostPath = hostPath
  resolution.executor = 'interpreter'
  return resolution
}

/** `#!/usr/bin/env node`, `#!/usr/bin/env -S node --flag`, `#!/usr/bin/node`: Node.js runs it. */
export function isNodeInterpreter(interpreter: string, argument?: string): boolean {
  const base = posix.basename(interpreter)
  if (base === 'node' || base === 'nodejs') return true
  if (base !== 'env' || argument === undefined) return false
  return /^(-S\s+)?(node|nodejs)(\s|$)/.test(argument) && (argument.startsWith('-S') || !/\s/.test(argument))
}

/** Arguments Node.js gets before the script, from the `#!` line (`env -S node --flag` → `--flag`). */
export function nodeOptionsFromShebang(interpreter: string, argument?: string): string[] {
  if (argument === undefined) return []
  if (posix.basename(interpreter) === 'env')
    return argument
      .replace(/^-S\s+/, '')
      .split(/\s+/)
      .slice(1)
  return [argument]
}
