#!/usr/bin/env node
// Development entry: like run.js, with oclif's development mode (fuller diagnostics).
import {flush, handle, run, settings} from '@oclif/core'

settings.debug = true
try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (error) {
  if (error?.oclif?.exit === 127) error.oclif.exit = 2
  await handle(error)
}
