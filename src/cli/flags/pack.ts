import type {OutputFormat} from '../../output/write-aospkg.js'
import type {PackInput} from '../invoke/pack.js'
import type {FlagTable, FlagValues} from './table.js'

/** The flags of `pack`, for oclif (commands/pack.ts) and the fast path (cli/fast/pack.ts). */
export const PACK_FLAGS = {
  out: {
    type: 'string',
    char: 'o',
    fast: true,
    description: 'output directory (the package, or the store root with --layout versioned)',
  },
  layout: {
    type: 'string',
    options: ['flat', 'versioned'],
    fast: true,
    description: 'flat: out is the package; versioned: out/<name>/<version> + current',
  },
  agent: {type: 'string', fast: true, description: 'command to record as agent.acpEntrypoint'},
  force: {
    type: 'boolean',
    char: 'f',
    fast: true,
    description: 'replace a non-empty foreign output directory; override a declared acpEntrypoint',
  },
  'prune-native': {
    type: 'boolean',
    fast: true,
    description: 'delete native .node addons and binaries from the closure (reported)',
  },
  'keep-aospkg': {
    type: 'boolean',
    fast: true,
    description:
      'keep the agentOS archive the package ships of itself (dist/package.aospkg), left out by default',
  },
  install: {
    type: 'boolean',
    default: true,
    allowNo: true,
    fast: true,
    description: 'install when the local node_modules is missing or unsatisfied',
  },
  offline: {type: 'boolean', fast: true, description: 'use only the npm cache'},
  'prefer-offline': {
    type: 'boolean',
    fast: true,
    description: 'use cached registry metadata without revalidating',
  },
  registry: {type: 'string', fast: true, description: 'registry URL (overrides the npm configuration)'},
  tar: {
    type: 'string',
    fast: true,
    description: 'also write a deterministic .tgz of the package to this file',
  },
  format: {
    type: 'string',
    options: ['dir', 'aospkg', 'both'],
    default: 'dir',
    fast: true,
    description:
      'dir: the package directory; aospkg: <out>.aospkg instead; both: the directory and <out>.aospkg',
  },
} as const satisfies FlagTable

/** What `pack` is asked to do, from its source argument and its parsed flags. */
export function packInput(source: string, flags: FlagValues, json: boolean): PackInput {
  return {
    source,
    out: flags.out as string | undefined,
    layout: flags.layout as 'flat' | 'versioned' | undefined,
    agent: flags.agent as string | undefined,
    force: flags.force === true,
    pruneNative: flags['prune-native'] === true,
    keepOwnAospkg: flags['keep-aospkg'] === true,
    install: flags.install !== false,
    offline: flags.offline === true,
    preferOffline: flags['prefer-offline'] === true,
    registry: flags.registry as string | undefined,
    tar: flags.tar as string | undefined,
    format: (flags.format ?? 'dir') as OutputFormat,
    json,
  }
}
