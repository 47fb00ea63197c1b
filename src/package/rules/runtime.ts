/**
 * Where the spec and the real runtime (agentOS 0.2.21) disagree, as package rules: each is a
 * `WARN_AGENTOS_RUNTIME_…` warning, because the package follows the spec but breaks in the
 * runtime. Each was checked against runtime 0.2.21 (test/conformance records the same answers).
 * The emulation (`run`) says the same divergences at run time with the predicates and messages
 * exported here, so one rule lives in one place.
 */
import {posix} from 'node:path'
import type {Problem} from '../../errors.js'
import {DEFAULT_SOFTWARE_COMMANDS, VM_SHELL_BUILTINS} from '../../format/default-software.js'
import {MANIFEST_FILE} from '../../format/paths.js'
import type {CommandInfo} from '../model.js'
import type {PackageSnapshot} from '../snapshot.js'

const SHELLS = /^(sh|bash|dash|ash|zsh|ksh)$/

/** The program a `#!` line runs: its basename, or for `env` the program env is asked for. */
function interpreterProgram(path: string, argument?: string): string {
  const base = posix.basename(path)
  if (base !== 'env' || argument === undefined) return base
  return (
    argument
      .replace(/^-S\s+/, '')
      .split(/\s+/)
      .find((word) => word !== '' && !word.startsWith('-') && !word.includes('=')) ?? ''
  )
}

/** `#!/bin/sh`, `#!/bin/bash`, `#!/usr/bin/env sh`, …: a shell. */
export function isShellInterpreter(path: string, argument?: string): boolean {
  return SHELLS.test(interpreterProgram(path, argument))
}

/** `#!/usr/bin/env node`, `#!/usr/local/bin/node`, `#!/usr/bin/env -S node --flag`: Node.js. */
export function isNodeInterpreter(path: string, argument?: string): boolean {
  return /^node(js)?$/.test(interpreterProgram(path, argument))
}

/** Runtime 0.2.21 runs every package script command as JavaScript, whatever its `#!` names. */
export function scriptCommandMessage(
  command: string,
  interpreter: string,
  argument: string | undefined,
  vmPath: string,
): string {
  const line = `${interpreter}${argument ? ` ${argument}` : ''}`
  const program = interpreterProgram(interpreter, argument) || 'sh'
  return `${command} is a "#!${line}" script: the runtime runs package commands named by a non-Node "#!" as JavaScript (SyntaxError, exit 1); run it as "${program} ${vmPath}" there`
}

/** Runtime 0.2.21 mounts only directory sources of `provides.files`. */
export function providesFileSourceMessage(pkg: string, target: string, source: string): string {
  return `${pkg} provides ${target} from the file ${source}: the runtime mounts only directory sources and skips it (the target is absent there)`
}

/** Runtime 0.2.21's shell resolves these names to its builtins before `$PATH`. */
export function shellBuiltinMessage(names: readonly string[]): string {
  const list = names.map((n) => `"${n}"`).join(', ')
  const one = names.length === 1
  return `command${one ? '' : 's'} ${list} ${one ? 'is' : 'are'} also ${one ? 'a builtin' : 'builtins'} of the runtime's shell: "command -v ${names[0]}" answers "${names[0]}", and "${names[0]} …" in sh (an agent's terminal, a script) runs the builtin, not /opt/agentos/bin/${names[0]} (spawned by name, or a command line of that one word, the package's runs)`
}

/**
 * Package commands whose `#!` names something other than Node.js (a shell: `_SHELL_SCRIPT`;
 * python, perl, …: `_SCRIPT_NOT_NODE`), commands named like the runtime's default software,
 * which makes the runtime refuse the VM (`_DEFAULT_COMMAND`), and commands named like a builtin
 * of the runtime's shell, which a shell line runs as the builtin (`_SHELL_BUILTIN`).
 */
