/**
 * The plan step of `pack`: the files of every closure package, the ones left out, the commands
 * and the manifest, all decided before a byte is written.
 */
import {realpathSync, statSync} from 'node:fs'
import {basename, dirname, join, sep} from 'node:path'
import {mapLimit} from '../util/map-limit.js'
import {OUTPUT_MARKER} from '../format/paths.js'
import type {CopyTree} from '../output/copy-protocol.js'
import type {OutputFile} from '../output/files.js'
import {checkFileName, checkProjectNames, listPackage, packageHasFile} from '../output/walk.js'
import {planCommands} from './bins.js'
import {buildManifest, readSourceManifest} from './manifest.js'
import {findSnapshotBundle} from './snapshot-bundle.js'
import type {PackSource} from './source.js'
import type {FileLookup, LeftOutFile, PackOptions, PackReporter, Plan, Resolved} from './types.js'

/**
 * Plans the package, reporting the bins step: its files (with copy threads, installed packages as
 * trees they list as they copy), its commands and its manifest, the inputs checked on the way.
 */
export async function planPackage(
  resolved: Resolved,
  source: PackSource,
  names: {npmName: string; version: string},
  options: PackOptions,
  report: PackReporter,
  walkLater: boolean,
): Promise<Plan> {
  const {npmName, version} = names
  report.start?.('bins')
  const manifestInput = await readSourceManifest(resolved.rootDir)
  const rootOut = `node_modules/${resolved.closure.nodes[0]!.out.slice('node_modules/'.length)}`
  // With copy threads, installed packages are listed by the threads as they copy them (trees);
  // the project's own files, chosen like `npm pack`, are always listed here.
  const {files, trees} = await planFiles(resolved, walkLater)
  const lookup = fileLookup(files, trees)
  const leftOutFiles = options.keepOwnAospkg
    ? []
    : leaveOutOwnAospkg(rootOut, files, lookup.planned, trees, lookup.inTree)
  const {commands, warnings} = await planCommands(resolved, source, npmName, rootOut, files, lookup)
  const bundle = findSnapshotBundle(rootOut, lookup.planned, lookup.inTree)
  const manifest = buildManifest(manifestInput, npmName, version, commands, options, bundle !== undefined)
  const placedBundle = (manifest.agent as {snapshot?: boolean} | undefined)?.snapshot ? bundle : undefined
  if (placedBundle) files.push(...placedBundle.files)
  report.done?.('bins', commands.map((c) => c.name).join(', '))
  return {files, trees, leftOutFiles, commands, warnings, manifest, placedBundle}
}

/**
 * The files to write: each closure package's own files under its output directory. With
 * `walkLater`, installed packages are returned as trees for the copy threads to list as they copy
 * them; else every file is listed here.
 */
async function planFiles(
  resolved: Resolved,
  walkLater: boolean,
): Promise<{files: OutputFile[]; trees: CopyTree[]}> {
  const {default: packlist} = await import('npm-packlist')
  const trees: CopyTree[] = []
  const perPackage = await mapLimit(resolved.closure.nodes, 8, async ({node, out}) => {
    // Packages that come from the user's own folders (the project, workspaces, file: deps) ship
    // what `npm pack` would ship; packages installed from tarballs already are exactly that.
    const local = resolved.project && (node === resolved.root || !/(^|\/)node_modules\//.test(node.location))
    if (!local && walkLater) {
      trees.push({source: node.realpath, out})
      return []
    }
    // A staging copy of the project lists the project's own folder.
    const own = node === resolved.root && resolved.rootFiles ? resolved.rootFiles : node
    if (local) checkProjectNames(own.realpath)
    const relativeFiles = local
      ? (await packlist(own as never)).filter(
          // A workspace's list also names its hoisted dependencies (../../node_modules/…): those
          // are closure packages of their own.
          (f) => !f.startsWith('node_modules/') && !f.startsWith('../'),
        )
      : listPackage(node.realpath)
    for (const file of relativeFiles) checkFileName(own.realpath, file)
    return relativeFiles.map((file): OutputFile => ({
      path: `${out}/${file}`,
      source: resolved.overrides?.get(`${out}/${file}`) ?? join(own.realpath, file),
    }))
  })
  return {files: perPackage.flat(), trees}
}

/** Looks a package path up among the planned files and in the trees. */
function fileLookup(files: readonly OutputFile[], trees: readonly CopyTree[]): FileLookup {
  const planned = new Map(files.map((file) => [file.path, file]))
  const inTree = (path: string): OutputFile | undefined => {
    const tree = trees
      .filter((t) => path.startsWith(`${t.out}/`))
      .sort((a, b) => b.out.length - a.out.length)[0]
    if (!tree) return undefined
    const rel = path.slice(tree.out.length + 1)
    return packageHasFile(tree.source, rel) ? {path, source: join(tree.source, rel)} : undefined
  }
  const has = (path: string) => planned.has(path) || inTree(path) !== undefined
  return {planned, inTree, has}
}

/**
 * Leaves out the agentOS archive a published agentOS package ships of itself
 * (`dist/package.aospkg`, as the `@agentos-software/*` packages do): it holds the package being
 * packed, so copying it would ship everything twice (pi: 131 MB of a 252 MB package).
 */
function leaveOutOwnAospkg(
  rootOut: string,
  files: OutputFile[],
  planned: Map<string, OutputFile>,
  trees: CopyTree[],
  inTree: (path: string) => OutputFile | undefined,
): LeftOutFile[] {
  const path = `${rootOut}/${OWN_AOSPKG}`
  const file = planned.get(path) ?? inTree(path)
  if (!file || typeof file.source !== 'string') return []
  const bytes = statSync(file.source).size
  if (planned.delete(path)) files.splice(files.indexOf(file), 1)
  const tree = trees.find((t) => t.out === rootOut)
  if (tree) tree.exclude = [...(tree.exclude ?? []), OWN_AOSPKG]
  return [{path, bytes, reason: 'own-aospkg'}]
}

/** Where the `@agentos-software/*` npm packages carry their own agentOS archive. */
const OWN_AOSPKG = 'dist/package.aospkg'

/**
 * Drops the project files that are this pack's own outputs, and any earlier output of this tool in
 * the project: with `--out dist/package` inside the project (the README's CI recipe), each pack
 * would otherwise copy the previous package into node_modules/<name>/dist/package, growing without
 * end. Output paths are compared as given and
 * as resolved (the project may be reached through a link).
 */
export function leaveOutOwnOutputs(files: OutputFile[], outputs: readonly string[]): void {
  // Earlier outputs elsewhere in the project too: every package directory this tool writes holds
  // its marker.
  const earlier = files.flatMap((file) =>
    typeof file.source === 'string' && basename(file.source) === OUTPUT_MARKER ? [dirname(file.source)] : [],
  )
  const roots = [...outputs, ...earlier].flatMap((path) => {
    const real = realpathOrNull(path)
    return real && real !== path ? [path, real] : [path]
  })
  const isOutput = (source: string) =>
    roots.some((root) => source === root || source.startsWith(`${root}${sep}`))
  for (let i = files.length - 1; i >= 0; i--) {
    const source = files[i]!.source
    if (typeof source === 'string' && isOutput(source)) files.splice(i, 1)
  }
}

/** The real path, or null when there is nothing at `path`. */
export function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path)
  } catch {
    return null
  }
}
