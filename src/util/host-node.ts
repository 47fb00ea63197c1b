import {AgentosError} from '../errors.js'
import {findNodeExecutable} from './node-binary.js'

/**
 * `--node` and the Node.js found for it. Kept on globalThis, not in module variables: bin/run.js
 * runs `run` from a bundle (scripts/build.mjs) that has its own copy of this module, while the
 * compiled files it loads for agents and Node.js guests import this one; both must see one value.
 */
const state: {explicit?: string; found?: string} = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('agentos-toolchain.run.node')
] ??= {}) as {explicit?: string; found?: string}

/** Names the Node.js that runs guests' Node programs (`--node`); undefined: the default. */
export function useNode(path: string | undefined): void {
  state.explicit = path
  state.found = undefined
}

/**
 * The host Node.js that runs `#!/usr/bin/env node` guests and the WASI runner: this CLI's own
 * Node, or inside the single binary (whose executable is not a plain Node) the first on PATH.
 *
 * @throws AgentosError `ERR_AGENTOS_RUN_NODE_NOT_FOUND`.
 */
export function hostNode(): string {
  state.found ??= findNodeExecutable(state.explicit)
  if (state.found) return state.found
  throw new AgentosError(
    'ERR_AGENTOS_RUN_NODE_NOT_FOUND',
    state.explicit
      ? `--node ${state.explicit} is not an executable file`
      : 'no Node.js found to run Node.js guests with',
    {
      hint: 'Install Node.js (>= 20) on PATH, or pass --node /path/to/node.',
      // run's "cannot execute" (RUN_EXIT.cannotExecute): a guest command that needs Node.js did not start.
      exitCode: 126,
    },
  )
}

/** {@link hostNode}, or undefined when there is none (only Node.js guests need one). */
export function hostNodeIfAny(): string | undefined {
  state.found ??= findNodeExecutable(state.explicit)
  return state.found
}

/** The version of {@link hostNode}, when it is this process's own Node. */
export function hostNodeVersion(): string | undefined {
  return hostNode() === process.execPath ? process.version : undefined
}
