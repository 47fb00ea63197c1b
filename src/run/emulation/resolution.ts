/**
 * What a command name resolves to in the VM (the answer of `--which`), and the facts about VM paths
 * it is made of: which mount a VM path lands in, and what the file there is.
 */
import {constants, open, realpath, stat} from 'node:fs/promises'
import {posix} from 'node:path'
import {detectHeader, type HeaderInfo, readHead} from '../../format/header.js'
import {hostNode} from '../../util/host-node.js'
import {isWithin, specialKind} from '../../util/paths.js'
import type {RunPackage} from '../vm/mount.js'
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
export type VmFile =
  | {type: 'package'; pkg: RunPackage; rel: string; hostPath: string; target: string; resolved: string}
  | {type: 'system'; hostPath: string}
  | {type: 'overlay'; hostPath: string}
  | {type: 'none'}

/**
 * Looks a VM path up in the mount table: a command link, a file inside a package mount, an
 * overlay, or one of the system commands.
 */
export function lookupVmPath(vm: Vm, vmPath: string): VmFile {
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

export interface FileFacts {
  exists: boolean
  executable: boolean
  header: HeaderInfo
  /** The kind of a FIFO, socket or device found there: it exists, but nothing can run it. */
  special?: string
}

/** Whether a host file exists (inside `insideDir`, links resolved), is executable, and its header. */
export async function fileFacts(hostPath: string, insideDir?: string): Promise<FileFacts> {
  const none: FileFacts = {exists: false, executable: false, header: {kind: 'unknown'}}
  const real = await realpath(hostPath).catch(() => undefined)
  if (!real || (insideDir && !isWithin(insideDir, real))) return none
  let handle: import('node:fs/promises').FileHandle | undefined
  try {
    // O_NONBLOCK: a FIFO as a command entry must not block the run in open(); not a file anyway.
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK)
    const info = await handle.stat()
    const special = specialKind(info)
    if (special) return {...none, special}
    if (!info.isFile()) return none
    return {
      exists: true,
      executable: (info.mode & 0o111) !== 0,
      header: detectHeader(await readHead(handle, info.size)),
    }
  } catch (error) {
    // open() of a socket fails with ENXIO: told apart from a missing file only when it happens.
    if ((error as NodeJS.ErrnoException).code !== 'ENXIO') return none
    const special = await stat(real).then(specialKind, () => undefined)
    return special ? {...none, special} : none
  } finally {
    await handle?.close()
  }
}
