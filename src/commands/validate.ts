import {Args, Flags} from '@oclif/core'
import {EXIT_FAILED} from '../errors.js'
import {validatePackage} from '../package/validate.js'
import {BaseCommand} from '../cli/base-command.js'
import {renderValidation} from '../cli/render/text.js'

export default class Validate extends BaseCommand {
  static override summary = 'Check a package against the agentOS package format and report every problem.'
  static override description = `Reads a package directory, a .tgz/.tar holding one, an .aospkg archive, or an npm tarball holding package/dist/package.aospkg, and reports every problem at once, each with a stable code, severity, path, message and hint.

Exit codes: 0 valid (warnings allowed), 1 errors found (or warnings with --strict), 2 usage error.`
  static override examples = [
    '<%= config.bin %> validate ./my-tool-package',
    '<%= config.bin %> validate dist/package --strict --json',
    '<%= config.bin %> validate dist/package --snapshot',
  ]
  static override args = {
    target: Args.string({
      description: 'package directory, .tgz/.tar holding one, or .aospkg (also inside an npm tarball)',
      required: true,
    }),
  }
  static override flags = {
    snapshot: Flags.boolean({
      description:
        'check the agent SDK for snapshot safety even when agent.snapshot is false (always done when it is true)',
    }),
    strict: Flags.boolean({description: 'treat warnings as errors'}),
    verbose: Flags.boolean({char: 'v', description: 'also list informational notes'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Validate)
    const report = await validatePackage(args.target, {strict: flags.strict, snapshot: flags.snapshot})
    this.finish(report, (r) => renderValidation(r, flags.verbose), report.ok ? 0 : EXIT_FAILED)
  }
}
