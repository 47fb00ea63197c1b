/**
 * The inputs of `assemble-wasm` (files, directories, globs and `--command name=path` mappings) as
 * one candidate module per command name.
 *
 * Decisions worth knowing:
 * - Directories are read non-recursively: a Cargo target dir holds hashed duplicates under
 *   `deps/` and a wasi-sdk build dir holds CMake scratch, so recursing would pick up files that are
 *   not the commands. Point at the release dir, or pass a recursive glob (`build/**` + `/*.wasm`).
 * - Directories and globs contribute their `*.wasm` files; a file named explicitly is used
 *   whatever its name (it must still be WebAssembly).
 */
import {readdir, realpath} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'
import fg from 'fast-glob'
import {AgentosError, EXIT_USAGE} from '../errors.js'
import {commandNameIssue} from '../format/bin-map.js'
import {compareBytes} from '../format/byte-order.js'
import {displayPath, statOrUndefined} from './paths.js'
import type {AssembleOptions, Candidate} from './types.js'

/** Inputs and `--command` mappings → one candidate per command name, sorted by name. */
export async function collectCandidates(options: AssembleOptions, cwd: string): Promise<Candidate[]> {
  const found: Candidate[] = []
  for (const input of options.inputs ?? []) {
    found.push(...(await inputFiles(input, cwd)).map((file) => fromFile(file, cwd)))
  }
  for (const [name, path] of commandMappings(options.commands)) {
    found.push(fromFile(await commandFile(name, path, cwd), cwd, name))
  }
  if (found.length === 0) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_NO_INPUTS',
      'no inputs: pass .wasm files, directories or globs',
      {
        hint: 'e.g. assemble-wasm target/wasm32-wasip1/release/*.wasm, or --command name=path.',
        exitCode: EXIT_USAGE,
      },
    )
  }
  return uniqueCommands(found)
}

function fromFile(file: string, cwd: string, name = basename(file).replace(/\.wasm$/, '')): Candidate {
  return {name, file, display: displayPath(file, cwd)}
}

/** The absolute module files one input stands for: the file, a directory's or a glob's `*.wasm`. */
async function inputFiles(input: string, cwd: string): Promise<string[]> {
  const absolute = resolve(cwd, input)
  const info = await statOrUndefined(absolute)
  if (info?.isFile()) return [absolute]
  if (info?.isDirectory()) {
    const names = (await readdir(absolute)).filter((n) => n.endsWith('.wasm')).sort(compareBytes)
    const files: string[] = []
    for (const n of names)
      if ((await statOrUndefined(join(absolute, n)))?.isFile()) files.push(join(absolute, n))
    if (files.length === 0) {
      throw new AgentosError('ERR_AGENTOS_ASSEMBLE_NO_MATCH', `the directory ${input} holds no .wasm file`, {
        hint: `Directories are read non-recursively: pass the directory holding the modules (e.g. target/wasm32-wasip1/release) or a glob such as '${input.replace(/\/+$/, '')}/**/*.wasm'.`,
        path: input,
      })
    }
    return files
  }
  if (info) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INPUT_NOT_FILE',
      `${input} is neither a file nor a directory`,
      {
        hint: 'Pass .wasm files, directories holding them, or a glob.',
        path: input,
      },
    )
  }
  if (fg.isDynamicPattern(input)) {
    const matches = (
      await fg(input, {cwd, absolute: true, onlyFiles: true, followSymbolicLinks: true, unique: true})
    )
      .filter((file) => file.endsWith('.wasm'))
      .sort(compareBytes)
    if (matches.length === 0) {
      throw new AgentosError('ERR_AGENTOS_ASSEMBLE_NO_MATCH', `the pattern ${input} matches no .wasm file`, {
        hint: 'Check the pattern (relative to the current directory) and that the build ran.',
        path: input,
      })
    }
    return matches.map((file) => resolve(file))
  }
  throw new AgentosError('ERR_AGENTOS_ASSEMBLE_INPUT_MISSING', `the input ${input} does not exist`, {
    hint: 'Build the module first, or fix the path.',
    path: input,
  })
}

/** The absolute module file of `--command name=path`, which must be a file. */
async function commandFile(name: string, path: string, cwd: string): Promise<string> {
  const absolute = resolve(cwd, path)
  const info = await statOrUndefined(absolute)
  if (!info) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INPUT_MISSING',
      `--command ${name}=${path}: ${path} does not exist`,
      {
        hint: 'Build the module first, or fix the path.',
        path,
      },
    )
  }
  if (!info.isFile()) {
    throw new AgentosError(
      'ERR_AGENTOS_ASSEMBLE_INPUT_NOT_FILE',
      `--command ${name}=${path}: ${path} is not a file`,
      {
        hint: 'Map the command to one .wasm file: --command name=path/to/module.wasm.',
        path,
      },
    )
  }
  return absolute
}

/**
 * One candidate per command name, sorted by name, with real paths: a name must be linkable, and a
 * name found twice must be the same file both times.
 */
async function uniqueCommands(found: readonly Candidate[]): Promise<Candidate[]> {
  const byName = new Map<string, Candidate & {real: string}>()
  for (const candidate of found) {
    const real = await realpath(candidate.file)
    const issue = commandNameIssue(candidate.name)
    if (issue || candidate.name.startsWith('_') || candidate.name.startsWith('.')) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_COMMAND_NAME_INVALID',
        `command name ${JSON.stringify(candidate.name)} (from ${candidate.display}) ${
          issue ?? `starts with "${candidate.name[0]}", so it would never be linked as a command`
        }`,
        {
          hint: 'Rename the file, or name the command explicitly: --command my-tool=path.wasm.',
          path: candidate.display,
        },
      )
    }
    const earlier = byName.get(candidate.name)
    if (earlier) {
      if (earlier.real === real) continue
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_DUPLICATE_COMMAND',
        `command "${candidate.name}" comes from both ${earlier.display} and ${candidate.display}`,
        {
          hint: 'Pass only one of them, or name them apart with --command name=path.',
          path: candidate.display,
        },
      )
    }
    byName.set(candidate.name, {...candidate, file: real, real})
  }
  return [...byName.values()]
    .map(({real: _real, ...candidate}) => candidate)
    .sort((a, b) => compareBytes(a.name, b.name))
}

/** `--command` values (`name=path` strings) or an object → [name, path] pairs; repeats are errors. */
function commandMappings(commands: AssembleOptions['commands']): Array<[string, string]> {
  if (!commands) return []
  if (!Array.isArray(commands)) return Object.entries(commands as Record<string, string>)
  const pairs: Array<[string, string]> = []
  const seen = new Map<string, string>()
  for (const value of commands as readonly string[]) {
    const at = value.indexOf('=')
    const name = at < 0 ? '' : value.slice(0, at)
    const path = at < 0 ? '' : value.slice(at + 1)
    if (name === '' || path === '') {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_COMMAND_FLAG',
        `--command ${JSON.stringify(value)} is not name=path`,
        {
          hint: 'Write --command my-tool=build/my-tool.wasm.',
          exitCode: EXIT_USAGE,
        },
      )
    }
    const earlier = seen.get(name)
    if (earlier !== undefined && earlier !== path) {
      throw new AgentosError(
        'ERR_AGENTOS_ASSEMBLE_DUPLICATE_COMMAND',
        `--command ${name} is given twice (${earlier} and ${path})`,
        {hint: 'Map each command name once.', exitCode: EXIT_USAGE},
      )
    }
    seen.set(name, path)
    pairs.push([name, path])
  }
  return pairs
}
