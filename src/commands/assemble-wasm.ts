import {Args, Flags} from '@oclif/core'
import type {OutputFormat} from '../output/write-aospkg.js'
import {assembleWasm} from '../wasm/assemble.js'
import {checkWasmPackage} from '../wasm/check.js'
import {EXIT_FAILED, EXIT_USAGE} from '../errors.js'
import {BaseCommand} from '../cli/base-command.js'
import {renderAssemble, renderCheck} from '../cli/render/assemble-wasm.js'

export default class AssembleWasm extends BaseCommand {
  static override summary = 'Assemble WebAssembly commands (compiler output) into a clean package directory.'
  static override description = `Turns .wasm files into a package: package.json (name, version, bin), a generated agentos-package.json and bin/<command> (0755, no .wasm suffix). Inputs are .wasm files, directories (their *.wasm files, not recursive) or globs; the command name is the file name without .wasm. Every module is checked (magic, core module not component, compiles, exports _start, imports, memory) and the result must pass validate, or nothing is written.

Name and version come from --name/--version, else the nearest package.json, else Cargo.toml [package]. The project's agentos-package.json is merged (provides and agent kept). The output is written atomically; a non-empty directory that is not an earlier package output is refused unless --force.

--format aospkg writes the package as one deterministic .aospkg archive at <out>.aospkg (default dist/package.aospkg, the layout of the @agentos-software npm packages; an --out ending in .aospkg names it) instead of the directory; --format both writes both. The archive has the same tree digest as the directory.

--check <dir> checks a directory that already holds package.json + bin/ and writes only a missing agentos-package.json.

Exit codes: 0 assembled (or checked) without errors, 1 errors found or failed, 2 usage error.`
  static override examples = [
    '<%= config.bin %> assemble-wasm target/wasm32-wasip1/release/*.wasm',
    '<%= config.bin %> assemble-wasm build/ --out dist/package --include "share/man/**"',
    '<%= config.bin %> assemble-wasm --command ls=build/box.wasm --command cat=build/box.wasm --name my-box --version 1.0.0',
    '<%= config.bin %> assemble-wasm --check ./my-cmds',
    '<%= config.bin %> assemble-wasm build/*.wasm --format both',
  ]
  static override strict = false
  static override args = {
    inputs: Args.string({description: '.wasm files, directories holding them, or globs (several allowed)'}),
  }
  static override flags = {
    out: Flags.string({char: 'o', description: 'output directory [default: <project>/dist/package]'}),
    name: Flags.string({description: 'npm package name (default: from package.json or Cargo.toml)'}),
    version: Flags.string({description: 'package version (default: from package.json or Cargo.toml)'}),
    command: Flags.string({
      description: 'map a command name to a module: name=path (repeatable; names may share a module)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    include: Flags.string({
      description: 'glob of extra files to copy, relative to the project directory (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    project: Flags.string({
      description: 'directory to find package.json / Cargo.toml / agentos-package.json from [default: .]',
    }),
    force: Flags.boolean({
      char: 'f',
      description: 'replace a non-empty output directory that is not a package',
    }),
    check: Flags.string({
      description:
        'check an existing package directory (package.json + bin/) and write a missing agentos-package.json',
      exclusive: ['out', 'name', 'version', 'command', 'include', 'project', 'force'],
    }),
    verbose: Flags.boolean({char: 'v', description: 'also list informational notes'}),
    format: Flags.string({
      options: ['dir', 'aospkg', 'both'],
      default: 'dir',
      description:
        'dir: the package directory; aospkg: <out>.aospkg instead; both: the directory and <out>.aospkg',
    }),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(AssembleWasm)
    const inputs = argv as string[]
    if (flags.check !== undefined) {
      if (inputs.length > 0) this.error('--check cannot be used with inputs', {exit: EXIT_USAGE})
      const result = await checkWasmPackage(flags.check)
      this.finish(result, (r) => renderCheck(r, flags.verbose), result.ok ? 0 : EXIT_FAILED)
      return
    }
    const result = await assembleWasm({
      inputs,
      commands: flags.command,
      name: flags.name,
      version: flags.version,
      out: flags.out,
      include: flags.include,
      project: flags.project,
      force: flags.force,
      format: flags.format as OutputFormat,
    })
    this.finish(result, (r) => renderAssemble(r, flags.verbose), result.ok ? 0 : EXIT_FAILED)
  }
}
