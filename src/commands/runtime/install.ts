import {Args, Flags} from '@oclif/core'
import {installRuntime, RUNTIME_INSTALL_STEPS, type RuntimeInstallResult} from '../../runtime/install.js'
import {PINNED_RUNTIME_VERSION, RUNTIME_PACKAGE} from '../../runtime/version.js'
import {BaseCommand} from '../../cli/base-command.js'
import {stepProgress} from '../../cli/progress.js'

export default class RuntimeInstall extends BaseCommand {
  static override summary = 'Install the agentOS runtime that run --engine agentos uses into the cache.'
  static override description = `Installs ${RUNTIME_PACKAGE} (default: ${PINNED_RUNTIME_VERSION}, the version this CLI is tested with) into <cache>/runtime/<version>, where <cache> is $AGENTOS_TOOLCHAIN_CACHE, else $XDG_CACHE_HOME/agentos-toolchain, else ~/.cache/agentos-toolchain. It is an npm install with your npm configuration (registry, auth, proxy, npm cache): every tarball is checked against the registry's integrity, and install scripts run (the runtime's better-sqlite3 builds a native addon). The install goes to a temp directory renamed into place, so an interrupted install leaves nothing half-written. About 1.2 GB.`
  static override examples = [
    '<%= config.bin %> runtime install',
    '<%= config.bin %> runtime install 0.2.21 --json',
    '<%= config.bin %> runtime install --force',
  ]
  static override args = {
    version: Args.string({description: `version, range or dist-tag (default ${PINNED_RUNTIME_VERSION})`}),
  }
  static override flags = {
    force: Flags.boolean({description: 'reinstall even if that version is in the cache'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(RuntimeInstall)
    const json = this.jsonEnabled()
    const mode = json ? 'silent' : process.stderr.isTTY && !process.env.CI ? 'tty' : 'plain'
    const progress = await stepProgress(RUNTIME_INSTALL_STEPS, mode)
    let result: RuntimeInstallResult
    try {
      result = await installRuntime({version: args.version, force: flags.force, reporter: progress.reporter})
    } catch (error) {
      await progress.finish(error)
      throw error
    }
    await progress.finish()
    this.finish({ok: true, ...result}, (r) =>
      r.alreadyInstalled
        ? `${RUNTIME_PACKAGE}@${r.version} is already installed at ${r.dir} (--force reinstalls)`
        : `installed ${RUNTIME_PACKAGE}@${r.version} at ${r.dir} (${r.packages ?? '?'} packages, ${(r.ms / 1000).toFixed(1)} s)${r.integrity ? `\n  integrity: ${r.integrity}` : ''}`,
    )
  }
}
