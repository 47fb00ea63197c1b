/**
 * Entry of the single binary (Node SEA), bundled by scripts/build-binary.mjs into one CJS file.
 *
 * oclif normally reads package.json files from disk, `import()`s the explicit command target and
 * loads plugin commands and hooks by file path. Inside a SEA there are no such files and the
 * embedded `require()` only loads builtins, so everything oclif would read is handed to it here,
 * in memory: the package.json documents (inlined by the build), the command maps (pre-seeded into
 * each plugin's command cache) and the one plugin hook (run from memory).
 *
 * The binary's main script (scripts/sea-main.ts) answers `--version` and runs this bundle for
 * everything else.
 */
import {dirname, join} from 'node:path'
import type {Command, Config, Hook, Interfaces, Plugin} from '@oclif/core'
import {unknownCommandDocument} from '../src/cli/unknown-command.js'

/** package.json documents inlined by the build (`define`), keyed by package name. */
declare const AGENTOS_SEA_PJSON: {root: Interfaces.PJSON; plugins: Record<string, Interfaces.PJSON>}

type CommandMap = Record<string, Command.Class>

/**
 * A loaded plugin whose commands come from `commands` instead of a file. Its pjson is switched to
 * the explicit strategy (the target is never read: the cache is filled first) and its hooks are
 * dropped, because oclif would load them by path; `runMemoryHooks` runs them instead.
 */
async function memoryPlugin(
  PluginClass: typeof Plugin,
  root: string,
  pjson: Interfaces.PJSON,
  commands: CommandMap,
): Promise<Plugin> {
  const oclif = {...pjson.oclif, hooks: {}}
  if (Object.keys(commands).length > 0) {
    oclif.commands = {strategy: 'explicit', target: '<in-memory>', identifier: 'COMMANDS'}
  } else delete oclif.commands
  // isRoot + pjson make oclif trust `root` instead of searching the disk for a package.json;
  // without a manifest on disk it builds one from the classes, as `oclif manifest` does.
  const plugin = new PluginClass({root, pjson: {...pjson, oclif}, isRoot: true, ignoreManifest: true})
  // @oclif/core 4 keeps the explicit-strategy cache in a private field; pre-seeding it is the
  // only way to register commands without a file import (pinned by the binary e2e tests).
  ;(plugin as unknown as {commandCache: CommandMap}).commandCache = commands
  await plugin.load()
  return plugin
}

/**
 * Runs the in-memory hooks of one event the way Config#runHook runs file hooks: same context,
 * same result shape, and an error with a non-zero oclif exit code propagates.
 */
function runMemoryHooks(
  core: typeof import('@oclif/core'),
  hooks: Record<string, {plugin: string; hook: Hook<never>}[]>,
) {
  const original = core.Config.prototype.runHook
  // run() builds its own Config from the options, so the hook runner is patched on the class;
  // events without an in-memory hook keep oclif's runner (which finds no file hooks to load).
  core.Config.prototype.runHook = async function (
    this: Config,
    event: string,
    opts: object,
    timeout?: number,
    captureErrors?: boolean,
  ) {
    const own = hooks[event]
    if (!own) return original.call(this, event as never, opts as never, timeout, captureErrors)
    const result: Hook.Result<unknown> = {successes: [], failures: []}
    for (const {plugin: name, hook} of own) {
      const plugin = this.plugins.get(name)
      if (!plugin) continue
      const context = {
        config: this,
        debug: () => {},
        error: (message: string | Error, options: {code?: string; exit?: number} = {}) =>
          core.Errors.error(message, options),
        exit: (code = 0) => core.Errors.exit(code),
        log: (message?: unknown, ...args: unknown[]) =>
          core.ux.stdout(message as string, ...(args as string[])),
        warn: (message: string) => core.Errors.warn(message),
      } as unknown as Hook.Context
      try {
        const value = await (hook as unknown as (this: Hook.Context, o: object) => Promise<unknown>).call(
          context,
          {...opts, config: this, context},
        )
        result.successes.push({plugin, result: value})
      } catch (error) {
        result.failures.push({plugin, error: error as Error})
        const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
        if (!captureErrors && exit !== undefined && exit !== 0) throw error
      }
    }
    return result
  } as typeof original
}

