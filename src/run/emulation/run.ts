import {join, posix} from 'node:path'
import {runError} from '../errors.js'
import {loadInputs} from '../vm/inputs.js'
import {commandHeader, type RunPackage} from '../vm/mount.js'
import type {Resolution} from './resolution.js'
import {resolveCommand} from './resolve.js'
import {wasiPreopens} from './root.js'
import {selfRunnerArgv} from './wasi/runner-command.js'
import {wantsNamespace} from './wasi/spawn-capable.js'
import type {Isolation, IsolationChoice} from './process/sandbox.js'
import {buildVm, packageMount, parseEnvPairs, type RuntimeWarning, type Vm} from '../vm/vm.js'
import {isShellInterpreter, scriptCommandMessage} from '../../package/rules/runtime.js'

// node:fs without `import … from 'node:fs'`, here and in the other modules a WASM command loads:
// importing it builds the module's ESM facade, which reads every export, and the lazy
// ReadStream/WriteStream getters among them load node:stream and a dozen stream modules — a few
// ms of a run in which nothing streams.
const {closeSync, mkdirSync, openSync, readFileSync} = process.getBuiltinModule('node:fs')

/** Options of {@link runCommandInVm} and {@link describeVm}. */
export interface RunOptions {
  /** Package directories and software modules, in mount order. */
  inputs: string[]
  /** `--env K=V` pairs. */
  env?: string[]
  /** Guest working directory (default /workspace; /home/agentos for an agent). */
  cwd?: string
  isolation?: IsolationChoice
  /** Where relative inputs are resolved (default process.cwd()). */
  baseDir?: string
  /** Diagnostic lines for stderr (isolation fallback, scrubbed variables). */
  note?: (message: string) => void
}

/** Milliseconds spent in each phase. */
export interface RunTimings {
  load: number
  resolve: number
  setup: number
  run: number
  cleanup: number
  total: number
}

/** How the guest was isolated: a namespace, path mapping, or WASI preopens (in-process WASM). */
export type RunIsolation = Isolation | 'wasi'

/** Result of {@link runCommandInVm}. */
export interface CommandRun {
  exitCode: number
  /** Captured output (only with `capture`). */
  stdout?: string
  stderr?: string
  timedOut: boolean
  resolution: Resolution
  /** The guest's argv as the VM sees it. */
  argv: string[]
  isolation: RunIsolation
  /** Why there is no namespace, when path-mapped. */
  isolationReason?: string
  timings: RunTimings
  /** The kept root (with `keepRoot`). */
  root?: string
  /**
   * Where this run's result differs from what runtime 0.2.21 would give (test/conformance,
   * DIVERGENCES.md); each is also a line on stderr.
   */
  warnings: RuntimeWarning[]
}

const round = (ms: number) => Math.round(ms * 10) / 10

/** Says a divergence from the runtime on stderr (`WARN_AGENTOS_RUNTIME_…: message`). */
function sayWarnings(options: RunOptions, warnings: readonly RuntimeWarning[]): void {
  for (const warning of warnings) options.note?.(`${warning.code}: ${warning.message}`)
}

/**
 * Divergences that depend on what runs: a shell script run as a package command (runtime 0.2.21
 * runs it as JavaScript), the VM's own node (v22.0.0 there), a command not found by argv
 * (exit 1 there, 127 here), and a command whose entry is missing (exit 0 there, 127 here).
 */
export function resolutionWarnings(resolution: Resolution): RuntimeWarning[] {
  const warnings: RuntimeWarning[] = []
  const interpreter = resolution.interpreter
  if (resolution.package && interpreter && isShellInterpreter(interpreter.path, interpreter.argument)) {
    warnings.push({
      code: 'WARN_AGENTOS_RUNTIME_SHELL_SCRIPT',
      message: scriptCommandMessage(
        resolution.command,
        interpreter.path,
        interpreter.argument,
        resolution.vmPath ?? '',
      ),
    })
  }
  if (
    resolution.executor === 'system' &&
    resolution.kind === 'system' &&
    /node/.test(resolution.vmPath ?? '')
  ) {
    warnings.push({
      code: 'WARN_AGENTOS_RUNTIME_NODE_VERSION',
      message: `node here is the host's Node.js ${process.version}; the runtime's node is its own V8 runtime and reports v22.0.0`,
    })
  }
  if (resolution.error?.code === 'ERR_AGENTOS_RUN_ENTRY_MISSING') {
    const name = posix.basename(resolution.command)
    warnings.push({
      code: 'WARN_AGENTOS_RUNTIME_ENTRY_MISSING',
      message: `runtime 0.2.21 links /opt/agentos/bin/${name} to the missing entry anyway: there ${name} exits 0 with no output (its shell falls through to the VM's /bin/${name} stub)`,
    })
  }
  if (resolution.error?.code === 'ERR_AGENTOS_RUN_COMMAND_NOT_FOUND') {
    warnings.push({
      code: 'WARN_AGENTOS_RUNTIME_NOT_FOUND_EXIT',
      message: `run exits 127 for a command not found; the runtime's execArgv exits 1 ("command not found on native sidecar path: ${resolution.command}")`,
    })
  }
  return warnings
}

