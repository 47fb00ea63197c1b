/**
 * Projects installed by pnpm: its isolated layout (`node_modules/.pnpm/<name>@<version>/…`, every
 * dependency a symlink) read by following the links as Node's lookup does, and laid out as the
 * flat, real-file `node_modules` of a package (see pnpm-layout.ts). No lockfile library is used:
 * what pnpm installed is what runs, and the maintained reader (`@pnpm/lockfile.fs`) needs
 * Node >= 22.13.
 */
import {existsSync, readFileSync, realpathSync} from 'node:fs'
import {dirname, join, relative, sep} from 'node:path'
import {AgentosError} from '../errors.js'
import {parseJsonLenient} from '../format/json.js'
import {layOut, type PnpmInstance} from './pnpm-layout.js'
import type {ArbNode, LeftOut, MissingDependency} from './tree.js'
import type {Resolved} from './types.js'

/** Where pnpm installed a project: the workspace root (or the project), and what marks it. */
export interface PnpmInstall {
  /** The directory whose node_modules holds `.pnpm` (the workspace root for a member). */
  root: string
  /** True when `root` has a `pnpm-workspace.yaml` and the project is a member below it. */
  member: boolean
  /** True when `<root>/node_modules/.modules.yaml` exists (pnpm ran its install there). */
  installed: boolean
}

/**
 * The pnpm install a project directory belongs to, or undefined when pnpm did not install it: its
 * own `node_modules/.modules.yaml` or `pnpm-lock.yaml`, or a `pnpm-workspace.yaml` above it.
 */
export function findPnpmInstall(dir: string): PnpmInstall | undefined {
  const project = realpathSync(dir)
  let root = project
  for (let parent = project; parent !== dirname(parent); parent = dirname(parent)) {
    if (existsSync(join(parent, 'pnpm-workspace.yaml'))) {
      root = parent
      break
    }
  }
  const install = {root, member: root !== project}
  if (existsSync(join(root, 'node_modules', '.modules.yaml'))) return {...install, installed: true}
  // A pnpm lockfile and nothing installed: npm would resolve the ranges afresh, ignoring it, so
  // the project is refused with the pnpm command to run instead. A project npm installed (its own
  // node_modules, no .modules.yaml) stays npm's.
  if (existsSync(join(root, 'pnpm-lock.yaml')) && !existsSync(join(project, 'node_modules'))) {
    return {...install, installed: false}
  }
  return undefined
}

const DEP_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const

/**
 * The production closure of a pnpm-installed project (or workspace member), from its installed
 * links alone: no network, no install. Packages outside any node_modules (the project, workspace
 * siblings) are the user's folders, their files chosen like `npm pack`.
 */
export async function fromPnpmTree(dir: string, install: PnpmInstall): Promise<Resolved> {
  const {Node} = (await import('@npmcli/arborist')).default as unknown as {
    Node: new (options: {path: string; realpath: string; pkg: unknown}) => ArbNode
  }
  const projectDir = realpathSync(dir)
  const instances = new Map<string, PnpmInstance>()
  const leftOut: LeftOut[] = []
  const missing: MissingDependency[] = []
  const instanceAt = (realpath: string): PnpmInstance => {
    let instance = instances.get(realpath)
    if (instance) return instance
    const pkg = readPackageJson(realpath)
    const local = realpath === projectDir || !realpath.split(sep).includes('node_modules')
    const node: ArbNode = local
      ? new Node({path: realpath, realpath, pkg})
      : ({
          name: String(pkg.name),
          packageName: String(pkg.name),
          version: String(pkg.version ?? ''),
          location: relative(install.root, realpath).split(sep).join('/'),
          path: realpath,
          realpath,
          isLink: false,
          isRoot: false,
          package: pkg,
          edgesOut: new Map(),
          inBundle: false,
          fsChildren: new Set(),
        } as unknown as ArbNode)
    instance = {node, realpath, deps: new Map()}
    instances.set(realpath, instance)
    return instance
  }
  const root = instanceAt(projectDir)
  const queue = [root]
  for (let instance = queue.shift(); instance; instance = queue.shift()) {
    const pkg = instance.node.package
    const from = instance.node.packageName
    if (instance === root) {
      for (const [name, spec] of Object.entries(ranges(pkg.devDependencies))) {
        leftOut.push({name, spec, type: 'dev', from, reason: 'dev'})
      }
    }
    for (const field of DEP_FIELDS) {
      for (const [name, spec] of Object.entries(ranges(pkg[field]))) {
        if (instance.deps.has(name)) continue
        const found = lookup(instance.realpath, name)
        if (!found) {
          const optional =
            field === 'optionalDependencies' || (field === 'peerDependencies' && isOptionalPeer(pkg, name))
          if (field === 'dependencies' && !ranges(pkg.optionalDependencies)[name]) {
            missing.push({name, spec, from, reason: 'missing'})
          } else {
            const type = field === 'peerDependencies' ? (optional ? 'peerOptional' : 'peer') : 'optional'
            const reason =
              field === 'peerDependencies' && !optional ? 'peer-not-installed' : 'optional-not-installed'
            leftOut.push({name, spec, type, from, reason})
          }
          continue
        }
        const seen = instances.has(found)
        const dep = instanceAt(found)
        instance.deps.set(name, dep)
        if (!seen) queue.push(dep)
      }
    }
  }
  const nodes = layOut(root)
  return {
    root: root.node,
    rootDir: projectDir,
    project: true,
    closure: {nodes, leftOut, missing},
    installedBy: 'pnpm',
    ...(install.member ? {workspaceRoot: install.root} : {}),
    overrides: workspaceOverrides(nodes.map((n) => ({node: n.node, out: n.out}))),
  }
}

