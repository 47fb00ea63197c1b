import {readdir} from 'node:fs/promises'
import {join, relative} from 'node:path'
import {symlinkResolvesInside} from '../../../format/paths.js'
import {linkOnDisk} from '../../../util/paths.js'
import {runError} from '../../errors.js'
import {hostNode, hostNodeIfAny} from '../../../util/host-node.js'
import {nodeOptionsFromShebang} from '../resolve.js'
import type {Resolution} from '../resolution.js'
import {assembleRoot, type VmRoot, type WasmShim} from '../root.js'
import {bwrapArgs, guestNodePath, type Isolation, mapEnv, mapVmPath, mapVmPathsInValue} from './sandbox.js'
import {commandHeader} from '../../vm/mount.js'
import {AGENTOS_ROOT, packageMount, VM_HOME, VM_WORKSPACE, type Vm} from '../../vm/vm.js'
import {type WasiRunnerCommand, wasiRunner} from '../wasi/runner-command.js'

/** A VM with its root assembled and its isolation decided: what guest processes run in. */
export interface VmSession {
  vm: Vm
  root: VmRoot
  isolation: Isolation
  /** Where `node` is inside the namespace (bwrap), or this CLI's Node.js (path-mapped). */
  node: string
  /** bubblewrap binary and the arguments up to the guest's argv (bwrap only). */
  bwrap?: {file: string; args: string[]}
  /** How child processes run WASM commands; undefined in a build without a runner. */
  runner?: WasiRunnerCommand
}

/**
 * Assembles the root for guests that run as child processes and prepares the isolation: the
 * bubblewrap arguments, or the path mapping. WASM commands are linked as runner shims so any
 * guest can spawn them.
 */
export async function openSession(vm: Vm, isolation: Isolation, bwrap?: string): Promise<VmSession> {
  if (isolation === 'path-mapped') await refuseUncontainedOverlays(vm)
  // Path-mapped guests run the host's Node.js. Inside the single binary with no Node.js around,
  // only Node.js guests need one: they fail when planned, not every session.
  const node = isolation === 'bwrap' ? await guestNodePath(vm) : (hostNodeIfAny() ?? '')
  const runner = wasiRunner(() => node || hostNode())
  // The shim's program as the guest sees it: the binary is bound at its host path, a script runner
  // runs on the guest's Node.js.
  const program = runner?.selfContained ? runner.program : node
  const shim: WasmShim | undefined = runner && {
    node: program,
    runner: runner.args,
    runnerArgs: isolation === 'bwrap' ? () => [] : (v, r) => pathMappedPreopens(v, r),
    modulePath:
      isolation === 'bwrap'
        ? (v, _root, name) => v.links.get(name)!.target
        : (v, r, name) => r.hostPath(v.links.get(name)!.target),
  }
  const root = await assembleRoot(vm, {
    layout: isolation === 'bwrap' ? 'mountpoints' : 'copies',
    wasmShim: shim,
  })
  if (isolation === 'path-mapped') {
    try {
      await refuseOverlayLinksOut(vm, root)
    } catch (error) {
      await root.remove()
      throw error
    }
  }
  const session: VmSession = {vm, root, isolation, node, runner}
  if (isolation === 'bwrap') {
    try {
      session.bwrap = {
        file: bwrap!,
        args: await bwrapArgs(vm, root, {hostPaths: runner?.hostPaths ?? [], nodeTarget: node}),
      }
    } catch (error) {
      await root.remove()
      throw error
    }
  }
  return session
}

/** VM directories whose literal paths a path-mapped guest may name: only they are a VM's own. */
const VM_OWN = [AGENTOS_ROOT, VM_HOME, VM_WORKSPACE]

/**
 * Path-mapped Node.js and script guests are host processes: a `provides.files` target outside the
 * VM's own directories (`/etc/app.conf`) is the host's file to a script that writes it by its
 * literal path, so a VM that has such a target and any command that is not WebAssembly is refused
 * rather than run. WebAssembly guests are not host processes to their paths (every path goes
 * through the VM's path layer, wasi/contain.ts), so a VM of WASM commands only runs.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED`.
 */
