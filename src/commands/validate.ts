import {Args, Flags} from '@oclif/core'
import {validateTarget} from '../check/validate.js'
import {RUN_FLAGS} from '../cli/flags/run.js'
import {ENGINE_NAMES} from '../run/engine.js'
import {EXIT_FAILED} from '../errors.js'
import {BaseCommand} from '../cli/base-command.js'
import {renderValidation} from '../cli/render/text.js'

export default class Validate extends BaseCommand {
  static override summary = 'Check a package against the agentOS package format and report every problem.'
  static override description = `Reads a package directory, a .tgz/.tar holding one, an .aospkg archive, or an npm tarball holding package/dist/package.aospkg, and reports every problem at once, each with a stable code, severity, path, message and hint.

With --engine agentos the real agentOS runtime is asked too (found with --runtime, $AGENTOS_TOOLCHAIN_RUNTIME, the project's node_modules, or the cache filled by \`runtime install\`): one VM is made with the package (a directory or .aospkg), each command is looked up on its $PATH, and an agent opens a session; what the runtime refuses is reported as ERR_AGENTOS_RUNTIME_VM_REFUSED, ERR_AGENTOS_RUNTIME_COMMAND_UNRESOLVED or ERR_AGENTOS_RUNTIME_SESSION_FAILED with the runtime's own message.

Exit codes: 0 valid (warnings allowed), 1 errors found (or warnings with --strict), 2 usage error.`
  static override examples = [
    '<%= config.bin %> validate ./my-tool-package',
    '<%= config.bin %> validate dist/package --strict --json',
    '<%= config.bin %> validate dist/package --snapshot',
    '<%= config.bin %> validate dist/package --engine agentos',
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
    verbose: Flags.boolean({
      char: 'v',
      description:
        "also list informational notes (with --engine agentos: and the runtime's log lines on stderr)",
    }),
    engine: Flags.string({
      options: [...ENGINE_NAMES],
      default: 'emulation',
      description:
        'emulation: the static checks only; agentos: also ask the real agentOS runtime (VM creation, commands on $PATH, agent session)',
    }),
    runtime: Flags.string({description: RUN_FLAGS.runtime.description}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Validate)
    const report = await validateTarget(args.target, {
      strict: flags.strict,
      snapshot: flags.snapshot,
      engine: flags.engine,
      runtime: flags.runtime,
      verbose: flags.verbose,
    })
    this.finish(report, (r) => renderValidation(r, flags.verbose), report.ok ? 0 : EXIT_FAILED)
  }
}
