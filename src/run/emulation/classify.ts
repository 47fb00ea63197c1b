/**
 * The executor of a file found in the VM, from its header: WebAssembly runs on the WASI runner,
 * `#!` names an interpreter (Node.js, a host program, or a package command chained to), native
 * binaries and anything else cannot run.
 */
import {access, constants} from 'node:fs/promises'
import {posix} from 'node:path'
import {describeKind, type HeaderInfo} from '../../format/header.js'
import {RUN_EXIT} from '../errors.js'
import {hostNode, hostNodeVersion} from '../../util/host-node.js'
import type {Vm} from '../vm/vm.js'
import type {InterpreterInfo, Resolution, VmFile} from './resolution.js'
import {fileFacts, lookupVmPath} from './resolution.js'

const MAX_INTERPRETER_DEPTH = 4

/** `fail(code, message, hint)`: records why `resolution` cannot run, and returns it. */
function failer(resolution: Resolution): (code: string, message: string, hint: string) => Resolution {
  return (code, message, hint) => {
    resolution.error = {code, message, hint, exitCode: RUN_EXIT.cannotExecute}
    return resolution
  }
}

/** Picks the executor of a found file from its header, or says in `error` why it cannot run. */
export async function classify(
  vm: Vm,
  resolution: Resolution,
  header: HeaderInfo,
  depth: number,
): Promise<Resolution> {
  resolution.kind ??= header.kind
  resolution.description ??= describeKind(header)
  const where = resolution.target ?? resolution.vmPath
  const fail = failer(resolution)
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

/** The executor of a `#!` script: Node.js, a host interpreter, or a chained package command. */
async function classifyShebang(
  vm: Vm,
  resolution: Resolution,
  header: HeaderInfo,
  depth: number,
): Promise<Resolution> {
  const shebang = header.shebang!
  const fail = failer(resolution)
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
  if (file.type === 'package') return chainInterpreter(vm, resolution, interpreter, file, depth)
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

/** Chains to the package command a `#!` line names: the command runs on that command's executor. */
async function chainInterpreter(
  vm: Vm,
  resolution: Resolution,
  interpreter: InterpreterInfo,
  file: Extract<VmFile, {type: 'package'}>,
  depth: number,
): Promise<Resolution> {
  const fail = failer(resolution)
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
      `interpreter ${interpreter.path} does not exist in the VM`,
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
      target: interpreter.path,
    },
    facts.header,
    depth + 1,
  )
  if (inner.error) return fail(inner.error.code, inner.error.message, inner.error.hint)
  if (inner.executor !== 'wasi' && inner.executor !== 'node') {
    return fail(
      'ERR_AGENTOS_RUN_INTERPRETER_CHAIN',
      `interpreter ${interpreter.path} is itself a script for another interpreter`,
      'This emulation chains one level: point "#!" at a WebAssembly or Node.js command.',
    )
  }
  resolution.executor = inner.executor
  return resolution
}

/** `#!/usr/bin/env node`, `#!/usr/bin/env -S node --flag`, `#!/usr/bin/node`: Node.js runs it. */
export function isNodeInterpreter(interpreter: string, argument?: string): boolean {
  const base = posix.basename(interpreter)
  if (base === 'node' || base === 'nodejs') return true
  if (base !== 'env' || argument === undefined) return false
  return /^(-S\s+)?(node|nodejs)(\s|$)/.test(argument) && (argument.startsWith('-S') || !/\s/.test(argument))
}