async function refuseUncontainedOverlays(vm: Vm): Promise<void> {
  const outside = vm.overlays.find(
    (o) => !VM_OWN.some((dir) => o.target === dir || o.target.startsWith(`${dir}/`)),
  )
  if (!outside || !(await hasHostGuests(vm))) return
  throw runError(
    'ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED',
    `provides.files target ${outside.target} is outside ${VM_OWN.join(', ')}: path-mapped guests are host processes and would write the host's ${outside.target}`,
    {
      hint: 'Run with bubblewrap (apt-get install bubblewrap; --isolation bwrap), or target a path under /opt/agentos, /home/agentos or /workspace.',
    },
  )
}

/** Whether any command of the VM runs as a host process (not WebAssembly) when path-mapped. */
async function hasHostGuests(vm: Vm): Promise<boolean> {
  const headers = await Promise.all(
    vm.packages.flatMap((pkg) => pkg.commands.map((command) => commandHeader(pkg, command))),
  )
  return headers.some((header) => header.kind !== 'wasm')
}

/**
 * A link in a `provides.files` directory keeps its text at the target (as in the runtime), where
 * it may climb out of the VM root (`a/b/c/l -> ../../../x` stays in the package at its source,
 * not at `/workspace/conf/l`): path-mapped host processes would follow it to the host's files, so
 * such a VM is refused, by `validate`'s rule applied to the assembled root.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED`.
 */
async function refuseOverlayLinksOut(vm: Vm, root: VmRoot): Promise<void> {
  const links: string[] = []
  for (const overlay of vm.overlays) {
    const top = root.hostPath(overlay.target)
    const entries = await readdir(top, {recursive: true, withFileTypes: true}).catch(() => [])
    for (const entry of entries) {
      if (entry.isSymbolicLink()) links.push(relative(root.root, join(entry.parentPath, entry.name)))
    }
  }
  const out = links.find((path) => !symlinkResolvesInside(path, (p) => linkOnDisk(join(root.root, p))))
  if (out === undefined || !(await hasHostGuests(vm))) return
  throw runError(
    'ERR_AGENTOS_RUN_PATH_MAPPED_UNCONTAINED',
    `provides.files link /${out} → ${linkOnDisk(join(root.root, out))} leaves the VM from its target: path-mapped guests are host processes and would follow it on the host`,
    {
      hint: 'Replace the link with the real file in the provides.files source, or run with bubblewrap (apt-get install bubblewrap; --isolation bwrap).',
    },
  )
}

/**
 * The runner's view of a path-mapped VM: the root as `/`, and `/opt/agentos` with every package
 * read-only, as in the runtime (wasi-libc picks the longest preopen prefix, so nothing under
 * /opt/agentos resolves through the writable root).
 */
function pathMappedPreopens(vm: Vm, root: VmRoot): string[] {
  return [
    '--preopen',
    `/=${root.root}`,
    '--ro-preopen',
    `${AGENTOS_ROOT}=${root.hostPath(AGENTOS_ROOT)}`,
    ...vm.packages.flatMap((pkg) => [
      '--ro-preopen',
      `${packageMount(pkg)}=${root.hostPath(packageMount(pkg))}`,
    ]),
  ]
}

/** A child process to start: program, argv, env and cwd as the host sees them. */
export interface ProcessPlan {
  file: string
  args: string[]
  env: Record<string, string>
  cwd?: string
  /** bubblewrap reports the guest's pid on fd 3. */
  infoFd: boolean
  /** The guest's argv, as the VM sees it (for reports). */
  guestArgv: string[]
}

/**
 * The child process that runs a resolved command with `args` in the session: the interpreter
 * from the `#!` line with at most its one argument, Node.js for node scripts, the WASI runner for
 * WebAssembly. Inside bubblewrap every path is a VM path; path-mapped, VM paths in argv, env and
 * cwd are rewritten to the assembled root.
 */