/** Loads the inputs and builds the VM, saying where it differs from the runtime's. */
export async function prepareVm(
  options: RunOptions,
  agent?: (packages: RunPackage[]) => RunPackage | undefined,
): Promise<{vm: Vm; packages: RunPackage[]}> {
  if (options.inputs.length === 0) {
    throw runError('ERR_AGENTOS_RUN_NO_PACKAGE', 'no package given', {
      hint: 'Pass at least one package directory or software module: run ./my-tool-package -- my-tool',
      exitCode: 2,
    })
  }
  const userEnv = parseEnvPairs(options.env ?? [])
  const packages = await loadInputs(options.inputs, options.baseDir)
  const vm = buildVm(packages, {userEnv, cwd: options.cwd, agent: agent?.(packages)})
  sayWarnings(options, vm.warnings)
  return {vm, packages}
}

/** Throws the coded error of a resolution that cannot run (with its runtime warnings in details). */
export function assertRunnable(resolution: Resolution, warnings: RuntimeWarning[] = []): void {
  if (!resolution.error) return
  throw runError(resolution.error.code, resolution.error.message, {
    hint: resolution.error.hint,
    exitCode: resolution.error.exitCode,
    details: warnings.length > 0 ? {resolution, warnings} : {resolution},
  })
}

/** `--which`: the resolution of a command, without running anything. */
export async function whichInVm(options: RunOptions & {command: string}): Promise<Resolution> {
  const {vm} = await prepareVm(options)
  return resolveCommand(vm, options.command)
}

/** Options of {@link runCommandInVm}. */
export type CommandOptions = RunOptions & {
  command: string
  args: string[]
  capture?: boolean
  timeoutMs?: number
  killAfterMs?: number
  keepRoot?: boolean
}

/** Laps of the phases of a run (see {@link RunTimings}). */
interface Stopwatch {
  /** Milliseconds since the previous lap. */
  lap(): number
  /** Fills in the cleanup lap and the total. */
  complete(result: CommandRun): CommandRun
}

