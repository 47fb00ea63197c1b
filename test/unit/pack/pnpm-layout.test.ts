import {describe, expect, it} from 'vitest'
import {layOut, type PnpmInstance} from '../../../src/pack/pnpm-layout.js'
import {resolveWorkspaceRange} from '../../../src/pack/pnpm.js'
import type {ArbNode} from '../../../src/pack/tree.js'

/** A graph instance: `name@version`, its dependencies wired afterwards. */
function instance(id: string): PnpmInstance {
  const at = id.lastIndexOf('@')
  const name = id.slice(0, at)
  const node = {packageName: name, version: id.slice(at + 1)} as unknown as ArbNode
  return {node, realpath: `/store/${id}`, deps: new Map()}
}

function wire(from: PnpmInstance, ...deps: PnpmInstance[]): void {
  for (const dep of deps) from.deps.set(dep.node.packageName, dep)
}

const placement = (root: PnpmInstance) =>
  layOut(root).map((n) => `${n.out} ${n.node.packageName}@${n.node.version}`)

describe('layOut: a dependency graph as a flat node_modules', () => {
  it('hoists the most-used version and nests the other under each dependent', () => {
    const root = instance('app@1.0.0')
    const [a, b, c, core1, core2] = ['a@1.0.0', 'b@1.0.0', 'c@1.0.0', 'core@1.0.0', 'core@2.0.0'].map(
      instance,
    )
    wire(root, a!, b!, c!)
    wire(a!, core1!)
    wire(b!, core2!)
    wire(c!, core2!)
    expect(placement(root)).toEqual([
      'node_modules/app app@1.0.0',
      'node_modules/a a@1.0.0',
      'node_modules/b b@1.0.0',
      'node_modules/c c@1.0.0',
      'node_modules/a/node_modules/core core@1.0.0',
      'node_modules/core core@2.0.0',
    ])
  })

  it("keeps the root's own dependency at the top, whatever the others use", () => {
    const root = instance('app@1.0.0')
    const [a, b, core1, core2] = ['a@1.0.0', 'b@1.0.0', 'core@1.0.0', 'core@2.0.0'].map(instance)
    wire(root, a!, b!, core1!)
    wire(a!, core2!)
    wire(b!, core2!)
    expect(placement(root)).toContain('node_modules/core core@1.0.0')
    expect(placement(root)).toContain('node_modules/a/node_modules/core core@2.0.0')
    expect(placement(root)).toContain('node_modules/b/node_modules/core core@2.0.0')
  })

  it('nests again below a nested package that would shadow the hoisted version', () => {
    // a needs x@2 (nested under a); a's nested y needs x@1, which a/node_modules/x would shadow.
    const root = instance('app@1.0.0')
    const [a, x1, x2, y] = ['a@1.0.0', 'x@1.0.0', 'x@2.0.0', 'y@1.0.0'].map(instance)
    const y2 = instance('y@2.0.0')
    wire(root, a!, x1!, y2)
    wire(a!, x2!, y!)
    wire(y!, x1!)
    expect(placement(root)).toContain('node_modules/a/node_modules/y/node_modules/x x@1.0.0')
  })

  it('ends on a cycle between nested versions', () => {
    const root = instance('app@1.0.0')
    const [p, q, p2, q2] = ['p@1.0.0', 'q@1.0.0', 'p@2.0.0', 'q@2.0.0'].map(instance)
    const a = instance('a@1.0.0')
    wire(root, p!, q!, a)
    wire(a, p2!)
    wire(p2!, q2!)
    wire(q2!, p2!)
    expect(placement(root)).toEqual([
      'node_modules/app app@1.0.0',
      'node_modules/a a@1.0.0',
      'node_modules/p p@1.0.0',
      'node_modules/q q@1.0.0',
      'node_modules/a/node_modules/p p@2.0.0',
      'node_modules/a/node_modules/p/node_modules/q q@2.0.0',
    ])
  })
})

describe('resolveWorkspaceRange: as pnpm publishes workspace: ranges', () => {
  it.each([
    ['*', '1.2.0'],
    ['^', '^1.2.0'],
    ['~', '~1.2.0'],
    ['^1.0.0', '^1.0.0'],
    ['../lib', '1.2.0'],
    ['@m/lib@*', 'npm:@m/lib@1.2.0'],
    ['lib@^', 'npm:lib@^1.2.0'],
  ])('workspace:%s → %s', (range, published) => {
    expect(resolveWorkspaceRange(range, '1.2.0')).toBe(published)
  })
})
