#!/usr/bin/env node
import {fileURLToPath} from 'node:url'

const argv = process.argv.slice(2)

/**
 * Answers what it can without oclif, whose loading (about 180 modules, every command) is most of
 * the startup: `--version`, `run` in its common shape (packages, `--`, a guest command), and `pack`
 * in its common shape (one source, documented flags).
 * Returns false when the argv needs the full CLI.
 */
async function fastPath() {
  if (argv[0] === 'run') {
    // dist/cli/fast/run.js and the modules a WASM command runs on, bundled (scripts/build.mjs).
    const {runFast} = await import('../dist/cli/run-fast.bundle.js')
    const code = await runFast(argv)
    if (code === undefined) return false
    process.exitCode = code
    return true
  }
  if (argv[0] === 'pack') {
    // dist/cli/fast/pack.js and all it reaches, dependencies too, in one cached bundle.
    const {loadBundle} = await import('../dist/cli/fast/load-bundle.js')
    const bundle = loadBundle(fileURLToPath(new URL('../dist/cli/pack-fast.bundle.cjs', import.meta.url)))
    const code = await bundle.exports.packFast(argv)
    if (code === undefined) return false
    bundle.saveCache()
    // Ended here rather than by draining the event loop: a pack leaves a large heap (the
    // closure's tree, a snapshot of every file) that a natural exit first tears down, in the
    // tens of milliseconds. The empty write's callback comes once stdout has taken what went
    // before it.
    process.stdout.write('', () => process.exit(code))
    return true
  }
  const {versionLine} = await import('../dist/cli/fast/version.js')
  const line = await versionLine(
    argv,
    // getBuiltinModule, not `import … from 'node:fs'`, whose ESM facade loads node:stream: `run`
    // comes through here too (see src/run/emulation/run.ts).
    JSON.parse(
      process.getBuiltinModule('node:fs').readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ),
  )
  if (!line) return false
  process.stdout.write(`${line}\n`)
  return true
}

if (!(await fastPath())) {
  const {flush, handle, run} = await import('@oclif/core')
  try {
    await run(argv, import.meta.url)
    await flush()
  } catch (error) {
    // plugin-not-found reports an unknown command with exit 127 (the shell's convention); for this
    // CLI an unknown command is a usage error like any other, so it exits 2.
    const unknown = error?.oclif?.exit === 127
    if (unknown) error.oclif.exit = 2
    const {unknownCommandDocument} = await import('../dist/cli/unknown-command.js')
    const document = unknown ? unknownCommandDocument(argv, 'agentos-toolchain') : undefined
    if (document) {
      process.stdout.write(document)
      process.exitCode = 2
    } else {
      await handle(error)
    }
  }
}
