import {parseArgs} from 'node:util'
import type {OutputFormat} from '../../output/write-aospkg.js'
import {printOutcome} from '../print.js'
import {dispatchPack} from '../invoke/pack.js'
import {renderPack} from '../render/pack.js'

const OPTIONS = {
  out: {type: 'string', short: 'o'},
  layout: {type: 'string'},
  agent: {type: 'string'},
  force: {type: 'boolean', short: 'f'},
  'prune-native': {type: 'boolean'},
  'keep-aospkg': {type: 'boolean'},
  install: {type: 'boolean'},
  'no-install': {type: 'boolean'},
  offline: {type: 'boolean'},
  'prefer-offline': {type: 'boolean'},
  registry: {type: 'string'},
  tar: {type: 'string'},
  format: {type: 'string'},
  json: {type: 'boolean'},
} as const

/**
 * `pack` without oclif. Loading oclif and its plugins costs about 0.4 s before a byte is packed,
 * and the modules `pack` itself needs (arborist above all) as many again when loaded one by one;
 * bin/run.js loads this module from a single bundle (scripts/build.mjs) instead. The common shape —
 * one source and the documented flags, each at most once — is parsed here with node:util and
 * dispatched exactly as the oclif command does. Anything else (help, an unknown, repeated or
 * malformed flag, a bad option value) returns undefined and the caller hands the argv to oclif,
 * which answers with its own parser and messages.
 *
 * Returns the exit code when it handled the pack.
 */
export async function packFast(argv: readonly string[]): Promise<number | undefined> {
  if (argv[0] !== 'pack') return undefined
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv.slice(1))
  } catch {
    return undefined
  }
  const {values, positionals, tokens} = parsed
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    if (seen.has(token.name)) return undefined
    seen.add(token.name)
  }
  if (positionals.length !== 1 || (values.install && values['no-install'])) return undefined
  if (values.layout !== undefined && !['flat', 'versioned'].includes(values.layout)) return undefined
  if (values.format !== undefined && !['dir', 'aospkg', 'both'].includes(values.format)) return undefined
  const json = values.json === true
  return printOutcome(json, async () => {
    const result = await dispatchPack({
      source: positionals[0]!,
      out: values.out,
      layout: values.layout as 'flat' | 'versioned' | undefined,
      agent: values.agent,
      force: values.force === true,
      pruneNative: values['prune-native'] === true,
      keepOwnAospkg: values['keep-aospkg'] === true,
      install: values['no-install'] !== true,
      offline: values.offline === true,
      preferOffline: values['prefer-offline'] === true,
      registry: values.registry,
      tar: values.tar,
      format: (values.format ?? 'dir') as OutputFormat,
      json,
    })
    return {result, render: renderPack, exitCode: 0}
  })
}

function parse(args: string[]) {
  return parseArgs({args, allowPositionals: true, strict: true, tokens: true, options: OPTIONS})
}
