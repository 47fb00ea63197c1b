/**
 * The resolve and install steps of `pack`: the production closure from the project's installed
 * tree (or the installed workspace it is a member of), else from an install with arborist into a
 * scratch directory, exactly from the project's lockfile when it has one.
 */
import {lstat, mkdtemp, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, relative, sep} from 'node:path'
import {AgentosError} from '../errors.js'
import {parseJsonDocument, parseJsonLenient} from '../format/json.js'
import {installError} from './install-errors.js'
import {loadNpmConfig, type NpmFlatOptions} from './npm-config.js'
import {realpathOrNull} from './plan.js'
import {findPnpmInstall, fromPnpmTree, pnpmNotInstalled} from './pnpm.js'
import {classifySource, type PackSource} from './source.js'
import {type ArbNode, type Closure, productionClosure} from './tree.js'
import type {LockfileName, PackOptions, PackReporter, Resolved} from './types.js'

/**
 * Resolves the source to its production closure, reporting the resolve and install steps. The
 * installed tree is used when it satisfies the production dependencies; else the closure is
 * installed into a scratch directory, pushed on `scratch` for the caller to remove.
 */
export async function resolveClosure(
  options: PackOptions,
  cwd: string,
  report: PackReporter,
  scratch: string[],
): Promise<{source: PackSource; resolved: Resolved}> {
  report.start?.('resolve')
  const source = await classifySource(options.source, cwd)
  const pnpm = source.kind === 'directory' ? findPnpmInstall(source.path) : undefined
  if (pnpm && source.kind === 'directory') {
    // pnpm's tree is read as pnpm installed it; npm would re-resolve it, ignoring pnpm-lock.yaml.
    const resolved = await fromPnpmTree(source.path, pnpm)
    if (resolved.closure.missing.length > 0)
      throw pnpmNotInstalled(source.path, pnpm, resolved.closure.missing)
    report.done?.('resolve', `using the node_modules pnpm installed in ${pnpm.root}`)
    report.skip?.('install', 'the installed tree satisfies the production dependencies')
    return {source, resolved}
  }
  let resolved = source.kind === 'directory' ? await fromInstalledTree(source.path) : undefined
  if (resolved && source.kind === 'directory' && resolved.closure.missing.length > 0) {
    const member = await workspaceMember(source.path)
    if (member && member.closure.missing.length === 0) resolved = member
  }
  if (resolved && resolved.closure.missing.length > 0) {
    if (options.install === false) {
      const names = resolved.closure.missing.map((m) => `${m.name}@${m.spec} (needed by ${m.from})`)
      throw new AgentosError(
        'ERR_AGENTOS_PACK_DEPS_MISSING',
        `the installed node_modules does not satisfy ${names.length} production dependencies: ${names.join(', ')}`,
        {
          hint: 'Run `npm install` in the project, or drop --no-install to install into a staging dir.',
          path: source.spec,
        },
      )
    }
    resolved = undefined
  }
  report.done?.(
    'resolve',
    resolved ? 'using the installed node_modules' : `install needed for ${source.spec}`,
  )

  if (resolved) {
    report.skip?.('install', 'the installed tree satisfies the production dependencies')
  } else {
    report.start?.('install')
    if (source.kind === 'tarball') await refuseTarballBomb(source.path)
    const dir = await mkdtemp(join(tmpdir(), 'agentos-pack-install-'))
    scratch.push(dir)
    // Only an install needs the user's npm configuration (read lazily: loading it costs about
    // 0.1 s, a tenth of packing a whole installed project).
    const npmConfig = await loadNpmConfig(source.kind === 'directory' ? source.path : cwd, {
      offline: options.offline,
      preferOffline: options.preferOffline,
      registry: options.registry,
    })
    const lockfile = source.kind === 'directory' ? await projectLockfile(source.path) : undefined
    resolved =
      source.kind === 'directory' && lockfile
        ? await installFromLockfile(source.path, lockfile, dir, npmConfig, source)
        : await installIntoStaging(source, dir, npmConfig)
    report.done?.('install', `${resolved.closure.nodes.length} packages`)
  }
  return {source, resolved}
}

/**
 * A tarball whose member claims more than the archive can hold (a 1 MB gzip of a 1 GB file), or
 * that lists more members than a package may have, is refused by the bounded reader `inspect`
 * uses, before the installer unpacks it: each took over a gigabyte of memory there (the first then
 * failed with a misleading "not a readable package tarball", the second ran for minutes). Other
 * defects are left to the install, which names them as before.
 */
async function refuseTarballBomb(file: string): Promise<void> {
  const {readTarball} = await import('../package/read-tarball.js')
  await readTarball(file, {}).catch((error: AgentosError) => {
    if (
      error.code === 'ERR_AGENTOS_TAR_MEMBER_TOO_LARGE' ||
      error.code === 'ERR_AGENTOS_TAR_TOO_MANY_MEMBERS'
    )
      throw error
  })
}

