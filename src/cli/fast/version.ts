import {arch, platform} from 'node:os'

/** The package.json fields the version line depends on. */
export interface VersionPjson {
  name: string
  version: string
  oclif?: {additionalVersionFlags?: string[]; hooks?: Record<string, unknown>}
}

/**
 * The line oclif prints for `argv` when it is a version request (its Config#userAgent:
 * `name/version platform-arch node-vX`), computed without loading oclif — about 180 modules,
 * most of the startup of `--version`. Undefined when `argv` is not a version request or when the
 * answer could differ from oclif's (an `init` hook might act first, or the WSL check is
 * unavailable); the caller then lets oclif answer.
 */
export async function versionLine(argv: string[], pjson: VersionPjson): Promise<string | undefined> {
  // oclif's rule: a version flag counts only as the first argument.
  const flags = ['--version', ...(pjson.oclif?.additionalVersionFlags ?? [])]
  if (!flags.includes(argv[0] ?? '') || pjson.oclif?.hooks?.init) return undefined
  let os: string = platform()
  try {
    // oclif reports WSL as a platform of its own, decided by this same module (a dependency of
    // @oclif/core, so present wherever oclif is).
    if ((await import('wsl-utils')).isWsl) os = 'wsl'
  } catch {
    return undefined
  }
  return `${pjson.name}/${pjson.version} ${os}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`
}
