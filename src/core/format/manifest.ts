import {type Static, Type} from '@sinclair/typebox'
import {MANIFEST_FILE} from './paths.js'

// The manifest's rules (checkManifest) live in manifest-check.ts, which imports nothing from npm:
// `run` checks every package it mounts with them, and loading TypeBox would cost it more than the
// run. This module is the schema, what the types and the published JSON Schema derive from.
/** Checks a parsed manifest (see manifest-check.ts). */
export {checkManifest, type ManifestCheck} from './manifest-check.js'
/** File name of the agentOS manifest at a package root (defined with the other path rules). */
export {MANIFEST_FILE}
/** `$id` of the published JSON Schema. */
export const MANIFEST_SCHEMA_ID = 'https://agentos-toolchain.dev/schema/agentos-package.schema.json'

// The TypeBox schema below is the single source of truth: the TypeScript types are derived from
// it with Static<>, schema/agentos-package.schema.json is this object serialized at build, and a
// unit test holds manifest-check.ts's MANIFEST_SHAPE, what the check walks, equal to it.
const StringMap = (description: string) =>
  Type.Record(Type.String(), Type.String(), {description, additionalProperties: false})

/** JSON Schema of the `agent` block. */
export const AgentBlockSchema = Type.Object(
  {
    acpEntrypoint: Type.String({
      minLength: 1,
      description:
        'The command (a key of package.json "bin") spawned to start a session; speaks ACP over stdio.',
    }),
    env: Type.Optional(StringMap('Static environment for the adapter, merged under the user env.')),
    launchArgs: Type.Optional(
      Type.Array(Type.String(), {description: 'Arguments placed before the caller arguments.'}),
    ),
    snapshot: Type.Optional(
      Type.Boolean({default: false, description: 'Load the SDK once per sidecar from a V8 heap snapshot.'}),
    ),
  },
  {description: 'Present when the package also exposes an agent session.'},
)

/** JSON Schema of one `provides.files` entry. */
export const ProvidedFileSchema = Type.Object({
  source: Type.String({minLength: 1, description: 'Path inside the package.'}),
  target: Type.String({
    minLength: 1,
    description: 'Absolute path in the VM where the source is overlaid read-only.',
  }),
})

/** JSON Schema of the `provides` block. */
export const ProvidesBlockSchema = Type.Object(
  {
    env: Type.Optional(StringMap('Merged into the VM base environment; existing values win.')),
    files: Type.Optional(
      Type.Array(ProvidedFileSchema, {description: 'Read-only files overlaid into the VM.'}),
    ),
  },
  {description: 'Files and environment the package contributes to the VM.'},
)

/** JSON Schema of `agentos-package.json`. Unknown keys are allowed (and reported as info). */
export const ManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Type.String({minLength: 1, description: 'Package name; mounted at /opt/agentos/<name>.'}),
    version: Type.Optional(Type.String({minLength: 1, description: 'Package version (pack writes it).'})),
    agent: Type.Optional(AgentBlockSchema),
    provides: Type.Optional(ProvidesBlockSchema),
  },
  {
    $id: MANIFEST_SCHEMA_ID,
    title: 'agentOS package manifest (agentos-package.json)',
  },
)

/** The `agent` block of a manifest. */
export type AgentBlock = Static<typeof AgentBlockSchema>
/** One `provides.files` entry. */
export type ProvidedFile = Static<typeof ProvidedFileSchema>
/** The `provides` block of a manifest. */
export type ProvidesBlock = Static<typeof ProvidesBlockSchema>
/** A parsed `agentos-package.json`. */
export type Manifest = Static<typeof ManifestSchema>

/** The JSON Schema document as shipped in `schema/agentos-package.schema.json`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {$schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(ManifestSchema))}
}
