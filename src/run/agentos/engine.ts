import type {Engine} from '../engine.js'
import {agentSession} from './agent-session.js'
import {execCommand} from './exec.js'
import {describeVm, whichCommand} from './inspect.js'
import type {AgentosSettings} from './operation.js'
import type {AgentosResults} from './results.js'

/**
 * The real agentOS runtime as an {@link Engine}. Each operation resolves the runtime
 * (src/runtime/resolve.ts), starts the driver (src/run/agentos/driver.ts) in a child Node.js,
 * has it create one VM with the packages as `software`, do the operation and dispose of the VM.
 */
export function createAgentosEngine(settings: AgentosSettings): Engine<AgentosResults> {
  return {
    name: 'agentos',
    exec: (options) => execCommand(settings, options),
    which: (options) => whichCommand(settings, options),
    describe: (options) => describeVm(settings, options),
    agentSession: (options) => agentSession(settings, options),
  }
}
