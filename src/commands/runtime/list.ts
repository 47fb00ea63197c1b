import {listRuntimes, type RuntimeList} from '../../runtime/list.js'
import {RUNTIME_PACKAGE} from '../../runtime/version.js'
import {BaseCommand} from '../../cli/base-command.js'
import {table} from '../../cli/render/text.js'

export default class RuntimeListCommand extends BaseCommand {
  static override summary =
    'List the agentOS runtimes in the cache, and the one run --engine agentos would use.'
  static override description = `Shows every ${RUNTIME_PACKAGE} version under <cache>/runtime and which runtime run --engine agentos would load from here, and why: --runtime is not a flag of this command, so the order is $AGENTOS_TOOLCHAIN_RUNTIME, the project's node_modules (from the working directory up), then the cache (the pinned version, else the newest).`
  static override examples = ['<%= config.bin %> runtime list', '<%= config.bin %> runtime list --json']

  async run(): Promise<void> {
    await this.parse(RuntimeListCommand)
    const list = await listRuntimes()
    this.finish({ok: true, ...list}, render)
  }
}

function render(list: RuntimeList): string {
  const out: string[] = [`Cache: ${list.cacheDir}`]
  if (list.installed.length === 0) out.push('  (no runtime installed — agentos-toolchain runtime install)')
  else
    out.push(
      table(
        list.installed.map((r) => [
          r.version,
          r.version === list.pinned ? 'pinned' : '',
          r.dir === list.selected?.dir ? '← used' : '',
          r.dir,
        ]),
        '  ',
      ),
    )
  out.push(
    '',
    list.selected
      ? `run --engine agentos uses ${RUNTIME_PACKAGE}@${list.selected.version}: ${list.selected.reason}`
      : `run --engine agentos finds no runtime (looked at: ${list.looked.join('; ')})`,
  )
  return out.join('\n')
}
