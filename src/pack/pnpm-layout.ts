/**
 * The flat `node_modules` of a package from a dependency graph (pnpm's installed packages): each
 * name's most-used version is hoisted to the top (a direct dependency of the root always is), and
 * a dependent that needs another version gets it nested under itself, where Node's lookup finds
 * it first, as npm's hoisting places conflicting versions.
 */
import {AgentosError} from '../errors.js'
import type {ArbNode, ClosureNode} from './tree.js'

/** One installed package (one real directory) and the packages its dependencies resolve to. */
export interface PnpmInstance {
  node: ArbNode
  realpath: string
  /** By the name it is required as (an alias keeps its alias). */
  deps: Map<string, PnpmInstance>
}

/** Beyond this many package copies the graph is not one a real install produces. */
const MAX_COPIES = 100_000

/**
 * Places the closure of `root` (at `node_modules/<root name>`) into one flat tree: returns one
 * closure node per package copy, the root first, each with its output directory and why.
 */
export function layOut(root: PnpmInstance): ClosureNode[] {
  const rootName = root.node.packageName
  const top = hoisted(root)
  const placed = new Map<string, PnpmInstance>([[`node_modules/${rootName}`, root]])
  for (const [name, instance] of top) placed.set(`node_modules/${name}`, instance)

  const nodes: ClosureNode[] = []
  const enqueued = new Set<string>()
  const queue: Array<{instance: PnpmInstance; out: string; why: string[]}> = []
  const enqueue = (instance: PnpmInstance, out: string, why: string[]) => {
    if (enqueued.has(out)) return
    enqueued.add(out)
    queue.push({instance, out, why})
  }
  enqueue(root, `node_modules/${rootName}`, [rootName])
  for (let copy = queue.shift(); copy; copy = queue.shift()) {
    nodes.push({node: copy.instance.node, out: copy.out, why: copy.why})
    if (nodes.length > MAX_COPIES) {
      throw new AgentosError(
        'ERR_AGENTOS_PACK_TREE_TOO_DEEP',
        `laying out the pnpm tree of ${rootName} took over ${MAX_COPIES} package copies`,
        {hint: 'Check node_modules/.pnpm for a dependency cycle; report it with the project.'},
      )
    }
    const nested: Array<[string, PnpmInstance]> = []
    for (const [name, dep] of sortedDeps(copy.instance)) {
      const found = resolveFrom(placed, copy.out, name)
      if (found && found.instance === dep) enqueue(dep, found.out, [...copy.why, name])
      else nested.push([name, dep])
    }
    // A dependent's nested packages are all placed before any of them is looked up from.
    for (const [name, dep] of nested) placed.set(`${copy.out}/node_modules/${name}`, dep)
    for (const [name, dep] of nested) enqueue(dep, `${copy.out}/node_modules/${name}`, [...copy.why, name])
  }
  return nodes
}

/**
 * The package at the top for each name: the root's own dependency, else the version most
 * dependents use (on a tie, the first one met walking the graph breadth-first).
 */
function hoisted(root: PnpmInstance): Map<string, PnpmInstance> {
  const uses = new Map<string, Map<PnpmInstance, number>>()
  const seen = new Set<PnpmInstance>([root])
  const queue = [root]
  for (let instance = queue.shift(); instance; instance = queue.shift()) {
    for (const [name, dep] of sortedDeps(instance)) {
      const counts = uses.get(name) ?? new Map<PnpmInstance, number>()
      uses.set(name, counts)
      counts.set(dep, (counts.get(dep) ?? 0) + 1)
      if (!seen.has(dep)) {
        seen.add(dep)
        queue.push(dep)
      }
    }
  }
  const top = new Map<string, PnpmInstance>()
  for (const [name, dep] of root.deps) if (name !== root.node.packageName) top.set(name, dep)
  for (const [name, counts] of uses) {
    if (top.has(name) || name === root.node.packageName) continue
    let best: [PnpmInstance, number] | undefined
    for (const entry of counts) if (!best || entry[1] > best[1]) best = entry
    top.set(name, best![0])
  }
  return top
}

/** What Node's lookup of `name` from the package at `out` finds among the placed packages. */
function resolveFrom(
  placed: ReadonlyMap<string, PnpmInstance>,
  out: string,
  name: string,
): {instance: PnpmInstance; out: string} | undefined {
  for (let dir = out; ;) {
    const candidate = `${dir}/node_modules/${name}`
    const instance = placed.get(candidate)
    if (instance) return {instance, out: candidate}
    const parent = dir.lastIndexOf('/node_modules/')
    if (parent < 0) break
    dir = dir.slice(0, parent)
  }
  const instance = placed.get(`node_modules/${name}`)
  return instance ? {instance, out: `node_modules/${name}`} : undefined
}

function sortedDeps(instance: PnpmInstance): Array<[string, PnpmInstance]> {
  return [...instance.deps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
