// A small driver of the real agentOS runtime for the conformance cases: one VM per case, made with
// the case's packages, asked through the runtime's own API (exec, execArgv, the session API), and
// disposed. It stays apart from the CLI's `--engine agentos` on purpose: the suite checks that
// engine's ground truth, so it must not share its code.
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import type {CaseResult, ConformanceCase, PackageRef} from './cases.js'
import {fixturePath} from './fixtures.js'

const PACKAGE = '@rivet-dev/agentos-core'

/**
 * The runtime's entry module under `dir` ($AGENTOS_TOOLCHAIN_RUNTIME): an npm prefix holding
 * the package, or the package directory itself; undefined when there is none.
 */
export function runtimeEntry(dir: string | undefined): {entry: string; version: string} | undefined {
  if (!dir) return undefined
  for (const root of [join(dir, 'node_modules', PACKAGE), dir]) {
    const manifest = join(root, 'package.json')
    if (!existsSync(manifest)) continue
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {name?: string; version?: string}
    if (pkg.name === PACKAGE && existsSync(join(root, 'dist/index.js')))
      return {entry: join(root, 'dist/index.js'), version: pkg.version ?? '?'}
  }
  return undefined
}

interface RuntimeVm {
  exec(
    line: string,
    options?: {env?: Record<string, string>},
  ): Promise<{exitCode: number; stdout: string; stderr: string}>
  execArgv(
    command: string,
    args: readonly string[],
    options?: {env?: Record<string, string>},
  ): Promise<{exitCode: number; stdout: string; stderr: string}>
  sessions: {
    open(input: {agent: string; sessionId: string}): Promise<void>
    get(input: {sessionId: string}): Promise<{cwd: string}>
    getAgentInfo(input: {sessionId: string}): Promise<{name?: string; version?: string} | null>
    getCapabilities(input: {
      sessionId: string
    }): Promise<{protocolVersion: number; loadSession: boolean} | null>
    prompt(input: {
      sessionId: string
      content: Array<{type: 'text'; text: string}>
    }): Promise<{message?: {content?: Array<{type: string; text?: string}>}}>
  }
  dispose(): Promise<void>
}

interface RuntimeModule {
  AgentOs: {create(options: unknown): Promise<RuntimeVm>}
}

/** The runtime's software entries of a case: a meta-package is a nested array. */
function software(dir: string, packages: readonly PackageRef[]): unknown[] {
  return packages.map((ref) =>
    typeof ref === 'object' && 'meta' in ref
      ? ref.meta.map((name) => ({packagePath: join(dir, name)}))
      : {packagePath: fixturePath(dir, ref)},
  )
}

/** Runs one case in the runtime at `entry`, with the fixtures materialized in `dir`. */
export async function runReal(entry: string, dir: string, testCase: ConformanceCase): Promise<CaseResult> {
  // Every case makes its VM in this one process, and so shares one sidecar: there runtime 0.2.21's
  // warm V8 worker pool can thrash (two keys evicting each other's workers at 135% CPU), which
  // held node-version for 171 s once and hung a whole run for 25 minutes another time. Without
  // warm workers the file takes 27 s. A `run --engine agentos` (one VM per process) never showed it.
  process.env.AGENTOS_V8_WARM_ISOLATES ??= '0'
  const {AgentOs} = (await import(pathToFileURL(entry).href)) as RuntimeModule
  const state = mkdtempSync(join(tmpdir(), 'agentos-conformance-db-'))
  let vm: RuntimeVm
  try {
    vm = await AgentOs.create({
      software: software(dir, testCase.packages),
      database: {type: 'sqlite_file', path: join(state, 'db.sqlite')},
    })
  } catch (error) {
    rmSync(state, {recursive: true, force: true})
    return {refused: String((error as Error).message ?? error)}
  }
  try {
    const options = testCase.env ? {env: testCase.env} : undefined
    const {run} = testCase
    if ('shell' in run) return pick(await vm.exec(run.shell, options))
    if ('argv' in run) return pick(await vm.execArgv(run.argv[0]!, run.argv.slice(1), options))
    const sessionId = 'conformance'
    await vm.sessions.open({agent: run.agent, sessionId})
    const info = await vm.sessions.getAgentInfo({sessionId})
    const capabilities = await vm.sessions.getCapabilities({sessionId})
    const session = await vm.sessions.get({sessionId})
    const reply = await vm.sessions.prompt({sessionId, content: [{type: 'text', text: run.prompt}]})
    return {
      agent: {
        name: info?.name,
        version: info?.version,
        protocolVersion: capabilities?.protocolVersion,
        loadSession: capabilities?.loadSession,
        sessionCwd: session.cwd,
        reply: (reply.message?.content ?? []).map((block) => block.text ?? '').join(''),
      },
    }
  } finally {
    await vm.dispose()
    rmSync(state, {recursive: true, force: true})
  }
}

function pick(result: {exitCode: number; stdout: string; stderr: string}): CaseResult {
  return {exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr}
}
