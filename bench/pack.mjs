#!/usr/bin/env node
// Benchmark: `pack` of an already-installed real-world project (~200 packages, ~20k files: a
// project depending on @agentos-software/pi) against two baselines, run side by side:
//   cp -r     copying the node_modules that pack produced (the floor for any copying packer)
//   reference the reference toolchain's method: npm pack + npm install --prefer-offline into a
//             temp dir + copy
// Every step starts from the same footing (its input read once, earlier writes synced; see
// settle), and pack and cp take turns going first. Prints median wall times, the ratios, and
// pack's peak RSS. Needs the npm registry once to install the project (kept in .cache/bench); not
// part of the test suite.
//
//   node bench/pack.mjs [--runs 5]
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5
const project = join(root, '.cache/bench/pi-project')
const cli = join(root, 'bin/run.js')

function ensureProject() {
  if (existsSync(join(project, 'node_modules/@agentos-software/pi'))) return
  mkdirSync(project, {recursive: true})
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify(
      {
        name: 'bench-pi',
        version: '1.0.0',
        bin: {'bench-pi': 'cli.js'},
        dependencies: {'@agentos-software/pi': '0.2.7'},
      },
      null,
      2,
    )}\n`,
  )
  writeFileSync(join(project, 'cli.js'), "#!/usr/bin/env node\nrequire('@agentos-software/pi')\n", {
    mode: 0o755,
  })
  console.error('installing the benchmark project (once)…')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: project,
    stdio: 'inherit',
  })
}

/** Runs a command under /usr/bin/time; returns wall seconds and peak RSS in MB. */
function timed(file, args, options = {}) {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', file, ...args], {encoding: 'utf8', ...options})
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed:\n${result.stderr}`)
  const [wall, rssKb] = result.stderr.trim().split('\n').pop().split(' ').map(Number)
  return {seconds: wall, rssMb: rssKb / 1024}
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

function count(dir) {
  let files = 0
  const walk = (d) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) walk(join(d, e.name))
      else files++
    }
  }
  walk(dir)
  return files
}

/**
 * Puts every step on the same footing before it is timed: the tree it reads is read once (this
 * VM's kernel pages out cold page cache, so otherwise pack would read its source from disk while
 * cp reads the output pack has just written), and earlier steps' writes and deletions are flushed
 * (else the next step pays for their journal commits).
 */
function settle(input) {
  const read = (d) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      if (e.isDirectory()) read(join(d, e.name))
      else if (e.isFile()) readFileSync(join(d, e.name))
    }
  }
  read(input)
  execFileSync('sync')
}

ensureProject()
const work = mkdtempSync(join(tmpdir(), 'agentos-bench-'))
const samples = {pack: [], cp: [], reference: [], rss: []}
try {
  const packOnce = (i) => {
    const out = join(work, `out-${i}`)
    settle(project)
    const run = timed(process.execPath, [cli, 'pack', project, '--out', out, '--prune-native', '--json'], {
      env: {...process.env, CI: 'true'},
    })
    samples.pack.push(run.seconds)
    samples.rss.push(run.rssMb)
  }
  // cp copies the node_modules of the first pack, so the two can take turns going first.
  const cpOnce = (i) => {
    settle(join(work, 'out-0/node_modules'))
    samples.cp.push(timed('cp', ['-r', join(work, 'out-0/node_modules'), join(work, `cp-${i}`)]).seconds)
  }
  for (let i = 0; i < runs; i++) {
    // Each step gets its turn first: on this VM a step runs slower the more the filesystem has
    // taken in just before it (the ext4 here is mounted with online discard, so deletions cost
    // their writers' successors too). Nothing is deleted until every run is done.
    if (i % 2 === 0) {
      packOnce(i)
      cpOnce(i)
    } else {
      cpOnce(i)
      packOnce(i)
    }

    const reference = join(work, `ref-${i}`)
    mkdirSync(reference)
    settle(project)
    const started = process.hrtime.bigint()
    const tgz = execFileSync(
      'npm',
      ['pack', project, '--pack-destination', reference, '--silent', '--ignore-scripts'],
      {
        encoding: 'utf8',
      },
    )
      .trim()
      .split('\n')
      .pop()
    execFileSync(
      'npm',
      [
        'install',
        join(reference, tgz),
        '--prefer-offline',
        '--omit=dev',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--install-strategy=hoisted',
        '--prefix',
        join(reference, 'install'),
        '--loglevel=error',
      ],
      {stdio: 'ignore'},
    )
    execFileSync('cp', ['-r', join(reference, 'install/node_modules'), join(reference, 'copy')])
    samples.reference.push(Number(process.hrtime.bigint() - started) / 1e9)
  }
  const out0 = join(work, 'out-0')
  const packages = readdirSync(join(out0, 'node_modules')).length
  const files = count(out0)
  const pack = median(samples.pack)
  const cp = median(samples.cp)
  const reference = median(samples.reference)
  const rows = [
    ['pack (installed tree)', pack],
    ['cp -r of its node_modules', cp],
    ['reference (npm pack + install + copy)', reference],
  ]
  console.log(`project: ${project}`)
  console.log(`output: ${files} files, ${packages} top-level node_modules entries; ${runs} runs, medians`)
  for (const [label, seconds] of rows) console.log(`  ${label.padEnd(40)} ${seconds.toFixed(3)} s`)
  console.log(`ratio pack / cp -r:      ${(pack / cp).toFixed(2)}×  (target ≤ 1.3×)`)
  console.log(`ratio reference / pack:  ${(reference / pack).toFixed(2)}×  (target ≥ 8×)`)
  console.log(`pack peak RSS:           ${Math.max(...samples.rss).toFixed(0)} MB  (target ≤ 300 MB)`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