export function planProcess(
  session: VmSession,
  resolution: Resolution,
  args: string[],
  env: Record<string, string> = session.vm.env,
): ProcessPlan {
  const {vm, root} = session
  const bwrap = session.isolation === 'bwrap'
  const parts = commandParts(session, resolution, args)
  const guestArgv = parts.map(([guest]) => guest)
  if (bwrap) {
    return {
      file: session.bwrap!.file,
      args: [...session.bwrap!.args, '--', ...guestArgv],
      env,
      infoFd: true,
      guestArgv,
    }
  }
  const hostArgv = parts.map(([, host]) => host)
  return {
    file: hostArgv[0]!,
    args: hostArgv.slice(1),
    env: mapEnv(vm, root, env),
    cwd: mapVmPath(vm, root, vm.cwd),
    infoFd: false,
    guestArgv,
  }
}

/** One argument: [as the guest sees it, as the host sees it (path-mapped mode)]. */
type Part = [string, string]

/** The command line of a resolved command, part by part, by its executor. */
function commandParts(session: VmSession, resolution: Resolution, args: string[]): Part[] {
  const {vm, root} = session
  const vmPart = (value: string): Part => [value, mapVmPathsInValue(vm, root, value)]
  const hostPart = (guest: string, host: string): Part => [guest, host]
  const invoked = resolution.vmPath!
  const interpreter = resolution.interpreter
  const userArgs = args.map(vmPart)
  switch (resolution.executor) {
    case 'node': {
      const node = hostPart(session.node, hostNode())
      return interpreter?.via === 'package'
        ? [
            node,
            vmPart(interpreter.path),
            ...opt(interpreter.argument).map(vmPart),
            vmPart(invoked),
            ...userArgs,
          ]
        : [
            node,
            ...nodeOptionsFromShebang(interpreter!.path, interpreter!.argument).map(vmPart),
            // The runtime runs the entry by its resolved path (argv[1] is
            // /opt/agentos/pkgs/<name>/<version>/<entry>), not by the command link.
            vmPart(resolution.resolved ?? invoked),
            ...userArgs,
          ]
    }
    case 'interpreter':
      return [
        hostPart(interpreter!.path, interpreter!.hostPath!),
        ...opt(interpreter!.argument).map(vmPart),
        vmPart(invoked),
        ...userArgs,
      ]
    case 'system':
      return [
        resolution.hostPath === hostNode()
          ? hostPart(session.node, hostNode())
          : hostPart(invoked, resolution.hostPath!),
        ...userArgs,
      ]
    case 'wasi':
      return wasiParts(session, resolution, vmPart, userArgs)
    default:
      throw runError('ERR_AGENTOS_RUN_CANNOT_EXECUTE', `${resolution.command} cannot be executed`)
  }
}

/** The WASI runner's command line for a WebAssembly command (or one run through a WASM interpreter). */
function wasiParts(
  session: VmSession,
  resolution: Resolution,
  vmPart: (value: string) => Part,
  userArgs: Part[],
): Part[] {
  const hostPart = (guest: string, host: string): Part => [guest, host]
  const invoked = resolution.vmPath!
  const interpreter = resolution.interpreter
  const runner = session.runner
  if (!runner) {
    throw runError(
      'ERR_AGENTOS_RUN_WASI_RUNNER_MISSING',
      `${resolution.command} is WebAssembly, which this build runs only as the top-level command`,
      {hint: 'Use the npm package (bin/run.js) to run WASM agents, terminals or nested WASM commands.'},
    )
  }
  const chained = interpreter?.via === 'package'
  const wasmArgv = chained
    ? [vmPart(interpreter.path), ...opt(interpreter.argument).map(vmPart), vmPart(invoked), ...userArgs]
    : [hostPart(resolution.command, resolution.command), ...userArgs]
  const module = chained ? interpreter.path : (resolution.target ?? invoked)
  const preopens =
    session.isolation === 'bwrap'
      ? []
      : pathMappedPreopens(session.vm, session.root).map((value) => hostPart(value, value))
  return [
    runner.selfContained ? hostPart(runner.program, runner.program) : hostPart(session.node, hostNode()),
    ...runner.args.map((arg) => hostPart(arg, arg)),
    ...preopens,
    hostPart('--', '--'),
    hostPart(module, hostModule(resolution)),
    ...wasmArgv,
  ]
}

function hostModule(resolution: Resolution): string {
  return resolution.interpreter?.via === 'package' ? resolution.interpreter.hostPath! : resolution.hostPath!
}

function opt(value: string | undefined): string[] {
  return value === undefined ? [] : [value]
}
