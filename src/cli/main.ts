import type {VersionPjson} from './fast/version.js'

/** The command name users type (package.json oclif.bin). */
const BIN = 'agentos-toolchain'

/** A fast path: the exit code when it answered the argv, undefined to hand it to oclif. */
export type FastPath = (argv: readonly string[]) => Promise<number | undefined>

/**
 * What differs between the two builds of the CLI — the npm package (bin/run.js, see
 * npm-entry.ts) and the single binary (scripts/sea-entry.ts): where their code comes from.
 * Everything else, the order of the answers and the one exit path, is {@link main}'s.
 */
export interface CliBuild {
  /** This CLI's package.json (name, version, oclif settings), for `--version`. */
  packageJson(): VersionPjson
  /** `run` without oclif (cli/fast/run.ts), as this build loads it. */
  runFast(): Promise<FastPath>
  /** `pack` without oclif (cli/fast/pack.ts); `answered` runs once it has answered an argv. */
  packFast(): Promise<{packFast: FastPath; answered?(): void}>
  /** The full CLI: oclif with this build's commands and plugins. */
  oclif(argv: string[]): Promise<void>
  /** oclif's handler for what oclif threw (prints it and sets the exit code). */
  handle(error: unknown): Promise<void>
}

/**
 * The one entry of the CLI. Answers what it can without oclif, whose loading (about 180 modules,
 * every command) is most of the startup: `run` and `pack` in their common shapes, and `--version`;
 * everything else goes to oclif. An unknown command is a usage error (exit 2, and under `--json`
 * one coded document). Sets process.exitCode; ends the process early only after a pack.
 */
export async function main(argv: string[], build: CliBuild): Promise<void> {
  if (argv[0] === 'run') {
    const code = await (await build.runFast())(argv)
    if (code !== undefined) {
      process.exitCode = code
      return
    }
  }
  if (argv[0] === 'pack') {
    const {packFast, answered} = await build.packFast()
    const code = await packFast(argv)
    if (code !== undefined) {
      answered?.()
      // Ended here rather than by draining the event loop: a pack leaves a large heap (the
      // closure's tree, a snapshot of every file) that a natural exit first tears down, in the
      // tens of milliseconds. The empty write's callback comes once stdout has taken what went
      // before it.
      process.stdout.write('', () => process.exit(code))
      return
    }
  }
  // Loaded on demand, like everything here: `run` comes through this module too.
  const {versionLine} = await import('./fast/version.js')
  const line = await versionLine(argv, build.packageJson())
  if (line) {
    process.stdout.write(`${line}\n`)
    return
  }
  try {
    await build.oclif(argv)
  } catch (error) {
    await exitOnError(argv, error, build)
  }
}

/**
 * The one exit path for what oclif throws. plugin-not-found reports an unknown command with exit
 * 127 (the shell's convention); for this CLI an unknown command is a usage error like any other.
 */
async function exitOnError(argv: string[], error: unknown, build: CliBuild): Promise<void> {
  const oclif = (error as {oclif?: {exit?: number}} | undefined)?.oclif
  const unknown = oclif?.exit === 127
  if (unknown) oclif!.exit = 2
  const {unknownCommandDocument} = await import('./unknown-command.js')
  const document = unknown ? unknownCommandDocument(argv, BIN) : undefined
  if (document) {
    process.stdout.write(document)
    process.exitCode = 2
  } else {
    await build.handle(error)
  }
}
