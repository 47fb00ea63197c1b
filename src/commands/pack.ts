import {Args, Flags} from '@oclif/core'
import type {OutputFormat} from '../output/write-aospkg.js'
import {BaseCommand} from '../cli/base-command.js'
import {dispatchPack} from '../cli/invoke/pack.js'
import {renderPack} from '../cli/render/pack.js'

export default class Pack extends BaseCommand {
  static override summary = 'Pack a Node.js CLI or agent into a self-contained agentOS package.'
  static override description = `The source is a project directory, a package tarball (.tgz, .tar.gz or .tar, e.g. from npm pack), or a registry spec (name, name@range, name@tag, @scope/name@x, alias@npm:name@x). An .aospkg already is a package: run, inspect or validate it directly.

A project whose node_modules already satisfies its production dependencies is packed from the installed tree (no network); otherwise the closure is installed into a staging directory with the npm configuration of the user (registries, scopes, auth, cafile, proxy, cache).

The output holds package.json ({name, version, bin} with every bin entry pointing at a real file), the flat node_modules closure and agentos-package.json — no symlinks. It is validated before it is moved into place; on failure the target is unchanged.

Default output: ./<name>-package for a directory or tarball; for a registry spec the versioned store layout ./packages/<name>/<version>/ plus a ./packages/<name>/current pointer.

--format aospkg writes the package as one deterministic .aospkg archive at <out>.aospkg (an --out ending in .aospkg names it) instead of the directory; --format both writes the directory and <out>.aospkg next to it. The archive has the same tree digest as the directory.`
  static override examples = [
    '<%= config.bin %> pack ./my-tool',
    '<%= config.bin %> pack @scope/my-agent --out ./packages --agent my-agent-acp',
    '<%= config.bin %> pack ./my-tool --out dist/package --tar dist/my-tool.tgz --json',
    '<%= config.bin %> pack ./my-tool --format aospkg --out dist/my-tool.aospkg',
  ]
  static override args = {
    source: Args.string({
      description: 'project directory, package tarball (.tgz/.tar), or registry spec (name[@version|@tag])',
      required: true,
    }),
  }
  static override flags = {
    out: Flags.string({
      char: 'o',
      description: 'output directory (the package, or the store root with --layout versioned)',
    }),
    layout: Flags.string({
      options: ['flat', 'versioned'],
      description: 'flat: out is the package; versioned: out/<name>/<version> + current',
    }),
    agent: Flags.string({description: 'command to record as agent.acpEntrypoint'}),
    force: Flags.boolean({
      char: 'f',
      description: 'replace a non-empty foreign output directory; override a declared acpEntrypoint',
    }),
    'prune-native': Flags.boolean({
      description: 'delete native .node addons and binaries from the closure (reported)',
    }),
    'keep-aospkg': Flags.boolean({
      description:
        'keep the agentOS archive the package ships of itself (dist/package.aospkg), left out by default',
    }),
    install: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'install when the local node_modules is missing or unsatisfied',
    }),
    offline: Flags.boolean({description: 'use only the npm cache'}),
    'prefer-offline': Flags.boolean({description: 'use cached registry metadata without revalidating'}),
    registry: Flags.string({description: 'registry URL (overrides the npm configuration)'}),
    tar: Flags.string({description: 'also write a deterministic .tgz of the package to this file'}),
    format: Flags.string({
      options: ['dir', 'aospkg', 'both'],
      default: 'dir',
      description:
        'dir: the package directory; aospkg: <out>.aospkg instead; both: the directory and <out>.aospkg',
    }),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Pack)
    const result = await dispatchPack({
      source: args.source,
      out: flags.out,
      layout: flags.layout as 'flat' | 'versioned' | undefined,
      agent: flags.agent,
      force: flags.force,
      pruneNative: flags['prune-native'],
      keepOwnAospkg: flags['keep-aospkg'],
      install: flags.install,
      offline: flags.offline,
      preferOffline: flags['prefer-offline'],
      registry: flags.registry,
      tar: flags.tar,
      format: flags.format as OutputFormat,
      json: this.jsonEnabled(),
    })
    this.finish(result, renderPack)
  }
}
