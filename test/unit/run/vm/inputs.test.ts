// A software file written for the real runtime imports defineSoftware from @rivet-dev/agentos (or
// -core, or this tool) and names the package as packagePath or packageDir; `run` loads it whether
// or not that package is installed next to the file (here: a temp dir, where nothing resolves).
import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadInputs} from '../../../../src/run/vm/inputs.js'
import {ROOT} from '../../../helpers/cli.js'

let work: string

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'agentos-software-module-'))
  cpSync(join(ROOT, 'fixtures/examples/my-tool-package'), join(work, 'my-tool-package'), {recursive: true})
})
afterAll(() => rmSync(work, {recursive: true, force: true}))

const cases = [
  ['software.mjs', '@rivet-dev/agentos', 'packagePath'],
  ['software-core.mjs', '@rivet-dev/agentos-core', 'packageDir'],
  ['software.ts', 'agentos-toolchain', 'packagePath'],
  ['software-cjs.cjs', '@rivet-dev/agentos', 'packagePath'],
] as const

describe('run: software modules that import defineSoftware from a package not installed next to them', () => {
  it.for(cases)('%s imports it from %s and names the package with %s', async ([file, from, key]) => {
    const source = file.endsWith('.cjs')
      ? `const {defineSoftware} = require('${from}')\nconst {join} = require('node:path')\nmodule.exports = defineSoftware({${key}: join(__dirname, 'my-tool-package')})\n`
      : `import {defineSoftware} from '${from}'\nimport {dirname, join} from 'node:path'\nimport {fileURLToPath} from 'node:url'\n\nconst here = dirname(fileURLToPath(import.meta.url))\nexport default defineSoftware([{${key}: join(here, 'my-tool-package')}])\n`
    writeFileSync(join(work, file), source)
    const packages = await loadInputs([join(work, file)])
    expect(packages.map((p) => [p.name, p.dir])).toEqual([['my-tool', join(work, 'my-tool-package')]])
  })

  it('still refuses a module whose default export is not a package', async () => {
    writeFileSync(
      join(work, 'bad.mjs'),
      "import {defineSoftware} from '@rivet-dev/agentos'\nexport default defineSoftware({packagePath: 'relative'})\n",
    )
    await expect(loadInputs([join(work, 'bad.mjs')])).rejects.toMatchObject({
      code: 'ERR_AGENTOS_SOFTWARE_DIR_RELATIVE',
    })
  })
})
