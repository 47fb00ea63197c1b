import {MANIFEST_FILE} from './paths.js'

// The manifest's shape, the subset of JSON Schema it is written in, and the walk that finds where a
// value departs from it; with the JSON Pointers those places are named by. No third-party import,
// as for manifest.ts.

/** A subset of JSON Schema: the keywords the manifest schema uses, nothing else. */
export type ManifestShape =
  | {type: 'string'; minLength?: number}
  | {type: 'boolean'}
  | {type: 'array'; items: ManifestShape}
  | {type: 'object'; patternProperties: Record<string, ManifestShape>; additionalProperties: false}
  | {type: 'object'; required?: string[]; properties: Record<string, ManifestShape>}

const STRING_MAP: ManifestShape = {
  type: 'object',
  patternProperties: {'^(.*)$': {type: 'string'}},
  additionalProperties: false,
}

/**
 * The shape `ManifestSchema` (format/manifest-schema.ts) describes, without its annotations. A unit test
 * pins the two together, so the schema stays the one definition of the manifest's shape.
 */
export const MANIFEST_SHAPE: ManifestShape = {
  type: 'object',
  required: ['name'],
  properties: {
    $schema: {type: 'string'},
    name: {type: 'string', minLength: 1},
    version: {type: 'string', minLength: 1},
    agent: {
      type: 'object',
      required: ['acpEntrypoint'],
      properties: {
        acpEntrypoint: {type: 'string', minLength: 1},
        env: STRING_MAP,
        launchArgs: {type: 'array', items: {type: 'string'}},
        snapshot: {type: 'boolean'},
      },
    },
    provides: {
      type: 'object',
      properties: {
        env: STRING_MAP,
        files: {
          type: 'array',
          items: {
            type: 'object',
            required: ['source', 'target'],
            properties: {source: {type: 'string', minLength: 1}, target: {type: 'string', minLength: 1}},
          },
        },
      },
    },
  },
}

/** A place where a value does not have its shape: a JSON Pointer, the value there, what was wanted. */
export interface ShapeError {
  pointer: string
  value: unknown
  /** `a non-empty string`, `an object of strings`… */
  expected: string
}

/**
 * Where `value` departs from `shape`, in the order and with the locations of TypeBox's
 * `Value.Errors` (which the schema's users get), including its repeat of a missing required
 * property as a type error at the same place.
 */
export function* shapeErrors(shape: ManifestShape, value: unknown, pointer = ''): Generator<ShapeError> {
  const error = (at: string, found: unknown, of: ManifestShape = shape): ShapeError => ({
    pointer: at,
    value: found,
    expected: expectation(of),
  })
  switch (shape.type) {
    case 'string':
      if (typeof value !== 'string') return yield error(pointer, value)
      if (shape.minLength !== undefined && value.length < shape.minLength) yield error(pointer, value)
      return
    case 'boolean':
      if (typeof value !== 'boolean') yield error(pointer, value)
      return
    case 'array':
      if (!Array.isArray(value)) return yield error(pointer, value)
      for (let i = 0; i < value.length; i++) yield* shapeErrors(shape.items, value[i], `${pointer}/${i}`)
      return
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return yield error(pointer, value)
  if ('patternProperties' in shape) {
    if (value instanceof Date || value instanceof Uint8Array) return yield error(pointer, value)
    const [[pattern, item]] = Object.entries(shape.patternProperties) as [[string, ManifestShape]]
    const keys = new RegExp(pattern)
    const entries = Object.entries(value)
    for (const [key, child] of entries) {
      if (keys.test(key)) yield* shapeErrors(item, child, `${pointer}/${pointerSegment(key)}`)
    }
    // Only the first key outside the pattern is reported, as TypeBox does.
    const outside = entries.find(([key]) => !keys.test(key))
    if (outside) yield error(`${pointer}/${pointerSegment(outside[0])}`, outside[1])
    return
  }
  const own = Object.getOwnPropertyNames(value)
  const required = shape.required ?? []
  for (const key of required) {
    if (!own.includes(key)) yield error(`${pointer}/${pointerSegment(key)}`, undefined, shape.properties[key])
  }
  const record = value as Record<string, unknown>
  for (const [key, property] of Object.entries(shape.properties)) {
    if (required.includes(key) || record[key] !== undefined)
      yield* shapeErrors(property, record[key], `${pointer}/${pointerSegment(key)}`)
  }
}

function expectation(shape: ManifestShape | undefined): string {
  if (shape?.type === 'string') return shape.minLength ? 'a non-empty string' : 'a string'
  if (shape?.type === 'boolean') return 'true or false'
  if (shape?.type === 'array') return 'an array'
  if (shape?.type === 'object') return 'patternProperties' in shape ? 'an object of strings' : 'an object'
  return 'of another type'
}

/** Escapes one JSON Pointer segment (RFC 6901). */
export function pointerSegment(key: string): string {
  // Every key of a manifest passes here: most have nothing to escape.
  if (!key.includes('~') && !key.includes('/')) return key
  return key.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** A JSON Pointer into the manifest as users read it: `agentos-package.json#provides.files[0].target`. */
export function fieldName(pointer: string): string {
  if (pointer === '') return MANIFEST_FILE
  return `${MANIFEST_FILE}#${pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join('')}`
}
