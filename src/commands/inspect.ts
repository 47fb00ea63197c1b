import {Args} from '@oclif/core'
import {inspectPackage} from '../package/inspect.js'
import {BaseCommand} from '../cli/base-command.js'
import {renderInspect} from '../cli/render/text.js'

export default class Inspect extends BaseCommand {
  static override summary = 'Show what a package holds: commands, agent, provides, closure and digest.'
  static override description = `Reads a package directory, a .tgz/.tar holding one, an .aospkg archive, or an npm tarball holding package/dist/package.aospkg, in place (an archive is never extracted), and shows its name, version, sha256 tree digest, commands, agent block, provides, closure statistics and the validation summary.

Exits 0 when the package could be read, whatever the validation found; 1 when it could not be read.`
  static override examples = [
    '<%= config.bin %> inspect ./my-tool-package',
    '<%= config.bin %> inspect my-tool-1.0.0.tgz --json',
    '<%= config.bin %> inspect dist/package.aospkg',
  ]
  static override args = {
    target: Args.string({
      description: 'package directory, .tgz/.tar holding one, or .aospkg (also inside an npm tarball)',
      required: true,
    }),
  }

  async run(): Promise<void> {
    const {args} = await this.parse(Inspect)
    const report = await inspectPackage(args.target)
    this.finish(report, renderInspect)
  }
}