function stopwatch(): Stopwatch {
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks (a dozen
  // internal modules) on first use, a noticeable part of a WASM command's run.
  const clock = () => Number(process.hrtime.bigint()) / 1e6
  const start = clock()
  let mark = start
  const lap = () => {
    const now = clock()
    const ms = now - mark
    mark = now
    return round(ms)
  }
  return {
    lap,
    complete(result) {
      result.timings.cleanup = lap()
      result.timings.total = round(clock() - start)
      return result
    },
  }
}

/**
 * Runs one command in the emulated VM and returns its exit code (and, with `capture`, its
 * output). WebAssembly runs in this process on node:wasi with the assembled root as `/`; scripts
 * run as child processes in a bubblewrap namespace, or path-mapped where none can be made.
 */
export async function runCommandInVm(options: CommandOptions): Promise<CommandRun> {
  const watch = stopwatch()
  const {vm} = await prepareVm(options)
  const load = watch.lap()
  const resolution = await resolveCommand(vm, options.command)
  const ran = resolutionWarnings(resolution)
  sayWarnings(options, ran)
  const warnings = [...vm.warnings, ...ran]
  assertRunnable(resolution, warnings)
  const resolve = watch.lap()
  const done = {resolution, warnings, load, resolve}
  const result =
    resolution.executor === 'wasi' &&
    !options.timeoutMs &&
    !(await wantsNamespace(options.isolation, wasiModule(resolution)))
      ? await runInProcess(options, vm, done, watch)
      : await runAsChild(options, vm, done, watch)
  return watch.complete(result)
}

/** The module a WASM command runs: its own, or the WASM interpreter its `#!` names. */
const wasiModule = (resolution: Resolution) =>
  resolution.interpreter?.via === 'package' ? resolution.interpreter.hostPath : resolution.hostPath

/** What a run knows once its command is resolved. */
interface Resolved {
  resolution: Resolution
  warnings: RuntimeWarning[]
  /** The load and resolve laps. */
  load: number
  resolve: number
}

/** A WASM command, run on node:wasi in this process. */
async function runInProcess(
  options: CommandOptions,
  vm: Vm,
  {resolution, warnings, load, resolve}: Resolved,
  watch: Stopwatch,
): Promise<CommandRun> {
  // Loads while the root is made.
  const loading = import('./wasi/wasi.js')
  loading.catch(() => {})
  const {root, preopens} = await wasiPreopens(vm)
  const setup = watch.lap()
  let stdoutFd: number | undefined
  let stderrFd: number | undefined
  try {
    if (options.capture) {
      mkdirSync(root.scratch, {recursive: true})
      stdoutFd = openSync(join(root.scratch, 'stdout'), 'w+')
      stderrFd = openSync(join(root.scratch, 'stderr'), 'w+')
    }
    const chained = resolution.interpreter?.via === 'package'
    const argv = chained
      ? [
          resolution.interpreter!.path,
          ...(resolution.interpreter!.argument === undefined ? [] : [resolution.interpreter!.argument]),
          resolution.vmPath!,
          ...options.args,
        ]
      : [options.command, ...options.args]
    const {runWasi} = await loading
    const exitCode = await runWasi({
      module: wasiModule(resolution)!,
      args: argv,
      env: vm.env,
      preopens,
      runner: selfRunnerArgv(),
      stdout: stdoutFd,
      stderr: stderrFd,
    })
    const ranMs = watch.lap()
    const captured = options.capture
      ? {
          stdout: readFileSync(join(root.scratch, 'stdout'), 'utf8'),
          stderr: readFileSync(join(root.scratch, 'stderr'), 'utf8'),
        }
      : {}
    return {
      exitCode,
      ...captured,
      timedOut: false,
      resolution,
      argv,
      isolation: 'wasi',
      timings: {load, resolve, setup, run: ranMs, cleanup: 0, total: 0},
      root: options.keepRoot ? root.root : undefined,
      warnings,
    }
  } finally {
    if (stdoutFd !== undefined) closeSync(stdoutFd)
    if (stderrFd !== undefined) closeSync(stderrFd)
    if (options.keepRoot) root.keep()
    else await root.remove()
  }
}

/** A command run as a child process, in a bubblewrap namespace or path-mapped. */
async function runAsChild(
  options: CommandOptions,
  vm: Vm,
  {resolution, warnings, load, resolve}: Resolved,
  watch: Stopwatch,
): Promise<CommandRun> {
  // Loaded here, not up front: a WASM command (above) needs none of the process machinery.
  const [{detectIsolation}, {openSession, planProcess}, {runGuest}] = await Promise.all([
    import('./process/sandbox.js'),
    import('./process/exec.js'),
    import('./process/spawn.js'),
  ])
  const probe = await detectIsolation(options.isolation)
  if (probe.isolation === 'path-mapped') {
    options.note?.(
      `run: no mount namespace (${probe.reason}); path-mapped mode: packages are per-run copies and /opt/agentos paths in env and argv are rewritten to them`,
    )
  }
  const session = await openSession(vm, probe.isolation, probe.bwrap)
  const setup = watch.lap()
  try {
    const plan = planProcess(session, resolution, options.args)
    const outcome = await runGuest({
      file: plan.file,
      args: plan.args,
      env: plan.env,
      cwd: plan.cwd,
      infoFd: plan.infoFd,
      stdio: options.capture ? 'capture' : 'inherit',
      timeoutMs: options.timeoutMs,
      killAfterMs: options.killAfterMs,
    })
    if (outcome.timedOut)
      options.note?.(`run: ${options.command} ran past --timeout ${options.timeoutMs} ms and was stopped`)
    return {
      exitCode: outcome.exitCode,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      timedOut: outcome.timedOut,
      resolution,
      argv: plan.guestArgv,
      isolation: probe.isolation,
      isolationReason: probe.reason,
      timings: {load, resolve, setup, run: watch.lap(), cleanup: 0, total: 0},
      root: options.keepRoot ? session.root.root : undefined,
      warnings,
    }
  } finally {
    if (options.keepRoot) session.root.keep()
    else await session.root.remove()
  }
}

/** A summary of the VM, for `run <packages>` without a command. */
export interface VmDescription {
  packages: Array<{
    name: string
    version?: string
    dir: string
    mount: string
    commands: string[]
    agent?: string
  }>
  /** Where this VM differs from the runtime's (as on stderr). */
  warnings: RuntimeWarning[]
  commands: Array<{name: string; link: string; target: string; kind: string}>
  overlays: Array<{target: string; source: string; package: string}>
  env: Record<string, string>
  envSources: Record<string, string>
  cwd: string
}

/** Describes the VM the packages make, without running anything. */
export async function describeVm(options: RunOptions): Promise<VmDescription> {
  const {vm} = await prepareVm(options)
  return {
    packages: vm.packages.map((pkg) => ({
      name: pkg.name,
      version: pkg.version,
      dir: pkg.dir,
      mount: packageMount(pkg),
      commands: pkg.commands.map((c) => c.name),
      agent: pkg.agent?.acpEntrypoint,
    })),
    commands: await Promise.all(
      [...vm.links.values()].map(async (link) => ({
        name: link.name,
        link: link.vmPath,
        target: link.target,
        kind: (await commandHeader(link.package, link.command)).kind,
      })),
    ),
    overlays: vm.overlays.map((o) => ({target: o.target, source: o.hostSource, package: o.package.name})),
    env: vm.env,
    envSources: vm.envSources,
    cwd: vm.cwd,
    warnings: vm.warnings,
  }
}
