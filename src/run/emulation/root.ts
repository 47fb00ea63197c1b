import {constants, cp, lstat, mkdir, mkdtemp, realpath, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, posix} from 'node:path'
import {runError} from '../errors.js'
import {commandHeader} from '../vm/mount.js'
import {isWithin} from '../../util/paths.js'
import {recordOwner, releaseOwner, ROOT_PREFIX, sweepStaleTempDirs} from './stale-roots.js'
import {
  AGENTOS_BIN,
  AGENTOS_ROOT,
  packageCurrent,
  packageMount,
  VM_HOME,
  VM_WORKSPACE,
  type Vm,
  type VmOverlay,
} from '../vm/vm.js'

// Not `import … from 'node:fs'`: see the note in run.ts.
const {mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync} = process.getBuiltinModule('node:fs')

/** How the packages appear at `/opt/agentos/pkgs/<name>/<version>` in the assembled root. */
export type PackageLayout =
  /** Empty directories: bubblewrap binds the packages over them, WASI preopens map them. */
  | 'mountpoints'
  /**
   * Per-run copies (reflinks where the filesystem has them) of the packages: path-mapped mode has
   * no read-only mount, and the host's package bytes must never change.
   */
  | 'copies'

/** A WASM command linked as a small shell script that runs it through the WASI runner. */
export interface WasmShim {
  /** Program that runs the shim (Node.js, or the single binary), as the guest sees it. */
  node: string
  /** Its arguments that select the WASI runner (the script, or the binary's runner argument). */
  runner: string[]
  /** Extra runner arguments before `--` (preopens in path-mapped mode). */
  runnerArgs: (vm: Vm, root: VmRoot) => string[]
  /** Where the guest finds the module of a command (a VM path, or a host path when path-mapped). */
  modulePath: (vm: Vm, root: VmRoot, name: string) => string
}

/** Options of {@link assembleRoot}. */
export interface AssembleOptions {
  layout: PackageLayout
  /**
   * Link WASM commands as shims so that guests which spawn processes (Node.js, sh) can run them:
   * the host kernel cannot execute `\0asm` files.
   */
  wasmShim?: WasmShim
}

/** The per-run directory tree that is the guest's `/`: the writable upper layer of the VM. */
export interface VmRoot {
  /** Temp directory of this run (removed by {@link VmRoot.remove}). */
  dir: string
  /** The guest's `/`. */
  root: string
  /**
   * Scratch space outside the guest's view (captured output of in-process WASI); made by whoever
   * needs it, as the in-process WASI root has none until then.
   */
  scratch: string
  /** Host path under `root` of a VM path. */
  hostPath(vmPath: string): string
  remove(): Promise<void>
  /** Keeps the root past this run (`--keep-root`): drops its owner record, so no sweep takes it. */
  keep(): void
}

/**
 * Assembles the guest's `/` in a fresh temp directory, laid out as runtime 0.2.21 shows it:
 * `/workspace` (writable, a command's cwd), `/home/agentos` (writable, an agent's), `/tmp`,
 * `/opt/agentos/pkgs/<name>/<version>` for each package with `current` → `<version>`,
 * `/opt/agentos/bin/<cmd>` links through `current`, and a copy of every `provides.files` source at
 * its target, so guest writes never reach the package on the host (a directory target is made
 * read-only where the isolation can: the runtime refuses writes there).
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_PROVIDES_SOURCE_MISSING`, `_OVERLAY_FAILED`, `_ROOT_FAILED`.
 */
