import {spawnSync} from 'node:child_process'
import {accessSync, chmodSync, constants, mkdirSync, mkdtempSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {cliCommand, ROOT} from './cli.js'

/** Root reads every file whatever its mode, so permission cases need another user there. */
export const IS_ROOT = process.getuid?.() === 0

/** The conventional unprivileged uid/gid (nobody/nogroup). */
export const NOBODY = 65534

let nobodyReason: string | null | undefined

/**
 * Why a process cannot be run as an unprivileged user here, or null when it can: as root the
 * permission cases run the CLI as uid 65534; as another user chmod alone makes a file unreadable.
 */
export function unprivilegedSkipReason(): string | null {
  if (!IS_ROOT) return null
  if (nobodyReason !== undefined) return nobodyReason
  // Loading the whole CLI, not just node: a repository (or node_modules) others cannot read would
  // otherwise fail every case for a reason that has nothing to do with the input.
  const {file, prefix} = cliCommand()
  const probe = spawnSync(file, [...prefix, 'validate', '--help'], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
    env: {...process.env, HOME: '/'},
  })
  nobodyReason =
    probe.status === 0
      ? null
      : `running as root, and the CLI cannot run as uid ${NOBODY} here (${
          probe.error?.message ??
          probe.stderr.split('\n').find((line) => /error/i.test(line)) ??
          `exit ${probe.status}`
        })`
  return nobodyReason
}

/**
 * A fresh directory an unprivileged user can reach and write in (a writer's output goes next to
 * its inputs): under the system temp dir when every user may traverse it, else under the
 * repository's ignored .cache/ (the temp dir can be 0700).
 */
export function sharedTempDir(prefix: string): string {
  let base = tmpdir()
  if ((statSync(base).mode & 0o001) === 0) {
    base = join(ROOT, '.cache', 'test-tmp')
    mkdirSync(base, {recursive: true})
    chmodSync(base, 0o755)
    chmodSync(join(ROOT, '.cache'), 0o755)
  }
  const dir = mkdtempSync(join(base, prefix))
  chmodSync(dir, 0o777)
  return dir
}

/** Runs a command as root-only setup (mount, mknod…); returns its error text, or null on success. */
export function trySystem(file: string, args: string[]): string | null {
  const result = spawnSync(file, args, {encoding: 'utf8'})
  if (result.error) return result.error.message
  return result.status === 0
    ? null
    : `${file} ${args.join(' ')}: ${result.stderr.trim() || `exit ${result.status}`}`
}

/** True when `path` may be written by this process (false on a read-only mount, even as root). */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch {
    return false
  }
}
