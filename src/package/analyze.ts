/**
 * The package analyzer: runs the rule groups of `rules/` over a snapshot, in a fixed order, and
 * builds the {@link PackageModel} every command works from.
 */
import type {Problem} from '../errors.js'
import {unscopedName} from '../format/bin-map.js'
import type {Analysis, PackageModel} from './model.js'
import {checkAgent} from './rules/agent.js'
import {closurePackages} from './rules/closure.js'
import {checkHasCommands, packageCommands} from './rules/commands.js'
import {
  checkVersionsAgree,
  explainUnreadDescriptors,
  readManifest,
  readPackageJson,
} from './rules/descriptors.js'
import {checkRuntimeCommands, checkRuntimeManifest} from './rules/runtime.js'
import {checkProvidedSources, checkTree} from './rules/tree.js'
import type {PackageSnapshot} from './snapshot.js'

/**
 * Checks a package snapshot against every rule of the package format and builds its model. Never
 * throws on bad content: each defect is a {@link Problem}.
 */
export function analyzePackage(snapshot: PackageSnapshot): Analysis {
  const problems: Problem[] = [...snapshot.problems]
  const packageJson = readPackageJson(snapshot, problems)
  const {manifest, raw: manifestRaw} = readManifest(snapshot, problems)
  explainUnreadDescriptors(snapshot, problems)

  const found = packageCommands(snapshot, packageJson, problems)
  checkAgent(snapshot, manifestRaw, found.commands, found.hasBinMap, problems)
  checkHasCommands(found, problems)
  checkProvidedSources(snapshot, manifestRaw, problems)
  checkRuntimeCommands(found.commands, problems)
  checkRuntimeManifest(snapshot, manifestRaw, found.commands, problems)
  const pkgVersion = typeof packageJson?.version === 'string' ? packageJson.version : undefined
  checkVersionsAgree(manifest, pkgVersion, problems)
  checkTree(snapshot, packageJson, problems)
  const closure = closurePackages(snapshot, packageJson, problems)

  const npmName = typeof packageJson?.name === 'string' ? packageJson.name : snapshot.container?.wrapper?.name
  const files = snapshot.entries.filter((e) => e.kind === 'file')
  const model: PackageModel = {
    name:
      typeof manifestRaw?.name === 'string' ? manifestRaw.name : npmName ? unscopedName(npmName) : undefined,
    version: pkgVersion ?? (typeof manifestRaw?.version === 'string' ? manifestRaw.version : undefined),
    npmName,
    manifest,
    commands: found.commands,
    binSource: found.bin.source,
    closure,
    files: files.length,
    bytes: files.reduce((sum, e) => sum + e.size, 0),
  }
  return {model, problems: sortProblems(problems)}
}

const SEVERITY_ORDER = {error: 0, warning: 1, info: 2}

/** Orders problems by severity, then path, then code, so reports are stable. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.path ?? '').localeCompare(b.path ?? '') ||
      a.code.localeCompare(b.code),
  )
}
