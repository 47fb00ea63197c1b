#!/usr/bin/env node
// Build: compile TypeScript, then regenerate the two committed artifacts derived from the sources
// (schema/agentos-package.schema.json and oclif.manifest.json). A test fails when the committed
// copies differ from what this produces.
import {execFileSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = (file, args) =>
  execFileSync(file, args, {
    cwd: root,
    stdio: 'inherit',
    env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
  })

rmSync(join(root, 'dist'), {recursive: true, force: true})
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'])

const {manifestJsonSchema} = await import(join(root, 'dist/core/format/manifest.js'))
writeFileSync(
  join(root, 'schema/agentos-package.schema.json'),
  `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`,
)

run(process.execPath, [join(root, 'node_modules/oclif/bin/run.js'), 'manifest'])
