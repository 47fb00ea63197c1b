/**
 * oclif without files, for the single binary: plugins whose commands and hooks come from memory.
 *
 * oclif normally reads package.json files from disk, `import()`s the explicit command target and
 * loads plugin commands and hooks by file path. Inside a SEA there are no such files and the
 * embedded `require()` only loads builtins. @oclif/core 4 has no supported way to hand a plugin an
 * in-memory command map (its explicit strategy always imports `target`), so the one workaround —
 * writing the plugin's private command cache — is {@link seedCommandCache}, here and nowhere else;
 * test/unit/cli/oclif-memory.test.ts fails when an oclif release changes what it relies on.
 */
import type {Command, Config, Hook, Interfaces, Plugin} from '@oclif/core'
import type * as Core from '@oclif/core'

/**
 * Gives an explicit-strategy plugin its command map without the file import: oclif's
 * `loadCommandsFromTarget` returns `commandCache` when it is set, and nothing else reads it.
 */
export function seedCommandCache(plugin: Plugin, commands: CommandMap): void {
  ;(plugin as unknown as {commandCache: CommandMap}).commandCache = commands
}

/** Command ids to command classes, as an explicit-strategy target exports them. */
export type CommandMap = Record<string, Command.Class>

/**
 * A loaded plugin whose commands come from `commands` instead of a file. Its pjson is switched to
 * the explicit strategy (the target is never read: the cache is filled first) and its hooks are
 * dropped, because oclif would load them by path; `runMemoryHooks` runs them instead.
 */
export async function memoryPlugin(
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
  seedCommandCache(plugin, commands)
  await plugin.load()
  return plugin
}

/**
 * Runs the in-memory hooks of one event the way Config#runHook runs file hooks: same context,
 * same result shape, and an error with a non-zero oclif exit code propagates.
 */
export function runMemoryHooks(
  core: typeof Core,
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