export function checkRuntimeCommands(commands: readonly CommandInfo[], problems: Problem[]): void {
  for (const command of commands) {
    const shebang = command.header?.shebang
    if (command.kind !== 'shebang' || !shebang || shebang.truncated || !shebang.interpreter.startsWith('/'))
      continue
    if (isNodeInterpreter(shebang.interpreter, shebang.argument)) continue
    const shell = isShellInterpreter(shebang.interpreter, shebang.argument)
    problems.push({
      code: shell ? 'WARN_AGENTOS_RUNTIME_SHELL_SCRIPT' : 'WARN_AGENTOS_RUNTIME_SCRIPT_NOT_NODE',
      severity: 'warning',
      path: `package.json#bin.${command.name}`,
      message: scriptCommandMessage(
        command.name,
        shebang.interpreter,
        shebang.argument,
        `/opt/agentos/bin/${command.name}`,
      ),
      hint: shell
        ? 'Write the command in JavaScript ("#!/usr/bin/env node"), or call the script through sh from a Node.js command.'
        : 'Write the command in JavaScript ("#!/usr/bin/env node") or compile it to WebAssembly.',
    })
  }
  const clashing = commands.filter((c) => DEFAULT_SOFTWARE_COMMANDS.has(c.name)).map((c) => c.name)
  if (clashing.length > 0) {
    problems.push({
      code: 'WARN_AGENTOS_RUNTIME_DEFAULT_COMMAND',
      severity: 'warning',
      path: 'package.json#bin',
      message: `command${clashing.length === 1 ? '' : 's'} ${clashing.map((n) => `"${n}"`).join(', ')} ${clashing.length === 1 ? 'is' : 'are'} also provided by the runtime's default software (@agentos-software/common): the runtime refuses the VM ("command is already provided by another package") unless it is made with defaultSoftware: false`,
      hint: 'Rename the command, or document that the VM must be created with defaultSoftware: false.',
    })
  }
  const builtins = commands.filter((c) => VM_SHELL_BUILTINS.has(c.name)).map((c) => c.name)
  if (builtins.length > 0) {
    problems.push({
      code: 'WARN_AGENTOS_RUNTIME_SHELL_BUILTIN',
      severity: 'warning',
      path: 'package.json#bin',
      message: shellBuiltinMessage(builtins),
      hint: `Rename the command (e.g. "${builtins[0]}-tool"), or call it by its path /opt/agentos/bin/${builtins[0]}.`,
    })
  }
}

/**
 * `provides.files` entries whose source is a file (the runtime mounts only directories), env
 * values under `/opt/agentos/<name>` (packages live at `/opt/agentos/pkgs/<name>/<version>`, with
 * `current`), and `agent.env` values naming `/opt/agentos/bin/<cmd>` for a command neither this
 * package nor the default software provides.
 */
export function checkRuntimeManifest(
  snapshot: PackageSnapshot,
  manifestRaw: Record<string, unknown> | undefined,
  commands: readonly CommandInfo[],
  problems: Problem[],
): void {
  const provides = asRecord(manifestRaw?.provides)
  const agent = asRecord(manifestRaw?.agent)
  const name = typeof manifestRaw?.name === 'string' ? manifestRaw.name : '<name>'
  const files = Array.isArray(provides?.files) ? (provides.files as unknown[]) : []
  files.forEach((file, index) => {
    const {source, target} = asRecord(file) ?? {}
    if (typeof source !== 'string' || typeof target !== 'string') return
    const path = posix.normalize(source.replace(/^\.\//, ''))
    if (snapshot.byPath.get(path)?.kind !== 'file') return
    problems.push({
      code: 'WARN_AGENTOS_RUNTIME_PROVIDES_FILE_SOURCE',
      severity: 'warning',
      path: `${MANIFEST_FILE}#provides.files[${index}].source`,
      message: providesFileSourceMessage(name, target, source),
      hint: `Put the file in a directory of the package and provide the directory (e.g. {"source": "${posix.dirname(path)}", "target": "${posix.dirname(target)}"}).`,
    })
  })
  const known = new Set(commands.map((c) => c.name))
  for (const [block, env] of [
    ['provides.env', asRecord(provides?.env)],
    ['agent.env', asRecord(agent?.env)],
  ] as const) {
    for (const [key, value] of Object.entries(env ?? {})) {
      if (typeof value !== 'string') continue
      const at = `${MANIFEST_FILE}#${block}.${key}`
      checkEnvValue(at, key, value, block === 'agent.env' ? known : undefined, problems)
    }
  }
}

function checkEnvValue(
  at: string,
  key: string,
  value: string,
  commands: ReadonlySet<string> | undefined,
  problems: Problem[],
): void {
  for (const match of value.matchAll(/\/opt\/agentos\/([^/:\s]+)(?:\/([^/:\s]+))?/g)) {
    const [whole, top, rest] = match
    if (top !== 'bin' && top !== 'pkgs') {
      problems.push({
        code: 'WARN_AGENTOS_RUNTIME_ENV_PATH',
        severity: 'warning',
        path: at,
        message: `${key}=${value} names ${whole}, which does not exist in the runtime: packages live at /opt/agentos/pkgs/<name>/<version>`,
        hint: `Use /opt/agentos/pkgs/${top}/current${value.slice(match.index + `/opt/agentos/${top}`.length).split(':')[0]}.`,
      })
    } else if (
      top === 'bin' &&
      rest &&
      commands &&
      !commands.has(rest) &&
      !DEFAULT_SOFTWARE_COMMANDS.has(rest)
    ) {
      problems.push({
        code: 'WARN_AGENTOS_RUNTIME_ENV_COMMAND_UNKNOWN',
        severity: 'warning',
        path: at,
        message: `${key}=${value} names /opt/agentos/bin/${rest}, a command neither this package nor the runtime's default software provides`,
        hint: `Name one of the package's commands (${[...commands].join(', ') || 'none'}), or add "${rest}" to package.json "bin".`,
      })
    }
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}
