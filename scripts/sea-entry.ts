/**
 * Entry of the single binary (Node SEA), bundled by scripts/build-binary.mjs into one CJS file: the
 * CLI's one entry (src/cli/main.ts) with this build's code — the fast paths bundled in, and oclif
 * with its plugins handed over in memory (src/cli/oclif-memory.ts), since a SEA has no files for
 * oclif to read. The package.json documents are inlined by the build.
 *
 * The binary's main script (scripts/sea-main.ts) answers `--version` and runs this bundle for
 * everything else.
 */
import {dirname, join} from 'node:path'
import type {Command, Hook, Interfaces} from '@oclif/core'
import {main, type CliBuild} from '../src/cli/main.js'
import {type CommandMap, memoryPlugin, runMemoryHooks} from '../src/cli/oclif-memory.js'

/** package.json documents inlined by the build (`define`), keyed by package name. */
declare const AGENTOS_SEA_PJSON: {root: Interfaces.PJSON; plugins: Record<string, Interfaces.PJSON>}

/**
 * oclif as the binary has it: the root plugin and its plugins loaded from memory, then run. Its
 * error handler is kept for {@link seaBuild}'s `handle`.
 */
async function runOclif(argv: string[]): Promise<void> {
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

  await core.run(argv, {root, pjson: rootPjson, plugins: new Map(plugins.map((p) => [p.name, p]))})
  await core.flush()
}

/** The single binary's build of the CLI: everything bundled in, oclif from memory. */
const seaBuild: CliBuild = {
  packageJson: () => AGENTOS_SEA_PJSON.root as unknown as ReturnType<CliBuild['packageJson']>,
  runFast: async () => (await import('../src/cli/fast/run.js')).runFast,
  packFast: async () => ({packFast: (await import('../src/cli/fast/pack.js')).packFast}),
  oclif: runOclif,
  handle: async (error) => (await import('@oclif/core')).handle(error as Error),
}

async function start(argv: string[]): Promise<void> {
  // The binary is its own WASI runner: WASM commands that guests spawn run in a child binary.
  const {BINARY_RUNNER_ARG, useBinaryRunner} = await import('../src/run/emulation/wasi/runner-command.js')
  useBinaryRunner(process.execPath)
  if (argv[0] === BINARY_RUNNER_ARG) {
    const {wasiRunnerMain} = await import('../src/run/emulation/wasi/runner.js')
    process.exitCode = await wasiRunnerMain(argv.slice(1))
    return
  }
  await main(argv, seaBuild)
}

start(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
