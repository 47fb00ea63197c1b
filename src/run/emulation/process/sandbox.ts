import {spawn} from 'node:child_process'
import {constants} from 'node:fs'
import {access, lstat, mkdir, readdir, readlink, realpath, writeFile} from 'node:fs/promises'
import {delimiter, dirname, join, posix} from 'node:path'
import {runError} from '../../errors.js'
import {hostNodeIfAny} from '../../../util/host-node.js'
import {directoryOverlays, type VmRoot} from '../root.js'
import {mapPathsInValue} from './path-values.js'
import {AGENTOS_ROOT, packageMount, VM_HOME, VM_WORKSPACE, type Vm} from '../../vm/vm.js'

/** How guest processes see VM paths. */
export type Isolation =
  /** A bubblewrap mount namespace: packages bound read-only at their VM paths. */
  | 'bwrap'
  /** No namespace: VM paths in env and argv are rewritten to the assembled root on the host. */
  | 'path-mapped'

/** What the user asked for with `--isolation`. */
export type IsolationChoice = Isolation | 'auto'

/** Result of {@link detectIsolation}. */
export interface IsolationProbe {
  isolation: Isolation
  bwrap?: string
  /** Why bubblewrap is not used, when it is not. */
  reason?: string
}

/**
 * Namespaces every guest gets: its own pid space (so no process outlives the run), ipc and uts,
 * a user namespace where one can be made, and no capabilities: as root bubblewrap would otherwise
 * leave the guest every one, and CAP_SYS_ADMIN remounts a read-only package writable.
 */
const NAMESPACE_FLAGS = [
  '--unshare-user-try',
  '--cap-drop',
  'ALL',
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
  '--die-with-parent',
]

/** Top-level host directories the guest sees read-only, so `/bin/sh` and Node.js work. */
const HOST_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc']

let probe: Promise<IsolationProbe> | undefined

/**
 * Decides the isolation once per process: bubblewrap when it is installed and can actually make a
 * namespace here (containers often forbid it), else path-mapped. `AGENTOS_BWRAP` names the
 * bubblewrap binary to use.
 */
export function detectIsolation(choice: IsolationChoice = 'auto'): Promise<IsolationProbe> {
  if (choice === 'path-mapped')
    return Promise.resolve({isolation: 'path-mapped', reason: 'requested with --isolation'})
  probe ??= probeBwrap()
  if (choice === 'auto') return probe
  return probe.then((result) => {
    if (result.isolation === 'bwrap') return result
    throw runError('ERR_AGENTOS_RUN_BWRAP_UNAVAILABLE', `bubblewrap cannot be used: ${result.reason}`, {
      hint: 'Install it (Debian/Ubuntu: apt-get install bubblewrap), or pass --isolation auto or path-mapped.',
    })
  })
}

async function findBwrap(): Promise<string | undefined> {
  const candidates = process.env.AGENTOS_BWRAP
    ? [process.env.AGENTOS_BWRAP]
    : [
        ...(process.env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, 'bwrap')),
        '/usr/bin/bwrap',
      ]
  for (const candidate of candidates) {
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate
  }
  return undefined
}

async function probeBwrap(): Promise<IsolationProbe> {
  const bwrap = await findBwrap()
  if (!bwrap) return {isolation: 'path-mapped', reason: 'bwrap is not installed'}
  // The command run inside is bwrap itself, by its absolute path: `true` would be looked up on the
  // caller's PATH, and a PATH without /usr/bin made a working bwrap look unusable.
  const args = [
    ...NAMESPACE_FLAGS,
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    bwrap,
    '--version',
  ]
  const outcome = await new Promise<{ok: boolean; detail: string}>((resolve) => {
    const child = spawn(bwrap, args, {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.on('error', (error) => resolve({ok: false, detail: error.message}))
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ok: code === 0, detail: stderr.trim() || `exit ${code}`})
    })
  })
  return outcome.ok
    ? {isolation: 'bwrap', bwrap}
    : {isolation: 'path-mapped', bwrap, reason: `bwrap cannot create a namespace here (${outcome.detail})`}
}

/** Options of {@link bwrapArgs}. */
export interface BwrapOptions {
  /** Extra host paths the guest must see at the same path, read-only (the WASI runner). */
  hostPaths?: string[]
  /** Where `node` is on the guest's PATH; bound to this CLI's Node.js when it is another one. */
  nodeTarget?: string
}

/**
 * The bubblewrap arguments that turn the assembled root into the guest's `/`: the root bound
 * writable, the host's system directories read-only (so `/bin/sh` and Node.js run), `/opt/agentos`
 * (with its command links) and every package read-only at `/opt/agentos/pkgs/<name>/<version>`,
 * directory `provides.files` targets read-only (as the runtime has them), fresh /dev and /proc,
 * and the guest's own pid namespace.
 * A `provides.files` target inside a host system directory (`/etc/x.conf`) is reached by binding
 * that directory entry by entry, leaving the target to the root's writable copy.
 */
