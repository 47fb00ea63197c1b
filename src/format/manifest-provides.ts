import {posix} from 'node:path'
import type {Problem} from '../errors.js'
import {fieldName} from './manifest-shape.js'
import {checkVmPath, normalizePackagePath} from './paths.js'

// The rules of a manifest's `provides.files`: sources inside the package, targets normalized
// absolute VM paths that are not the VM's own, each overlaid once and none inside another.

/** Reports the problems of `provides.files` (already known to be an array) into `problems`. */
export function checkProvidedFiles(files: unknown[], problems: Problem[]): void {
  const targets = new Map<string, number>()
  files.forEach((file, index) => {
    if (!file || typeof file !== 'object') return
    const {source, target} = file as Record<string, unknown>
    if (typeof source === 'string' && source !== '') checkSource(source, index, problems)
    if (typeof target === 'string' && target !== '') checkTarget(target, index, targets, problems)
  })
  reportOverlaps(targets, problems)
}

function checkSource(source: string, index: number, problems: Problem[]): void {
  const normalized = normalizePackagePath(source)
  // "." names the package root itself, which the runtime accepts (an empty source is "/").
  if ('issue' in normalized && normalized.issue !== 'empty') {
    const absolute = normalized.issue === 'absolute'
    problems.push({
      code: absolute ? 'ERR_AGENTOS_PROVIDES_SOURCE_ABSOLUTE' : 'ERR_AGENTOS_PROVIDES_SOURCE_ESCAPES',
      severity: 'error',
      path: fieldName(`/provides/files/${index}/source`),
      message: `provides source ${JSON.stringify(source)} ${
        absolute ? 'is absolute' : `is not a path inside the package (${normalized.issue})`
      }`,
      hint: 'Sources are relative to the package root, e.g. "etc/example.conf".',
    })
  }
}

/** Checks one target; a valid one not seen before is added to `targets` (target → index). */
function checkTarget(target: string, index: number, targets: Map<string, number>, problems: Problem[]): void {
  const issue = checkVmPath(target)
  if (issue) {
    const code =
      issue === 'not-absolute'
        ? 'ERR_AGENTOS_PROVIDES_TARGET_RELATIVE'
        : issue === 'escapes'
          ? 'ERR_AGENTOS_PROVIDES_TARGET_DOTDOT'
          : 'ERR_AGENTOS_PROVIDES_TARGET_INVALID'
    problems.push({
      code,
      severity: 'error',
      path: fieldName(`/provides/files/${index}/target`),
      message: `provides target ${JSON.stringify(target)} is not a normalized absolute VM path (${issue})`,
      hint: 'Targets are absolute VM paths without "..", e.g. "/etc/example.conf".',
    })
    return
  }
  const reserved = reservedTarget(target)
  if (reserved) {
    problems.push({
      code: 'ERR_AGENTOS_PROVIDES_TARGET_RESERVED',
      severity: 'error',
      path: fieldName(`/provides/files/${index}/target`),
      message: `provides target ${target} ${reserved.reason}`,
      hint: reserved.hint,
    })
    return
  }
  const first = targets.get(target)
  if (first !== undefined) {
    problems.push({
      code: 'ERR_AGENTOS_PROVIDES_TARGET_DUPLICATE',
      severity: 'error',
      path: fieldName(`/provides/files/${index}/target`),
      message: `provides target ${target} is also the target of files[${first}]`,
      hint: 'Each VM path can be overlaid by one source only.',
    })
  } else {
    targets.set(target, index)
  }
}

// Overlays are read-only mounts: one inside another hides or is hidden by it, depending on the
// order the runtime mounts them, so neither source reliably wins.
function reportOverlaps(targets: Map<string, number>, problems: Problem[]): void {
  for (const [target, index] of targets) {
    for (let parent = posix.dirname(target); parent !== '/'; parent = posix.dirname(parent)) {
      const outer = targets.get(parent)
      if (outer === undefined) continue
      problems.push({
        code: 'ERR_AGENTOS_PROVIDES_TARGET_OVERLAP',
        severity: 'error',
        path: fieldName(`/provides/files/${index}/target`),
        message: `provides target ${target} is inside ${parent}, the target of files[${outer}]`,
        hint: 'Overlay a directory or the files inside it, not both.',
      })
      break
    }
  }
}

// The VM mounts procfs, sysfs and devfs itself, and the runtime owns /opt/agentos (package mounts,
// the command links in /opt/agentos/bin): an overlay there would shadow what the VM relies on.
const RESERVED_TARGETS = ['/proc', '/sys', '/dev', '/opt/agentos']

// Directories every guest writes to: the temporary directory (TMPDIR) and the home, which is also
// the default working directory. An overlay is a read-only mount at its target, so one on either
// (or on a parent: /home) would leave guests without them. Files inside them are fine: the parent
// directories of an overlay stay writable.
const WRITABLE_DIRS: Array<[string, string]> = [
  ['/tmp', "the VM's temporary directory"],
  ['/home/agentos', "the guest's home and working directory"],
]

/** Why an (already normalized, absolute) overlay target is off limits, or undefined. */
function reservedTarget(target: string): {reason: string; hint: string} | undefined {
  const hint =
    'Overlay files elsewhere, e.g. under /etc or /usr/share; /proc, /sys, /dev and /opt/agentos belong to the VM.'
  for (const root of RESERVED_TARGETS) {
    if (target === root || target.startsWith(`${root}/`))
      return {reason: `is under ${root}, which the VM manages`, hint}
    // Overlaying an ancestor (/ or /opt) would hide the whole reserved tree.
    if (target === '/' || root.startsWith(`${target}/`))
      return {reason: `would cover ${root}, which the VM manages`, hint}
  }
  for (const [dir, what] of WRITABLE_DIRS) {
    if (target === dir || dir.startsWith(`${target}/`)) {
      return {
        reason: `would cover ${dir}, ${what}, with a read-only mount`,
        hint: `Overlay files or subdirectories inside ${dir}, not ${dir} or a parent of it; or put them under /etc or /usr/share.`,
      }
    }
  }
  return undefined
}
