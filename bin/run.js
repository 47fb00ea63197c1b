#!/usr/bin/env node
import {readFileSync} from 'node:fs'

// `--version` is answered without loading oclif, which is most of its startup time.
const {versionLine} = await import('../dist/lib/version.js')
const line = await versionLine(
  process.argv.slice(2),
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')),
)
if (line) {
  process.stdout.write(`${line}\n`)
} else {
  const {flush, handle, run} = await import('@oclif/core')
  try {
    await run(process.argv.slice(2), import.meta.url)
    await flush()
  } catch (error) {
    // plugin-not-found reports an unknown command with exit 127 (the shell's convention); for this
    // CLI an unknown command is a usage error like any other, so it exits 2.
    if (error?.oclif?.exit === 127) error.oclif.exit = 2
    await handle(error)
  }
}
