import {Args, Errors} from '@oclif/core'
import {splitRunArgv} from '../cli/run-argv.js'
import {BaseCommand} from '../cli/base-command.js'
import {oclifFlags} from '../cli/flags/oclif.js'
import {RUN_FLAGS, runInput} from '../cli/flags/run.js'
import {dispatchRun} from '../cli/invoke/run.js'

export default class Run extends BaseCommand {
  static override summary =
    'Run packages in a local agentOS VM emulation, or in the real agentOS runtime: a command, or an agent session.'
  static override description = `A smoke-test emulation of the agentOS VM, NOT a security sandbox: guests run on this machine with your user's rights.

What the guest sees follows agentOS 0.2.21 (test/conformance/DIVERGENCES.md lists where the emulation differs, each with a WARN_AGENTOS_RUNTIME_* warning): each package read-only at /opt/agentos/pkgs/<name>/<version>/ with current -> <version>, each command linked at /opt/agentos/bin/<cmd>, PATH=/opt/agentos/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, the runtime's base environment (HOME=/home/agentos, USER, LOGNAME, HOSTNAME=agentos, TMPDIR=/tmp, …), the cwd /workspace (an agent: /home/agentos), provides.env merged in package order (existing keys win), agent.env over that, --env over everything; LD_*, DYLD_*, NODE_OPTIONS, BASH_ENV and *PRELOAD are removed (the runtime passes them: warned). provides.files appear at their targets as a per-run copy, so guest writes never reach the package. Two packages linking the same command are refused; a package without agentos-package.json, or whose manifest has no version, is refused as the runtime refuses it.

A package is a directory, an .aospkg archive (extracted once into a cache and mounted from there), or a .js/.mjs/.ts module that default-exports defineSoftware(...) or an array of them (a meta-package); several may be given. Executors follow the header: \\0asm runs on node:wasi in-process with the VM root as /; #! runs the named interpreter (at most one argument; #!/usr/bin/env node runs the Node.js of this CLI, or --node; the single binary has none of its own and takes the first node on PATH) in a bubblewrap namespace, or path-mapped where none can be made (said on stderr and in --json); native binaries are refused. Without a command, run describes the VM.

Engines: --engine emulation (the default) is this CLI's own model of the VM: fast, nothing to install, behaviour written from the spec, with known divergences. --engine agentos runs the packages in the real agentOS runtime (@rivet-dev/agentos-core, found with --runtime, $AGENTOS_TOOLCHAIN_RUNTIME, the project's node_modules, or the cache filled by \`runtime install\`) in a child Node.js: trust it for what the VM really does; it takes seconds to start. With it, --agent opens a session through the runtime's session API, --which asks the VM's shell (command -v), the runtime's log lines appear only with --verbose, --node names the Node.js that runs the runtime, and --isolation and --keep-root are refused (exit 2).

Exit codes: the guest's own exit code (always 0 with --json, which reports it); 2 usage; 124 --timeout reached; 125 the VM could not be set up; 126 the command cannot execute (native, unknown header, missing interpreter); 127 command not found.
With --agent: 0 ok; 3 protocol error (a JSON-RPC error, non-JSON on stdout, wrong protocolVersion); 4 timeout; 5 the agent crashed (its stderr tail is shown).`
  static override examples = [
    '<%= config.bin %> run ./my-cmds/dist/package -- tool-a',
    '<%= config.bin %> run ./my-tool-package -- my-tool 1h',
    '<%= config.bin %> run ./coreutils ./my-tool-package --which my-tool',
    '<%= config.bin %> run ./software.mjs --env DEBUG=1 -- my-tool',
    '<%= config.bin %> run ./my-agent-package --agent',
    '<%= config.bin %> run ./agents.ts --agent=my-agent --prompt "hello" --json',
    '<%= config.bin %> run --engine agentos ./my-tool-package -- my-tool 1h',
    '<%= config.bin %> run --engine agentos ./my-agent-package --agent --prompt "hello"',
  ]
  static override usage = [
    '<%= command.id %> PACKAGES... [-e NAME=value]... [--cwd <path>] [--isolation auto|bwrap|path-mapped] [--timeout <ms>] [--node <path>] [--keep-root] [--json] -- <command> [args…]',
    '<%= command.id %> PACKAGES... --which <command> [--json]',
    '<%= command.id %> PACKAGES... --agent[=<name>] [--prompt <text>] [--init-timeout <ms>] [--session-timeout <ms>] [--prompt-timeout <ms>] [--json] [-- <launch args…>]',
    '<%= command.id %> PACKAGES... [--json]',
    '<%= command.id %> --engine agentos [--runtime <dir>] [--verbose] PACKAGES... [-e NAME=value]... [--cwd <path>] [--timeout <ms>] [--json] -- <command> [args…]',
  ]
  static override strict = false
  static override args = {
    packages: Args.string({
      description:
        'package directories, .aospkg archives, or software modules (.js/.mjs/.ts default-exporting defineSoftware); several: a meta-package',
    }),
  }
  static override flags = oclifFlags(RUN_FLAGS)

  // cli/main.ts maps exit 127 (plugin-not-found's "no such CLI command") to 2; for run, 127 is
  // "the guest command was not found" or the guest's own status, so it is set directly.
  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    try {
      return await super.catch(error)
    } catch (thrown) {
      if (thrown instanceof Errors.ExitError && thrown.oclif.exit === 127) {
        process.exitCode = 127
        return undefined
      }
      throw thrown
    }
  }

  async run(): Promise<void> {
    const split = splitRunArgv(this.argv)
    const {argv, flags} = await this.parse(Run, split.own)
    const outcome = await dispatchRun(runInput(argv as string[], split, flags, this.jsonEnabled()), {
      // Straight to stderr: oclif mutes its own stderr logging under --json, and the isolation
      // fallback must be said in both modes.
      note: (message) => process.stderr.write(`${message}\n`),
      write: (text) => process.stdout.write(text),
    })
    this.finish(outcome.result as never, outcome.render, outcome.exitCode)
  }
}
