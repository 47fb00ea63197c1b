#!/usr/bin/env node
// The npm package's entry: the CLI's one entry (src/cli/main.ts) with the npm build's files.
const {main} = await import('../dist/cli/main.js')
const {npmBuild} = await import('../dist/cli/npm-entry.js')
await main(process.argv.slice(2), npmBuild)
