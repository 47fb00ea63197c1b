import {findNodeExecutable} from '../../lib/node-binary.js'
import {RUN_EXIT, runError} from './errors.js'

let explicit: string | undefined
let found: string | undefined

/** Names the Node.js that runs guests' Node programs (`--node`); undefined: the default. */
export function useNode(path: string | undefined): void {
  explicit = path
  found = undefined
}

/**
 * The host Node.js that runs `#!/usr/bin/env node` guests and the WASI runner: this CLI's own
 * Node, or inside the single binary (whose executable is not a plain Node) the first on PATH.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_NODE_NOT_FOUND`.
 */
export function hostNode(): string {
  found ??= findNodeExecutable(explicit)
  if (found) return found
  throw runError(
    'ERR_AGENTOS_RUN_NODE_NOT_FOUND',
    explicit ? `--node ${explicit} is not an executable file` : 'no Node.js found to run Node.js guests with',
    {
      hint: 'Install Node.js (>= 20) on PATH, or pass --node /path/to/node.',
      exitCode: RUN_EXIT.cannotExecute,
    },
  )
}

/** The version of {@link hostNode}, when it is this process's own Node. */
export function hostNodeVersion(): string | undefined {
  return hostNode() === process.execPath ? process.version : undefined
}
