/**
 * The slice of @npmcli/arborist's Node/Edge model the packer relies on. The published typings
 * describe arborist 6; these are checked against arborist 9's runtime objects.
 */
export interface ArbEdge {
  name: string
  spec: string
  /** prod, dev, optional, peer, peerOptional, workspace */
  type: string
  to: ArbNode | null
  missing: boolean
  invalid: boolean
  dev: boolean
  optional: boolean
  from: ArbNode | null
}

export interface ArbNode {
  name: string
  packageName: string
  version: string
  /** Path relative to the tree root (`node_modules/a`, `packages/b`); '' for the root. */
  location: string
  path: string
  realpath: string
  isLink: boolean
  isRoot: boolean
  target: ArbNode
  package: Record<string, unknown>
  edgesOut: Map<string, ArbEdge>
  inBundle: boolean
  fsChildren: Set<ArbNode>
  root: ArbNode
}

/** Why a package is in the closure: the dependency path from the root. */
export interface ClosureNode {
  node: ArbNode
  /** Package-relative output directory (`node_modules/x`). */
  out: string
  /** Names from the root down to this package, e.g. ["my-tool", "chalk", "ansi-styles"]. */
  why: string[]
}

/** A dependency that was deliberately not packed. */
export interface LeftOut {
  name: string
  spec: string
  type: string
  from: string
  reason: 'dev' | 'optional-not-installed' | 'peer-not-installed'
}

/** A production dependency the installed tree does not satisfy. */
export interface MissingDependency {
  name: string
  spec: string
  from: string
  reason: 'missing' | 'invalid'
}

/** Result of {@link productionClosure}. */
export interface Closure {
  nodes: ClosureNode[]
  leftOut: LeftOut[]
  missing: MissingDependency[]
}

const FOLLOWED = new Set(['prod', 'optional', 'peer', 'peerOptional'])

/**
 * Walks the production closure of `start` over arborist edges: dev edges are skipped at every
 * level (a workspace's devDependencies too), installed optional and peer dependencies are kept,
 * links (workspaces, `file:` deps) are followed to their real package, bundled dependencies come
 * along as the nested nodes they are. `outOf(node)` names each package's output directory.
 */
export function productionClosure(start: ArbNode, outOf: (node: ArbNode) => string): Closure {
  const nodes: ClosureNode[] = []
  const leftOut: LeftOut[] = []
  const missing: MissingDependency[] = []
  const seen = new Set<ArbNode>()
  const queue: Array<{node: ArbNode; why: string[]}> = [{node: start, why: [start.packageName]}]
  while (queue.length > 0) {
    const {node, why} = queue.shift()!
    const real = node.isLink ? node.target : node
    if (seen.has(real)) continue
    seen.add(real)
    nodes.push({node: real, out: outOf(node), why})
    const edges = [...real.edgesOut.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const runtimeDeps = {
      ...(real.package.dependencies as Record<string, string> | undefined),
      ...(real.package.optionalDependencies as Record<string, string> | undefined),
    }
    for (const edge of edges) {
      if (edge.type === 'dev') {
        leftOut.push({
          name: edge.name,
          spec: edge.spec,
          type: edge.type,
          from: real.packageName,
          reason: 'dev',
        })
        continue
      }
      // Arborist gives a workspace the edge type "workspace" even when the root also depends on
      // it; it is part of the closure exactly when it is a runtime dependency.
      if (edge.type === 'workspace' && !(edge.name in runtimeDeps)) continue
      if (!FOLLOWED.has(edge.type) && edge.type !== 'workspace') continue
      const optional = edge.type === 'optional' || edge.type === 'peerOptional'
      if (!edge.to || edge.missing) {
        if (optional || edge.type === 'peer') {
          leftOut.push({
            name: edge.name,
            spec: edge.spec,
            type: edge.type,
            from: real.packageName,
            reason: edge.type === 'peer' ? 'peer-not-installed' : 'optional-not-installed',
          })
        } else {
          missing.push({name: edge.name, spec: edge.spec, from: real.packageName, reason: 'missing'})
        }
        continue
      }
      if (edge.invalid && !optional) {
        missing.push({name: edge.name, spec: edge.spec, from: real.packageName, reason: 'invalid'})
      }
      queue.push({node: edge.to, why: [...why, edge.name]})
    }
  }
  return {nodes, leftOut, missing}
}
