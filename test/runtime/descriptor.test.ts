// Issue 17: one software file for this tool and for the real runtime. The module imports
// defineSoftware from "@rivet-dev/agentos" — not installed next to it — and `run` loads it; the
// descriptor it exports, made by this tool's defineSoftware ({packagePath, packageDir}), is handed
// as is to the real runtime's AgentOs.create, which runs the package's command.
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {resolveRuntime} from '../../src/runtime/resolve.js'
import {ROOT, runProcess, spawnCapture} from '../helpers/cli.js'
import {agentosRuntime, requires} from '../helpers/requirements.js'

const pkg = join(ROOT, 'fixtures/examples/my-tool-package')
let work: string
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'agentos-descriptor-'))
})
afterAll(() => rm(work, {recursive: true, force: true}))

describe('a software file shared by run and the real runtime', {timeout: 120_000}, () => {
  it.for(['packagePath', 'packageDir'])(
    'defineSoftware({%s}) from "@rivet-dev/agentos"',
    async (key, context) => {
      requires(context, agentosRuntime)
      const software = join(work, `software-${key}.mjs`)
      await writeFile(
        software,
        `import {defineSoftware} from '@rivet-dev/agentos'\nexport default defineSoftware({${key}: ${JSON.stringify(pkg)}})\n`,
      )
      // run loads it with nothing installed next to it (the import is stood in for).
      const emulated = await runProcess(['run', software, '--', 'my-tool', '1h'])
      expect(emulated.stdout, emulated.stderr).toBe('my-tool: 3600000\n')

      // The same descriptor, from this tool's own defineSoftware, accepted by the runtime itself.
      const runtime = await resolveRuntime()
      const script = join(work, `real-${key}.mjs`)
      await writeFile(
        script,
        [
          `import {defineSoftware} from ${JSON.stringify(join(ROOT, 'dist/index.js'))}`,
          `import {AgentOs} from ${JSON.stringify(runtime.entry)}`,
          `const descriptor = defineSoftware({${key}: ${JSON.stringify(pkg)}})`,
          `const vm = await AgentOs.create({software: [descriptor]})`,
          `try { const r = await vm.exec('my-tool 1h'); process.stdout.write(JSON.stringify({exitCode: r.exitCode, stdout: r.stdout})) }`,
          `finally { await vm.dispose?.() }`,
          `process.exit(0)`,
        ].join('\n'),
      )
      const real = await spawnCapture(process.execPath, [script])
      expect(JSON.parse(real.stdout), real.stderr).toEqual({exitCode: 0, stdout: 'my-tool: 3600000\n'})
    },
  )
})