async function loadArborist(): Promise<typeof import('@npmcli/arborist')> {
  return (await import('@npmcli/arborist')).default as unknown as typeof import('@npmcli/arborist')
}

/** The closure from a project's own installed node_modules: no network, no install. */
async function fromInstalledTree(dir: string): Promise<Resolved> {
  const Arborist = await loadArborist()
  const tree = (await new Arborist({path: dir}).loadActual()) as unknown as ArbNode
  if (!tree.package.name) {
    // Arborist reads a broken package.json as an empty one: say what is wrong with it instead.
    const file = join(dir, 'package.json')
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT' ? undefined : error,
    )
    if (text instanceof Error) {
      throw new AgentosError('ERR_AGENTOS_SOURCE_UNREADABLE', `cannot read ${file}: ${text.code}`, {
        hint: 'Make package.json readable (chmod u+r).',
        path: file,
        cause: text,
      })
    }
    if (text !== undefined && parseJsonLenient(text) === undefined) {
      // npm tolerates a byte order mark here, so only the syntax is judged.
      const problem = parseJsonDocument(text.replace(/^\uFEFF/, ''), 'package.json').problems[0]!
      throw new AgentosError('ERR_AGENTOS_PACK_PACKAGE_JSON_INVALID', `${file}: ${problem.message}`, {
        hint: problem.hint,
        path: file,
        details: [problem],
      })
    }
    throw new AgentosError('ERR_AGENTOS_PACK_NO_PACKAGE_JSON', `${dir} has no package.json with a "name"`, {
      hint: 'Pack a project directory with a package.json (name, version, bin).',
      path: join(dir, 'package.json'),
    })
  }
  return {root: tree, rootDir: dir, project: true, closure: projectClosure(tree)}
}

/** The closure of a project tree, each package re-homed under the flat output's node_modules. */
function projectClosure(tree: ArbNode, start: ArbNode = tree): Closure {
  const rootOut = `node_modules/${String(start.package.name)}`
  const links = new Map<string, string>()
  const outOf = (node: ArbNode): string => {
    if (node === start) return rootOut
    // A workspace member's own nested packages (packages/cli/node_modules/x) go under it.
    if (start.location !== '' && node.location.startsWith(`${start.location}/`))
      return rootOut + node.location.slice(start.location.length)
    if (node.isLink) {
      links.set(node.target.location, node.location)
      return node.location
    }
    if (node.location.startsWith('node_modules/')) return node.location
    // A package inside a workspace or file: dependency's own folder: re-home it under the link.
    for (const [targetLocation, linkLocation] of links) {
      if (node.location === targetLocation) return linkLocation
      if (node.location.startsWith(`${targetLocation}/`))
        return linkLocation + node.location.slice(targetLocation.length)
    }
    return node.location
  }
  return productionClosure(start, outOf)
}

/**
 * A workspace member as npm (or yarn) installs it: its dependencies hoisted to the workspace
 * root's node_modules, its siblings linked there. The member's closure is read from the root's
 * installed tree, as `pnpm deploy` would take it; undefined when `dir` is no member of an
 * installed workspace.
 */
async function workspaceMember(dir: string): Promise<Resolved | undefined> {
  const member = realpathOrNull(dir)
  if (!member) return undefined
  for (let parent = dirname(member); parent !== dirname(parent); parent = dirname(parent)) {
    const text = await readFile(join(parent, 'package.json'), 'utf8').catch(() => undefined)
    if (text === undefined) continue
    const workspaces = (parseJsonLenient(text) as {workspaces?: unknown} | undefined)?.workspaces
    if (workspaces === undefined) continue
    const Arborist = await loadArborist()
    const tree = (await new Arborist({path: parent}).loadActual()) as unknown as ArbNode
    const location = relative(tree.realpath, member).split(sep).join('/')
    const {inventory, workspaces: members} = tree as unknown as {
      inventory: Map<string, ArbNode>
      workspaces?: Map<string, string>
    }
    const node = inventory.get(location)
    if (!node || !members?.has(String(node.package.name))) return undefined
    return {
      root: node,
      rootDir: member,
      project: true,
      closure: projectClosure(tree, node),
      workspaceRoot: parent,
    }
  }
  return undefined
}

async function projectLockfile(dir: string): Promise<LockfileName | undefined> {
  for (const name of ['npm-shrinkwrap.json', 'package-lock.json'] as const) {
    if (
      await lstat(join(dir, name)).then(
        (info) => info.isFile(),
        () => false,
      )
    )
      return name
  }
  return undefined
}

/**
 * Installs a project's production closure exactly as its lockfile says, as `npm ci --omit=dev`
 * would: the project's package.json and lockfile are copied into the scratch directory and reified
 * there (no scripts), after the lockfile is checked against package.json. Without this, a project
 * with no node_modules was packed with whatever the registry served that day.
 */
