/** Failures of an install (arborist, the registry, the npm cache, a tarball) as coded errors. */
import {sep} from 'node:path'
import {AgentosError, isAgentosError} from '../errors.js'
import type {NpmFlatOptions} from './npm-config.js'
import type {PackSource} from './source.js'

/** Turns an arborist or registry failure of an install into a coded error naming what failed. */
export function installError(
  error: NodeJS.ErrnoException & {uri?: string; pkgid?: string},
  source: PackSource,
  npmConfig: NpmFlatOptions,
): Error {
  const registry = String(npmConfig.registry ?? 'https://registry.npmjs.org/')
  const what = error.pkgid ?? packageFromUri(error.uri) ?? source.spec
  return knownInstallError(error, source, registry, what) ?? otherInstallError(error, source, registry, what)
}

/** The failures npm gives a code of their own; undefined for any other. */
function knownInstallError(
  error: NodeJS.ErrnoException,
  source: PackSource,
  registry: string,
  what: string,
): AgentosError | undefined {
  switch (error.code) {
    case 'E404':
      return new AgentosError('ERR_AGENTOS_PACK_NOT_FOUND', `${what} is not in the registry ${registry}`, {
        hint: 'Check the package name and scope, or the registry configured for that scope.',
        cause: error,
      })
    case 'ETARGET':
      return new AgentosError(
        'ERR_AGENTOS_PACK_NO_MATCHING_VERSION',
        `no version of ${what} matches the spec`,
        {
          hint: 'Check the version range or dist-tag.',
          cause: error,
        },
      )
    case 'ENOTCACHED':
      return new AgentosError('ERR_AGENTOS_PACK_NOT_CACHED', `${what} is not in the npm cache (offline)`, {
        hint: 'Run once without --offline to fill the cache, or use --prefer-offline.',
        cause: error,
      })
    case 'E401':
    case 'E403':
      return new AgentosError(
        'ERR_AGENTOS_PACK_REGISTRY_AUTH',
        `the registry ${registry} refused access to ${what} (${error.code})`,
        {
          hint: 'Log in (npm login) or set an auth token for this registry in .npmrc.',
          cause: error,
        },
      )
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new AgentosError(
        'ERR_AGENTOS_PACK_REGISTRY_UNREACHABLE',
        `cannot reach the registry ${registry} (${error.code})`,
        {
          hint: 'Check the network or proxy settings, or run with --offline to use the npm cache.',
          cause: error,
        },
      )
    case 'EINVALIDPACKAGENAME':
    case 'EINVALIDTAGNAME':
      return new AgentosError(
        'ERR_AGENTOS_PACK_SPEC_INVALID',
        `"${source.spec}" is not a valid package spec`,
        {
          hint: 'Use name, name@version, name@tag, @scope/name@range or alias@npm:name@range.',
          cause: error,
        },
      )
    default:
      return undefined
  }
}

/** Any other registry status, a corrupt tarball, or the error as it is. */
function otherInstallError(
  error: NodeJS.ErrnoException,
  source: PackSource,
  registry: string,
  what: string,
): Error {
  if (error.code?.startsWith('E') && /^E\d{3}$/.test(error.code)) {
    return new AgentosError(
      'ERR_AGENTOS_PACK_REGISTRY_ERROR',
      `the registry ${registry} answered ${error.code} for ${what}`,
      {
        hint: 'Retry later, or check the registry configuration.',
        cause: error,
      },
    )
  }
  // A tarball that is empty (ENODATA from the npm cache), not gzip/tar, or cut short.
  if (source.kind === 'tarball' && (error.code === 'ENODATA' || /^(TAR|Z)_/.test(error.code ?? ''))) {
    return new AgentosError(
      'ERR_AGENTOS_PACK_TARBALL_CORRUPT',
      `${source.spec} is not a readable package tarball: ${error.message}`,
      {
        hint: 'Pass a .tgz made by npm pack (or agentos-toolchain pack --tar), or the project directory.',
        path: source.spec,
        cause: error,
      },
    )
  }
  return error
}

function packageFromUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined
  try {
    const path = decodeURIComponent(new URL(uri).pathname).replace(/^\/+/, '')
    return path.split('/-/')[0] || undefined
  } catch {
    return undefined
  }
}

/**
 * An error whose path lies in a scratch install directory names the registry spec instead: the
 * directory is deleted before the user reads the error (`--json` used to show a dead temp path).
 */
export function withoutScratchPath(error: unknown, scratch: readonly string[], spec: string): unknown {
  if (!isAgentosError(error) || error.path === undefined) return error
  const dir = scratch.find((d) => error.path === d || error.path!.startsWith(`${d}${sep}`))
  if (!dir) return error
  const inside = error.path.slice(dir.length + 1).replace(/^node_modules\/(@[^/]+\/)?[^/]+\/?/, '')
  return new AgentosError(error.code, error.message, {
    hint: error.hint,
    path: inside ? `${spec}:${inside}` : spec,
    exitCode: error.exitCode,
    details: error.details,
    cause: error,
  })
}
