#!/usr/bin/env node
// Benchmark: what `run` costs over running the same thing directly, side by side.
//   wasm  `run <wasm package> -- echo hi`          vs  `node -e 0`            (target ≤ 1.4×)
//   node  `run my-tool-package -- my-tool 1h`       vs  `node <its cli.js> 1h`  (target ≤ 1.5×)
// Each case is timed through bin/run.js (its fast path dispatches `run` without loading oclif) and,
// when it is built, through the single binary. When an agentOS runtime is resolvable (`runtime
// list`: AGENTOS_TOOLCHAIN_RUNTIME, the project, the cache), the real engine is set beside the
// emulation too: the Node.js command and an agent session, wall time of each side plus the real
// engine's own steps (runtime import, VM create, first command, session open). Each pair is measured alternately (A, B, A, B, …)
// so machine noise hits both; prints medians, ratios and the targets. Needs a build (npm run
// build); not part of the test suite.
//
//   node bench/run.mjs [--runs 15] [--isolation auto|bwrap|path-mapped] [--binary path]
import {spawnSync} from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import wabtInit from 'wabt'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name, fallback) => {
  const index = process.argv.indexOf(name)
  return index < 0 ? fallback : process.argv[index + 1]
}
const runs = Number(arg('--runs', 15))
const isolation = arg('--isolation', 'auto')
const cli = join(root, 'bin/run.js')
const binary = arg('--binary', join(root, 'dist-bin/agentos-toolchain-linux-x64'))
const work = mkdtempSync(join(tmpdir(), 'agentos-bench-run-'))

/** The WASM command package, assembled from the test fixtures' WAT sources. */
async function wasmPackage() {
  const wabt = await wabtInit()
  const dir = join(work, 'wasm-cmds')
  mkdirSync(join(dir, 'bin'), {recursive: true})
  for (const file of ['package.json', 'agentos-package.json']) {
    writeFileSync(join(dir, file), readFileSync(join(root, 'fixtures/run/wasm-cmds', file)))
  }
  for (const file of readdirSync(join(root, 'fixtures/run/wat'))) {
    const module = wabt.parseWat(file, readFileSync(join(root, 'fixtures/run/wat', file), 'utf8'))
    const out = join(dir, 'bin', basename(file, '.wat'))
    writeFileSync(out, module.toBinary({}).buffer)
    chmodSync(out, 0o755)
    module.destroy()
  }
  return dir
}

/** Wall time, and CPU time (user + sys, from /usr/bin/time) which load on the machine disturbs less. */
function wall(file, args) {
  const start = process.hrtime.bigint()
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S', file, ...args], {
    encoding: 'utf8',
    env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
  })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0)
    throw new Error(`${file} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`)
  const [user, sys] = result.stderr.trim().split('\n').pop().split(' ').map(Number)
  return {ms, cpu: (user + sys) * 1000, stdout: result.stdout}
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

function pair(name, entry, target, subject, baseline) {
  // One warm-up of each (disk cache), not counted.
  const expected = wall(...baseline).stdout
  const got = wall(...subject).stdout
  if (name === 'node' && got !== expected)
    throw new Error(`output differs: ${JSON.stringify(got)} vs ${JSON.stringify(expected)}`)
  const a = []
  const b = []
  for (let i = 0; i < runs; i++) {
    a.push(wall(...subject))
    b.push(wall(...baseline))
  }
  const ms = (list) => median(list.map((r) => r.ms))
  const cpu = (list) => median(list.map((r) => r.cpu))
  const ratio = ms(a) / ms(b)
  return {
    name,
    entry,
    subject: ms(a),
    baseline: ms(b),
    ratio,
    cpuRatio: cpu(a) / Math.max(cpu(b), 1),
    target,
    ok: ratio <= target,
  }
}