export async function bwrapArgs(vm: Vm, root: VmRoot, options: BwrapOptions = {}): Promise<string[]> {
  const args = [...NAMESPACE_FLAGS, '--info-fd', '3', '--bind', root.root, '/']
  // With no Node.js to bind (the single binary, nothing on PATH), the guest keeps whatever `node`
  // the host's system directories hold: a sh or WASM guest needs none, and a Node.js guest is
  // refused when planned.
  const host = hostNodeIfAny()
  const nodeTarget = host ? options.nodeTarget : undefined
  const nodeExists = nodeTarget
    ? await lstat(nodeTarget).then(
        () => true,
        () => false,
      )
    : true
  const special = vm.overlays.map((overlay) => overlay.target)
  if (nodeTarget && !nodeExists) {
    special.push(nodeTarget)
    await mkdir(root.hostPath(dirname(nodeTarget)), {recursive: true})
    await writeFile(root.hostPath(nodeTarget), '')
  }
  const mountHost = async (hostPath: string): Promise<void> => {
    const info = await lstat(hostPath).catch(() => undefined)
    if (!info) return
    if (special.includes(hostPath)) return
    if (info.isSymbolicLink()) {
      args.push('--symlink', await readlink(hostPath), hostPath)
      return
    }
    if (!info.isDirectory() || !special.some((target) => target.startsWith(`${hostPath}/`))) {
      args.push('--ro-bind', hostPath, hostPath)
      return
    }
    await mkdir(root.hostPath(hostPath), {recursive: true})
    for (const name of await readdir(hostPath)) await mountHost(posix.join(hostPath, name))
  }
  for (const dir of HOST_DIRS) await mountHost(dir)
  // /opt/agentos as a whole is read-only, as in the VM: not only the packages but the command
  // links in /opt/agentos/bin and the directory itself (no new entries, no removed links).
  args.push('--ro-bind', root.hostPath(AGENTOS_ROOT), AGENTOS_ROOT)
  for (const pkg of vm.packages) args.push('--ro-bind', pkg.dir, packageMount(pkg))
  for (const overlay of directoryOverlays(vm)) {
    args.push('--ro-bind', root.hostPath(overlay.target), overlay.target)
  }
  for (const path of options.hostPaths ?? []) args.push('--ro-bind', path, path)
  if (
    nodeTarget &&
    (!nodeExists || (await realpath(nodeTarget).catch(() => '')) !== (await realpath(host!)))
  ) {
    args.push('--ro-bind', host!, nodeTarget)
  }
  args.push('--dev', '/dev', '--proc', '/proc', '--chdir', vm.cwd)
  return args
}

/**
 * Where the guest finds `node` on its PATH: the first `node` along the VM's system directories
 * as the host has them, else `/usr/local/bin/node`. bwrapArgs binds this CLI's Node.js there, so
 * `#!/usr/bin/env node` in a guest runs the same Node.js as the top-level command.
 */
export async function guestNodePath(vm: Vm): Promise<string> {
  for (const dir of (vm.env.PATH ?? '').split(':')) {
    if (!dir.startsWith('/') || dir.startsWith(AGENTOS_ROOT) || dir.startsWith(VM_HOME)) continue
    const candidate = posix.join(dir, 'node')
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate
  }
  return '/usr/local/bin/node'
}

/**
 * VM path prefixes that live in the assembled root rather than on the host. /tmp stays the host's:
 * path-mapped guests share the host anyway, and host paths under /tmp must keep meaning the host.
 */
function mappedPrefixes(vm: Vm): string[] {
  return [AGENTOS_ROOT, VM_HOME, VM_WORKSPACE, ...vm.overlays.map((overlay) => overlay.target)]
}

/**
 * Path-mapped mode: the host path of a VM path. Paths under /opt/agentos, /home/agentos,
 * /workspace and overlay targets live in the assembled root; anything else is the host's own (/usr, /bin, …).
 */
export function mapVmPath(vm: Vm, root: VmRoot, vmPath: string): string {
  for (const prefix of mappedPrefixes(vm)) {
    if (vmPath === prefix || vmPath.startsWith(`${prefix}/`)) return root.hostPath(vmPath)
  }
  return vmPath
}

/** Path-mapped mode: rewrites the VM paths inside an argv or env value (see path-values.ts). */
export function mapVmPathsInValue(vm: Vm, root: VmRoot, value: string): string {
  return mapPathsInValue(value, (path) => mapVmPath(vm, root, path))
}

/** Path-mapped mode: the guest env with VM paths rewritten to the assembled root. */
export function mapEnv(vm: Vm, root: VmRoot, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) out[name] = mapVmPathsInValue(vm, root, value)
  return out
}
