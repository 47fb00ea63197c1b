import {Args} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {oclifFlags} from '../cli/flags/oclif.js'
import {PACK_FLAGS, packInput} from '../cli/flags/pack.js'
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
  static override flags = oclifFlags(PACK_FLAGS)

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Pack)
    const result = await dispatchPack(packInput(args.source, flags, this.jsonEnabled()))
    this.finish(result, renderPack)
  }
}