async function installFromLockfile(
  projectDir: string,
  lockfile: LockfileName,
  dir: string,
  npmConfig: NpmFlatOptions,
  source: PackSource,
): Promise<Resolved> {
  const Arborist = await loadArborist()
  for (const file of ['package.json', lockfile]) {
    await writeFile(join(dir, file), await readFile(join(projectDir, file)))
  }
  const options = {
    ...npmConfig,
    path: dir,
    omit: ['dev'],
    ignoreScripts: true,
    audit: false,
    fund: false,
    save: false,
  }
  const arborist = new Arborist(options as never)
  const locked = (await arborist.loadVirtual().catch((error: Error) => {
    throw new AgentosError(
      'ERR_AGENTOS_PACK_LOCKFILE_INVALID',
      `${join(projectDir, lockfile)}: ${error.message}`,
      {
        hint: 'Regenerate it with `npm install --package-lock-only`.',
        path: join(projectDir, lockfile),
        cause: error,
      },
    )
  })) as unknown as ArbNode
  for (const edge of locked.edgesOut.values()) {
    const optional = edge.type === 'optional' || edge.type === 'peerOptional'
    if (edge.type === 'dev' || !(edge.invalid || (edge.missing && !optional))) continue
    const lockedVersion = edge.to?.version
    throw new AgentosError(
      'ERR_AGENTOS_PACK_LOCKFILE_MISMATCH',
      `${lockfile} does not satisfy package.json: ${edge.name}@${edge.spec} is ${
        lockedVersion ? `locked at ${lockedVersion}` : 'not in the lockfile'
      }`,
      {
        hint: 'Run `npm install` to update the lockfile (as `npm ci` would refuse it too), or install node_modules.',
        path: join(projectDir, lockfile),
      },
    )
  }
  try {
    await arborist.reify(options as never)
  } catch (error) {
    throw installError(error as NodeJS.ErrnoException & {uri?: string}, source, npmConfig)
  }
  const tree = (await new Arborist({path: dir}).loadActual()) as unknown as ArbNode
  const rootFiles = (await new Arborist({path: projectDir}).loadActual()) as unknown as ArbNode
  const closure = projectClosure(tree)
  if (closure.missing.length > 0) {
    const names = closure.missing.map((m) => `${m.name}@${m.spec}`)
    throw new AgentosError(
      'ERR_AGENTOS_PACK_DEPS_MISSING',
      `the install left dependencies unsatisfied: ${names.join(', ')}`,
      {
        hint: `Check ${lockfile} against package.json.`,
        path: join(projectDir, lockfile),
      },
    )
  }
  return {root: tree, rootDir: projectDir, project: true, closure, rootFiles, lockfile}
}

/**
 * Installs the source into a scratch directory with arborist, the way `npm install --omit=dev
 * --install-strategy=hoisted --ignore-scripts` would, and returns the closure of the installed
 * package.
 */
async function installIntoStaging(
  source: PackSource,
  dir: string,
  npmConfig: NpmFlatOptions,
): Promise<Resolved> {
  const Arborist = await loadArborist()
  const spec = source.kind === 'registry' ? source.spec : `file:${source.path}`
  await writeFile(join(dir, 'package.json'), '{"private": true}\n')
  const arborist = new Arborist({
    ...npmConfig,
    path: dir,
    // Hoisted gives the flat node_modules the runtime expects; no scripts run on a packer's
    // machine; dev dependencies are never part of a package.
    installStrategy: 'hoisted',
    omit: ['dev'],
    ignoreScripts: true,
    // A local directory is copied (as npm pack would), never linked.
    installLinks: true,
    audit: false,
    fund: false,
    save: true,
  } as never)
  try {
    await arborist.reify({add: [spec]} as never)
  } catch (error) {
    throw installError(error as NodeJS.ErrnoException & {uri?: string}, source, npmConfig)
  }
  const tree = (await new Arborist({path: dir}).loadActual()) as unknown as ArbNode
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
  }
  const [name] = Object.keys(pkg.dependencies ?? {})
  const edge = name ? tree.edgesOut.get(name) : undefined
  const root = edge?.to
  if (!root) throw new Error(`arborist installed ${spec} but the tree has no node for it`)
  const real = root.isLink ? root.target : root
  const closure = productionClosure(real, (node) => (node === real ? root.location : node.location))
  if (closure.missing.length > 0) {
    const names = closure.missing.map((m) => `${m.name}@${m.spec}`)
    throw new AgentosError(
      'ERR_AGENTOS_PACK_DEPS_MISSING',
      `the install left dependencies unsatisfied: ${names.join(', ')}`,
      {
        hint: 'Check the package versions the registry offers.',
      },
    )
  }
  return {root: real, rootDir: real.realpath, project: false, closure}
}
