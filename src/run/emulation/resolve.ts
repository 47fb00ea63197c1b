/**
 * Command resolution as the VM does it: the `$PATH` walk here, what a VM path is in resolution.ts,
 * and the executor a found file's header picks in classify.ts.
 */
import {posix} from 'node:path'
import {RUN_EXIT} from '../errors.js'
import {hostNode, hostNodeVersion} from '../../util/host-node.js'
import type {Vm} from '../vm/vm.js'
import {classify} from './classify.js'
import {fileFacts, type FileFacts, lookupVmPath, type Resolution, type VmFile} from './resolution.js'

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

  const candidates =
    resolution.lookup === 'direct'
      ? [posix.resolve(vm.cwd, command)]
      : path.map((dir) => posix.join(dir === '' ? vm.cwd : dir, command))
  const {found, skipped} = await search(vm, resolution, candidates)
  if (!found) return notFound(vm, resolution, candidates, skipped)

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
  if (facts.special) {
    // validate's code for the same file; the exit code of a package that cannot be used.
    return fail(
      'ERR_AGENTOS_SPECIAL_FILE',
      `${found.vmPath} (${file.hostPath}) is a ${facts.special} (a special file), not a command`,
      'Make the command entry a regular file (`agentos-toolchain validate` lists the special files).',
      RUN_EXIT.failed,
    )
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

/** A file found on the walk. */
interface Found {
  vmPath: string
  file: Exclude<VmFile, {type: 'none'}>
  facts: FileFacts
}

/**
 * Walks the candidates, recording each step in `resolution.search`: the first that exists (and,
 * searched on `$PATH`, is executable), and the first skipped for a missing exec bit.
 */
async function search(
  vm: Vm,
  resolution: Resolution,
  candidates: string[],
): Promise<{found?: Found; skipped?: string}> {
  let skipped: string | undefined
  for (const vmPath of candidates) {
    const file = lookupVmPath(vm, vmPath)
    const facts =
      file.type === 'none'
        ? undefined
        : await fileFacts(file.hostPath, file.type === 'package' ? file.pkg.dir : undefined)
    // A FIFO, socket or device is there, just not runnable: "not found" would send the user
    // looking for a file that exists.
    if (facts?.special) {
      resolution.search.push({vmPath, result: 'found'})
      return {found: {vmPath, file: file as Exclude<VmFile, {type: 'none'}>, facts}, skipped}
    }
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
    return {found: {vmPath, file: file as Exclude<VmFile, {type: 'none'}>, facts}, skipped}
  }
  return {skipped}
}

/** The resolution of a command the walk did not find. */
function notFound(
  vm: Vm,
  resolution: Resolution,
  candidates: string[],
  skipped: string | undefined,
): Resolution {
  const fail = (code: string, message: string, hint: string, exitCode: number) => {
    resolution.error = {code, message, hint, exitCode}
    return resolution
  }
  if (skipped) {
    return fail(
      'ERR_AGENTOS_RUN_NOT_EXECUTABLE',
      `${skipped} is not executable`,
      'Set the exec bit on the command entry (pack sets 0755 on every command).',
      RUN_EXIT.cannotExecute,
    )
  }
  // The package links the name, but its entry is not in the package (validate:
  // ERR_AGENTOS_BIN_ENTRY_MISSING). Said apart from an unknown name: the runtime diverges here.
  const dangling = [...vm.links.values()].find((link) => candidates.includes(link.vmPath))
  if (dangling) {
    return fail(
      'ERR_AGENTOS_RUN_ENTRY_MISSING',
      `command "${dangling.name}" is linked at ${dangling.vmPath}, but its entry ${dangling.command.entry} is not a file in ${dangling.package.name}`,
      `Fix the bin map of ${dangling.package.name} or add the file (validate reports ERR_AGENTOS_BIN_ENTRY_MISSING).`,
      RUN_EXIT.notFound,
    )
  }
  const names = [...vm.links.keys()]
  return fail(
    'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND',
    resolution.lookup === 'direct'
      ? `${candidates[0]} does not exist in the VM`
      : `command "${resolution.command}" was not found on the VM's PATH`,
    names.length > 0
      ? `Commands in this VM: ${names.join(', ')} (and the system's node, sh).`
      : 'None of the packages links a command; check their package.json "bin".',
    RUN_EXIT.notFound,
  )
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
