import {stat} from 'node:fs/promises'
import {resolve} from 'node:path'
import {AgentosError} from '../errors.js'

/** What `pack` was pointed at. */
export type PackSource =
  | {kind: 'directory'; path: string; spec: string}
  | {kind: 'tarball'; path: string; spec: string}
  | {kind: 'registry'; spec: string; name?: string; type: string}

/**
 * Classifies the `pack` argument: an existing directory, a `.tgz`/`.tar` file, or a registry spec
 * (`name`, `name@range`, `name@tag`, `@scope/name@x`, `alias@npm:name@x`) parsed as npm does.
 */
export async function classifySource(input: string, cwd: string): Promise<PackSource> {
  const path = resolve(cwd, input)
  const info = await stat(path).catch(() => undefined)
  if (info?.isDirectory()) return {kind: 'directory', path, spec: input}
  if (info?.isFile()) {
    if (/\.(tgz|tar\.gz|tar)$/.test(path)) return {kind: 'tarball', path, spec: input}
    throw new AgentosError('ERR_AGENTOS_PACK_SOURCE_INVALID', `${input} is a file but not a .tgz or .tar`, {
      hint: 'Pass a project directory, a package tarball, or a registry spec such as my-tool@1.2.0.',
      path: input,
    })
  }
  const looksLikePath = input.startsWith('.') || input.startsWith('/') || /\.(tgz|tar\.gz|tar)$/.test(input)
  if (looksLikePath) {
    throw new AgentosError('ERR_AGENTOS_PACK_SOURCE_NOT_FOUND', `${input} does not exist`, {
      hint: 'Check the path of the project directory or tarball.',
      path: input,
    })
  }
  const {default: npa} = await import('npm-package-arg')
  let parsed: ReturnType<typeof npa>
  try {
    parsed = npa(input, cwd)
  } catch (error) {
    throw new AgentosError(
      'ERR_AGENTOS_PACK_SPEC_INVALID',
      `"${input}" is not a valid package spec: ${(error as Error).message}`,
      {
        hint: 'Use name, name@version, name@tag, @scope/name@range or alias@npm:name@range.',
        cause: error,
      },
    )
  }
  if (parsed.type === 'directory' || parsed.type === 'file') {
    throw new AgentosError('ERR_AGENTOS_PACK_SOURCE_NOT_FOUND', `${input} does not exist`, {
      hint: 'Check the path of the project directory or tarball.',
      path: input,
    })
  }
  return {kind: 'registry', spec: input, name: parsed.name ?? undefined, type: parsed.type}
}
