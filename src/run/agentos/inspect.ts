import {detectHeader, type HeaderInfo} from '../../format/header.js'
import {isPosixEnvName} from '../../format/paths.js'
import type {EngineOptions, EngineOutcome} from '../engine.js'
import {RUN_EXIT} from '../errors.js'
import {drive, prepare, runtimeDocument, type AgentosSettings} from './operation.js'
import type {RuntimeVmDescription, RuntimeWhich} from './results.js'

// The real engine's two looks at a VM without running a command: `--which` and the description.

/** `run --engine agentos <packages> --which <command>`: what `command -v` finds in the real VM. */
export async function whichCommand(
  settings: AgentosSettings,
  options: EngineOptions & {command: string},
): Promise<EngineOutcome<RuntimeWhich>> {
  const {runtime, packages, env} = await prepare(settings, options)
  const outcome = await drive(
    settings,
    {op: 'which', packages, env, cwd: options.cwd, command: options.command},
    runtime,
  )
  const r = outcome.result as {
    out: string
    exitCode: number
    head?: string
    software: Array<{packageName: string; commands: string[]}>
  }
  const path = (/^PATH=(.*)$/m.exec(r.out)?.[1] ?? '').split(':').filter(Boolean)
  const vmPath = /^FOUND=(.*)$/m.exec(r.out)?.[1]
  const listing = r.out
    .split('\n')
    .find((line) => line !== '' && !line.startsWith('PATH=') && !line.startsWith('FOUND='))
  const name = options.command.split('/').pop()!
  const header = r.head ? detectHeader(Buffer.from(r.head, 'base64')) : undefined
  const found = vmPath !== undefined
  const pkg = r.software.find((s) => s.commands.includes(name))?.packageName
  const builtin = found && !vmPath.startsWith('/')
  return {
    result: {
      ...runtimeDocument(runtime),
      command: options.command,
      found,
      path,
      vmPath,
      listing,
      package: pkg,
      ...(builtin ? {builtin} : {}),
      ...(pkg && found && vmPath !== `/opt/agentos/bin/${name}` ? {shadowed: true} : {}),
      kind: header?.kind,
      description: headerDescription(header),
      exitCode: found ? 0 : RUN_EXIT.notFound,
    },
    exitCode: found ? 0 : RUN_EXIT.notFound,
  }
}

/** `#!/usr/bin/env node`, `WebAssembly … module`, or undefined for other files. */
function headerDescription(header: HeaderInfo | undefined): string | undefined {
  return header?.shebang
    ? `#!${header.shebang.interpreter}${header.shebang.argument ? ` ${header.shebang.argument}` : ''}`
    : header?.wasmLayer
      ? `WebAssembly ${header.wasmLayer} module`
      : undefined
}

/** `run --engine agentos <packages>` without a command: the real VM's software, agents and environment. */
export async function describeVm(
  settings: AgentosSettings,
  options: EngineOptions,
): Promise<EngineOutcome<RuntimeVmDescription>> {
  const {runtime, packages, env} = await prepare(settings, options)
  const outcome = await drive(settings, {op: 'describe', packages, env, cwd: options.cwd}, runtime)
  const r = outcome.result as {
    software: Array<{packageName: string; commands: string[]}>
    agents: Array<{id: string; installed: boolean}>
    probe: {out: string}
  }
  const [cwd = '', ...lines] = r.probe.out.split('\n')
  const vmEnv: Record<string, string> = {}
  for (const line of lines) {
    const eq = line.indexOf('=')
    if (eq > 0 && isPosixEnvName(line.slice(0, eq))) vmEnv[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return {
    result: {
      ...runtimeDocument(runtime),
      packages: r.software.map((s) => ({name: s.packageName, commands: s.commands})),
      agents: r.agents,
      env: Object.fromEntries(Object.entries(vmEnv).sort(([a], [b]) => (a < b ? -1 : 1))),
      cwd,
    },
    exitCode: 0,
  }
}