export async function assembleRoot(vm: Vm, options: AssembleOptions): Promise<VmRoot> {
  sweepStaleTempDirs(tmpdir())
  const dir = await mkdtemp(join(tmpdir(), ROOT_PREFIX)).catch((error: unknown) => {
    throw rootFailed(error)
  })
  const vmRoot = vmRootIn(dir, async () => {
    // /opt/agentos of the copies was made read-only below: its directories need their write bit
    // back for rm.
    if (options.layout === 'copies')
      await setTreeWritable(join(dir, 'root', AGENTOS_ROOT), true, {directoriesOnly: true}).catch(() => {})
    await rm(dir, {recursive: true, force: true, maxRetries: 2})
  })
  const {root} = vmRoot
  try {
    recordOwner(dir)
    await mkdir(join(root, VM_HOME), {recursive: true})
    await mkdir(join(root, VM_WORKSPACE))
    await mkdir(join(root, AGENTOS_BIN), {recursive: true})
    await mkdir(vmRoot.scratch)
    await mkdir(join(root, 'tmp'), {mode: 0o1777})
    for (const pkg of vm.packages) {
      const mount = join(root, packageMount(pkg))
      if (options.layout === 'copies') {
        await cp(pkg.dir, mount, {recursive: true, mode: constants.COPYFILE_FICLONE, verbatimSymlinks: true})
      } else {
        await mkdir(mount, {recursive: true})
      }
      await symlink(pkg.version, join(root, packageCurrent(pkg)))
    }
    await Promise.all(
      [...vm.links.values()].map(async (link) => {
        const file = join(root, link.vmPath)
        if (options.wasmShim && (await commandHeader(link.package, link.command)).kind === 'wasm') {
          await writeFile(file, shimScript(vm, vmRoot, options.wasmShim, link.name), {mode: 0o755})
        } else {
          // Relative, as the runtime's synthetic links: it resolves inside the VM either way.
          await symlink(posix.relative(AGENTOS_BIN, link.target), file)
        }
      }),
    )
    for (const overlay of vm.overlays) await copyOverlay(root, overlay)
    // /opt/agentos is a read-only mount in the VM. Bubblewrap and the WASI preopens enforce that
    // with a read-only bind and read-only preopens; path-mapped guests are host processes writing
    // to the per-run copies, so there the closest refusal is the permission bits: no write bit
    // anywhere under /opt/agentos (EACCES for an unprivileged user; root bypasses mode bits).
    if (options.layout === 'copies') await setTreeWritable(join(root, AGENTOS_ROOT), false)
  } catch (error) {
    await vmRoot.remove()
    throw error
  }
  return vmRoot
}

/** Copies one `provides.files` source to its target in the root (a refusal when it is missing). */
async function copyOverlay(root: string, overlay: Vm['overlays'][number]): Promise<void> {
  const real = await realpath(overlay.hostSource).catch(() => undefined)
  if (!real || !isWithin(overlay.package.dir, real)) {
    throw runError(
      'ERR_AGENTOS_RUN_PROVIDES_SOURCE_MISSING',
      `package provides file source is missing: package ${overlay.package.name} source ${posix.relative(overlay.package.dir, overlay.hostSource) || '.'} target ${overlay.target}`,
      {
        hint: 'Add the file to the package, or fix provides.files in agentos-package.json.',
        path: overlay.hostSource,
      },
    )
  }
  const target = join(root, overlay.target)
  try {
    await mkdir(dirname(target), {recursive: true})
    // Links keep their text, as the runtime's mount shows them: cp would otherwise make a
    // relative link absolute, pointing back into the package, and a guest write through it
    // would change the user's package.
    await cp(real, target, {
      recursive: true,
      dereference: false,
      verbatimSymlinks: true,
      force: true,
      errorOnExist: false,
    })
    // A file stays writable (the spec's copy-up); a directory is read-only in the runtime, and
    // bwrapArgs and wasiPreopens bind it so. Path-mapped guests keep the writable copy.
    await makeOwnerWritable(target)
  } catch (error) {
    throw overlayFailed(overlay, error)
  }
}

/** The copy is the writable upper layer: a read-only source file must still take guest writes. */
async function makeOwnerWritable(path: string): Promise<void> {
  const info = await lstat(path)
  if (info.isSymbolicLink()) return
  const {chmod, readdir} = await import('node:fs/promises')
  await chmod(path, info.mode | 0o200)
  if (info.isDirectory()) {
    for (const name of await readdir(path)) await makeOwnerWritable(join(path, name))
  }
}

/**
 * Adds (`writable`) or removes every write bit on a tree, not following links: the read-only
 * `/opt/agentos` of the root, and its undoing before the root is removed.
 */
async function setTreeWritable(
  path: string,
  writable: boolean,
  options: {directoriesOnly?: boolean} = {},
): Promise<void> {
  const info = await lstat(path)
  if (info.isSymbolicLink()) return
  const {chmod, readdir} = await import('node:fs/promises')
  const set = async () => chmod(path, writable ? info.mode | 0o200 : info.mode & ~0o222)
  if (info.isDirectory()) {
    // Writable before descending (so entries can change), read-only after (so they could).
    if (writable) await set()
    for (const name of await readdir(path)) await setTreeWritable(join(path, name), writable, options)
    if (!writable) await set()
  } else if (!options.directoriesOnly) {
    await set()
  }
}

/** Single-quotes a string for /bin/sh. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

function shimScript(vm: Vm, root: VmRoot, shim: WasmShim, name: string): string {
  const parts = [
    shim.node,
    ...shim.runner,
    ...shim.runnerArgs(vm, root),
    '--',
    shim.modulePath(vm, root, name),
  ]
  return `#!/bin/sh\n# agentos-toolchain run: ${name} is WebAssembly; the host kernel cannot exec it, so this runs it through node:wasi.\nexec ${parts.map(shellQuote).join(' ')} "$0" "$@"\n`
}

/**
 * An assembled root for in-process WASI: `/opt/agentos` (the command links) and the packages as
 * read-only preopens over the root's `/`, and so are directory `provides.files` targets. A guest
 * resolving absolute paths as wasi-libc does (the longest preopen prefix) gets every write under
 * /opt/agentos refused, like a read-only mount.
 */
