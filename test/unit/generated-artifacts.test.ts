import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {COMMANDS} from '../../src/commands/index.js'
import {ROOT} from '../helpers/cli.js'

const inGit = existsSync(join(ROOT, '.git'))

describe('generated artifacts', () => {
  // `npm test` runs the build first, which regenerates both files; a committed copy that differs
  // from the regenerated one shows up as a working-tree change.
  it('the committed oclif.manifest.json and JSON Schema are up to date', (context) => {
    if (!inGit) context.skip('not a git checkout: nothing committed to compare with')
    const changed = execFileSync(
      'git',
      ['status', '--porcelain', '--', 'oclif.manifest.json', 'schema/agentos-package.schema.json'],
      {cwd: ROOT, encoding: 'utf8'},
    )
    expect(changed, 'run `npm run build` and commit the regenerated files').toBe('')
  })

  it('the oclif manifest lists every command of the explicit map, each with --json', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8'))
    expect(Object.keys(manifest.commands).sort()).toEqual(Object.keys(COMMANDS).sort())
    for (const command of Object.values(manifest.commands) as Array<{flags: Record<string, unknown>}>) {
      expect(command.flags).toHaveProperty('json')
    }
  })
})