try {
  const wasm = await wasmPackage()
  const tool = join(root, 'fixtures/examples/my-tool-package')
  const wasmArgs = ['run', wasm, '--isolation', isolation, '--', 'echo', 'hi']
  const nodeArgs = ['run', tool, '--isolation', isolation, '--', 'my-tool', '1h']
  const nodeBaseline = [process.execPath, [join(tool, 'node_modules/my-tool/cli.js'), '1h']]
  const rows = [
    pair('wasm', 'cli', 1.4, [process.execPath, [cli, ...wasmArgs]], [process.execPath, ['-e', '0']]),
    pair('node', 'cli', 1.5, [process.execPath, [cli, ...nodeArgs]], nodeBaseline),
  ]
  if (existsSync(binary)) {
    rows.push(
      pair('wasm', 'bin', 1.4, [binary, wasmArgs], [process.execPath, ['-e', '0']]),
      pair('node', 'bin', 1.5, [binary, nodeArgs], nodeBaseline),
    )
  }
  console.log(
    `run benchmark: median of ${runs} runs each, alternating; Node ${process.version}, isolation ${isolation}; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${availableParallelism()} cores`,
  )
  console.log('')
  console.log('case  entry  run (ms)  baseline (ms)  ratio   cpu ratio  target  baseline')
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(4)}  ${row.entry.padEnd(5)}  ${row.subject.toFixed(1).padStart(8)}  ${row.baseline.toFixed(1).padStart(13)}  ${row.ratio.toFixed(2).padStart(5)}×  ${row.cpuRatio.toFixed(2).padStart(8)}×  ≤ ${row.target}×  ${
        row.name === 'wasm' ? 'node -e 0' : 'node cli.js 1h'
      }  ${row.ok ? 'ok' : 'MISSED'}`,
    )
  }
  realEngine(tool)
} finally {
  rmSync(work, {recursive: true, force: true})
}

/** A `run … --json` through bin/run.js: the document and the wall time. */
function runJson(args) {
  const result = wall(process.execPath, [cli, ...args])
  return {ms: result.ms, doc: JSON.parse(result.stdout)}
}

/** The real engine against the emulation, side by side, when a runtime is resolvable. */
function realEngine(tool) {
  const list = spawnSync(process.execPath, [cli, 'runtime', 'list', '--json'], {encoding: 'utf8'})
  const selected = list.status === 0 ? JSON.parse(list.stdout).selected : undefined
  console.log('')
  if (!selected) {
    console.log('real engine: skipped, no agentOS runtime is resolvable (agentos-toolchain runtime install)')
    return
  }
  const agent = join(root, 'fixtures/examples/my-agent-package')
  const count = Math.min(runs, 5)
  const sides = {emulation: [], agentos: []}
  const agentSides = {emulation: [], agentos: []}
  const steps = {import: [], create: [], run: [], session: []}
  for (let i = 0; i < count; i++) {
    sides.emulation.push(runJson(['run', tool, '--json', '--', 'my-tool', '1h']).ms)
    const real = runJson(['run', '--engine', 'agentos', tool, '--json', '--', 'my-tool', '1h'])
    sides.agentos.push(real.ms)
    for (const step of ['import', 'create', 'run']) steps[step].push(real.doc.timings[step])
    agentSides.emulation.push(runJson(['run', agent, '--agent', '--json']).ms)
    const session = runJson(['run', '--engine', 'agentos', agent, '--agent', '--json'])
    agentSides.agentos.push(session.ms)
    steps.session.push(session.doc.steps.find((s) => s.step === 'session/open').ms)
  }
  const f = (ms) => `${ms.toFixed(0)} ms`
  console.log(
    `real engine: agentOS ${selected.version} (${selected.reason}); median of ${count}, alternating`,
  )
  console.log('case                      emulation   agentos   ratio')
  for (const [name, pairOf] of [
    ['node: my-tool 1h', sides],
    ['agent: session open', agentSides],
  ]) {
    const [e, a] = [median(pairOf.emulation), median(pairOf.agentos)]
    console.log(
      `${name.padEnd(24)}  ${f(e).padStart(9)}  ${f(a).padStart(8)}  ${(a / e).toFixed(1).padStart(5)}×`,
    )
  }
  console.log(
    `agentos steps: runtime import ${f(median(steps.import))}, VM create ${f(median(steps.create))}, ` +
      `first command ${f(median(steps.run))}, session/open ${f(median(steps.session))}`,
  )
}
