#!/usr/bin/env node
import {flush, handle, run} from '@oclif/core'

try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (error) {
  // plugin-not-found reports an unknown command with exit 127 (the shell's convention); for this
  // CLI an unknown command is a usage error like any other, so it exits 2.
  if (error?.oclif?.exit === 127) error.oclif.exit = 2
  await handle(error)
}