async function main(argv: string[]): Promise<void> {
  // The binary is its own WASI runner: WASM commands that guests spawn run in a child binary.
  const {BINARY_RUNNER_ARG, useBinaryRunner} = await import('../src/run/emulation/wasi/runner-command.js')
  useBinaryRunner(process.execPath)
  const {wasiRunnerMain} = await import('../src/run/emulation/wasi/runner.js')
  if (argv[0] === BINARY_RUNNER_ARG) {
    process.exitCode = await wasiRunnerMain(argv.slice(1))
    return
  }
  // As bin/run.js: `run` in its common shape is dispatched without setting up oclif.
  if (argv[0] === 'run') {
    const {runFast} = await import('../src/cli/fast/run.js')
    const code = await runFast(argv)
    if (code !== undefined) {
      process.exitCode = code
      return
    }
  }
  // As bin/run.js: so is `pack` in its common shape; and, as there, the process ends once stdout
  // has taken the result instead of tearing down the heap a pack leaves.
  if (argv[0] === 'pack') {
    const {packFast} = await import('../src/cli/fast/pack.js')
    const code = await packFast(argv)
    if (code !== undefined) {
      process.stdout.write('', () => process.exit(code))
      return
    }
  }
  // @oclif/core checks its engines field by require()-ing its package.json from __dirname at load;
  // inside a SEA that require() fails. The check is moot for a binary with its own Node, and the
  // variable that skips it must be set before oclif is evaluated: hence these dynamic imports
  // (esbuild turns them into lazy initialisers).
  const hadEngineVar = 'OCLIF_DISABLE_ENGINE_WARNING' in process.env
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1'
  const [core, {COMMANDS}, {commands: helpCommands}, notFound, autocomplete] = await Promise.all([
    import('@oclif/core'),
    import('../src/commands/index.js'),
    import('@oclif/plugin-help'),
    import('@oclif/plugin-not-found'),
    // plugin-autocomplete exports no commands (its package `exports` hides lib/); a relative path
    // reaches the files, and the bundle is built from this node_modules anyway.
    Promise.all([
      import('../node_modules/@oclif/plugin-autocomplete/lib/commands/autocomplete/index.js'),
      import('../node_modules/@oclif/plugin-autocomplete/lib/commands/autocomplete/create.js'),
      import('../node_modules/@oclif/plugin-autocomplete/lib/commands/autocomplete/script.js'),
    ]),
  ])
  if (!hadEngineVar) delete process.env.OCLIF_DISABLE_ENGINE_WARNING

  // The root of a SEA is the directory of the binary: nothing is read from it, but oclif needs one.
  const root = dirname(process.execPath)
  const {root: rootPjson, plugins: pjsons} = AGENTOS_SEA_PJSON
  const pluginCommands: Record<string, CommandMap> = {
    '@oclif/plugin-help': helpCommands as unknown as CommandMap,
    '@oclif/plugin-not-found': {},
    '@oclif/plugin-autocomplete': {
      autocomplete: autocomplete[0].default as unknown as Command.Class,
      'autocomplete:create': autocomplete[1].default as unknown as Command.Class,
      'autocomplete:script': autocomplete[2].default as unknown as Command.Class,
    },
  }
  for (const name of rootPjson.oclif.plugins ?? []) {
    if (!pluginCommands[name] || !pjsons[name])
      throw new Error(`plugin ${name} is not bundled into the binary`)
  }
  runMemoryHooks(core, {
    command_not_found: [
      {plugin: '@oclif/plugin-not-found', hook: notFound.default as unknown as Hook<never>},
    ],
  })

  // The root plugin goes first: oclif takes the first supplied plugin as the root.
  const plugins = [await memoryPlugin(core.Plugin, root, rootPjson, COMMANDS as unknown as CommandMap)]
  for (const name of rootPjson.oclif.plugins ?? []) {
    const plugin = await memoryPlugin(
      core.Plugin,
      join(root, 'node_modules', name),
      pjsons[name] as Interfaces.PJSON,
      pluginCommands[name] as CommandMap,
    )
    plugin.isRoot = false
    plugins.push(plugin)
  }

  try {
    await core.run(argv, {root, pjson: rootPjson, plugins: new Map(plugins.map((p) => [p.name, p]))})
    await core.flush()
  } catch (error) {
    // As in bin/run.js: plugin-not-found exits 127 (the shell's convention); here an unknown
    // command is a usage error like any other.
    const oclif = (error as {oclif?: {exit?: number}}).oclif
    const unknown = oclif?.exit === 127
    if (unknown) oclif!.exit = 2
    const document = unknown ? unknownCommandDocument(argv, 'agentos-toolchain') : undefined
    if (document) {
      process.stdout.write(document)
      process.exitCode = 2
    } else {
      await core.handle(error as Error)
    }
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
