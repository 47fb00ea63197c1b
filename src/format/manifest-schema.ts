import {type Static, Type} from '@sinclair/typebox'
import type {AgentBlock, Manifest, ProvidedFile, ProvidesBlock} from './manifest.js'

// The manifest as a JSON Schema: what schema/agentos-package.schema.json is serialized from at
// build, for editors and other tools. The rules themselves, and the types, are manifest.ts, which
// imports nothing from npm (`run` loads it, and TypeBox would cost it more than the run); the
// assertions at the end of this file and a unit test (MANIFEST_SHAPE against this schema) keep the
// three in step.
/** `$id` of the published JSON Schema. */
export const MANIFEST_SCHEMA_ID = 'https://agentos-toolchain.dev/schema/agentos-package.schema.json'

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

// Compile-time: the hand-written types of manifest.ts are exactly what the schema describes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const agreement: [
  Same<Static<typeof AgentBlockSchema>, AgentBlock>,
  Same<Static<typeof ProvidedFileSchema>, ProvidedFile>,
  Same<Static<typeof ProvidesBlockSchema>, ProvidesBlock>,
  Same<Static<typeof ManifestSchema>, Manifest>,
] = [true, true, true, true]
void agreement

/** The JSON Schema document as shipped in `schema/agentos-package.schema.json`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {$schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(ManifestSchema))}
}