/** The refusal for a pnpm project whose installed tree lacks production dependencies. */
export function pnpmNotInstalled(
  dir: string,
  install: PnpmInstall,
  missing: MissingDependency[],
): AgentosError {
  const names = missing.map((m) => `${m.name}@${m.spec} (needed by ${m.from})`)
  return new AgentosError(
    'ERR_AGENTOS_PACK_PNPM_NOT_INSTALLED',
    `${join(install.root, 'node_modules')} (pnpm) does not hold ${names.length} production dependencies: ${names.join(', ')}`,
    {
      hint: `Run \`pnpm install\` in ${install.root}: a pnpm project is packed from what pnpm installed, never re-resolved by npm.`,
      path: dir,
    },
  )
}

/** Node's lookup of `name` from a package's real directory, to the real path of what it finds. */
function lookup(from: string, name: string): string | undefined {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (dir.endsWith(`${sep}node_modules`)) continue
    const candidate = join(dir, 'node_modules', name)
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate)
  }
  return undefined
}

function readPackageJson(dir: string): Record<string, unknown> {
  const file = join(dir, 'package.json')
  const pkg = parseJsonLenient(readFileSync(file, 'utf8')) as Record<string, unknown> | undefined
  if (!pkg || typeof pkg.name !== 'string') {
    throw new AgentosError('ERR_AGENTOS_PACK_PACKAGE_JSON_INVALID', `${file} has no "name"`, {
      hint: 'Re-run `pnpm install`: an installed package must have a package.json with its name.',
      path: file,
    })
  }
  return pkg
}

function ranges(value: unknown): Record<string, string> {
  return value && typeof value === 'object' ? (value as Record<string, string>) : {}
}

function isOptionalPeer(pkg: Record<string, unknown>, name: string): boolean {
  const meta = ranges(pkg.peerDependenciesMeta) as unknown as Record<string, {optional?: boolean}>
  return meta[name]?.optional === true
}

/**
 * The package.json of each workspace package in the closure with its `workspace:` ranges resolved
 * to the versions installed, as `pnpm pack` publishes them (`workspace:*` → `1.2.0`, `workspace:^`
 * → `^1.2.0`, `workspace:~` → `~1.2.0`, `workspace:<range>` → `<range>`): keyed by output path.
 */
function workspaceOverrides(nodes: Array<{node: ArbNode; out: string}>): Map<string, Uint8Array> {
  const overrides = new Map<string, Uint8Array>()
  for (const {node, out} of nodes) {
    if (node.realpath.split(sep).includes('node_modules')) continue
    const pkg = readPackageJson(node.realpath)
    let changed = false
    for (const field of [...DEP_FIELDS, 'devDependencies']) {
      const deps = ranges(pkg[field])
      for (const [name, spec] of Object.entries(deps)) {
        if (typeof spec !== 'string' || !spec.startsWith('workspace:')) continue
        const found = lookup(node.realpath, name)
        const version = found ? String(readPackageJson(found).version ?? '') : ''
        if (!version) continue
        deps[name] = resolveWorkspaceRange(spec.slice('workspace:'.length), version)
        changed = true
      }
    }
    if (changed) overrides.set(`${out}/package.json`, Buffer.from(`${JSON.stringify(pkg, null, 2)}\n`))
  }
  return overrides
}

/** One `workspace:` range as pnpm publishes it. */
export function resolveWorkspaceRange(range: string, version: string): string {
  // An aliased `workspace:name@range` publishes as `npm:name@…`.
  const alias = /^(@?[^@]+)@(.*)$/.exec(range)
  if (alias) return `npm:${alias[1]}@${resolveWorkspaceRange(alias[2]!, version)}`
  if (range === '*' || range === '' || range.startsWith('.') || range.startsWith('/')) return version
  if (range === '^' || range === '~') return `${range}${version}`
  return range
}