export async function wasiPreopens(
  vm: Vm,
): Promise<{root: VmRoot; preopens: import('./wasi/host/abi.js').Preopen[]}> {
  const root = vm.overlays.length === 0 ? plainRootSync(vm) : await assembleRoot(vm, {layout: 'mountpoints'})
  return {
    root,
    preopens: [
      {guest: '/', host: root.root},
      {guest: AGENTOS_ROOT, host: root.hostPath(AGENTOS_ROOT), readOnly: true},
      ...vm.packages.flatMap((pkg) => [
        {guest: packageMount(pkg), host: pkg.dir, readOnly: true},
        // `current` is a link to the empty mountpoint in the root: WASI resolves it inside the
        // /opt/agentos preopen, never into the package's, so it gets the package as a preopen too.
        {guest: packageCurrent(pkg), host: pkg.dir, readOnly: true},
      ]),
      ...directoryOverlays(vm).map((overlay) => ({
        guest: overlay.target,
        host: root.hostPath(overlay.target),
        readOnly: true,
      })),
    ],
  }
}

/**
 * {@link assembleRoot}'s `mountpoints` layout without shims, for a VM with no overlays (the common
 * in-process WASI run): the same tree, made and removed with synchronous calls. It is a handful of
 * directories and links, and each asynchronous call is a round trip through the thread pool, which
 * on a busy machine costs more than the call itself.
 */
function plainRootSync(vm: Vm): VmRoot {
  let dir: string
  sweepStaleTempDirs(tmpdir())
  try {
    dir = mkdtempSync(join(tmpdir(), ROOT_PREFIX))
  } catch (error) {
    throw rootFailed(error)
  }
  const vmRoot = vmRootIn(dir, async () => rmSync(dir, {recursive: true, force: true, maxRetries: 2}))
  const {root} = vmRoot
  try {
    recordOwner(dir)
    mkdirSync(join(root, VM_HOME), {recursive: true})
    mkdirSync(join(root, VM_WORKSPACE))
    mkdirSync(join(root, AGENTOS_BIN), {recursive: true})
    // No scratch directory until output is captured: every directory costs an rmdir at the end,
    // which on ext4 is the slowest call of the whole tree (it frees the directory's block).
    mkdirSync(join(root, 'tmp'), {mode: 0o1777})
    for (const pkg of vm.packages) {
      mkdirSync(join(root, packageMount(pkg)), {recursive: true})
      symlinkSync(pkg.version, join(root, packageCurrent(pkg)))
    }
    // Relative, as the runtime's synthetic links: it resolves inside the VM either way.
    for (const link of vm.links.values()) {
      symlinkSync(posix.relative(AGENTOS_BIN, link.target), join(root, link.vmPath))
    }
  } catch (error) {
    rmSync(dir, {recursive: true, force: true, maxRetries: 2})
    throw error
  }
  return vmRoot
}

/** Overlays whose source is a directory: read-only in the runtime, unlike the spec's copy-up. */
export function directoryOverlays(vm: Vm): VmOverlay[] {
  return vm.overlays.filter((overlay) => {
    try {
      return statSync(overlay.hostSource).isDirectory()
    } catch {
      return false
    }
  })
}

/** The {@link VmRoot} of a fresh temp directory: the guest's `/` is its `root/`. */
function vmRootIn(dir: string, remove: () => Promise<void>): VmRoot {
  const root = join(dir, 'root')
  return {
    dir,
    root,
    scratch: join(dir, 'scratch'),
    hostPath: (vmPath) => join(root, vmPath),
    remove,
    keep: () => releaseOwner(dir),
  }
}

/**
 * The manifest rules keep a package's own targets apart and off the VM's directories, so what is
 * left is the host (an unreadable source, a full disk) or another package's overlay: a file where
 * this target needs a directory.
 */
function overlayFailed(overlay: VmOverlay, error: unknown) {
  const source = posix.relative(overlay.package.dir, overlay.hostSource) || '.'
  return runError(
    'ERR_AGENTOS_RUN_OVERLAY_FAILED',
    `cannot overlay ${source} of package ${overlay.package.name} at ${overlay.target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    {
      hint: 'Make the source readable, or drop the package whose provides.files puts a file on the way to this target.',
      path: overlay.hostSource,
      cause: error,
    },
  )
}

function rootFailed(error: unknown) {
  return runError(
    'ERR_AGENTOS_RUN_ROOT_FAILED',
    `cannot create the VM root in ${tmpdir()}: ${(error as NodeJS.ErrnoException).code}`,
    {hint: 'Set TMPDIR to a writable directory.', cause: error},
  )
}
