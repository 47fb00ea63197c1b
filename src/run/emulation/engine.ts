import type {AgentReport} from './agent/report.js'
import type {Engine} from '../engine.js'
import type {Resolution} from './resolution.js'
import type {CommandRun, VmDescription} from './run.js'
import type {IsolationChoice} from './process/sandbox.js'

/** The emulation's results: the documents `run` has always printed. */
export interface EmulationResults {
  describe: VmDescription
  which: Resolution
  exec: CommandRun
  agent: AgentReport
}

/** Settings only the emulation has. */
export interface EmulationSettings {
  isolation?: IsolationChoice
  /** Keep the per-run VM root (`--keep-root`). */
  keepRoot?: boolean
}

/**
 * The emulation as an {@link Engine}: a thin adapter over describeVm, whichInVm, runCommandInVm
 * and runAgent. Each operation loads its modules when called, so a WASM command still loads only
 * what it runs on.
 */
export function createEmulationEngine(settings: EmulationSettings = {}): Engine<EmulationResults> {
  return {
    name: 'emulation',
    async describe(options) {
      const {describeVm} = await import('./run.js')
      return {result: await describeVm({...options, isolation: settings.isolation}), exitCode: 0}
    },
    async which(options) {
      const {whichInVm} = await import('./run.js')
      const resolution = await whichInVm({...options, isolation: settings.isolation})
      return {result: resolution, exitCode: resolution.error?.exitCode ?? 0}
    },
    async exec(options) {
      const {runCommandInVm} = await import('./run.js')
      return runCommandInVm({...options, isolation: settings.isolation, keepRoot: settings.keepRoot})
    },
    async agentSession(options) {
      const {runAgent} = await import('./agent/agent.js')
      const report = await runAgent({...options, isolation: settings.isolation})
      return {result: report, exitCode: report.exitCode}
    },
  }
}
