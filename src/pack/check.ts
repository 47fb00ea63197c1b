/** The check step of `pack`: native code in the written closure, and the package's validation. */
import {AgentosError} from '../errors.js'
import {packageVerdict, summarize} from '../package/validate.js'
import type {WrittenPackage} from '../output/files.js'
import {findNatives, platformPruneWarnings} from './natives.js'
import type {Closure} from './tree.js'
import type {NativeFile, PackReporter, PackResult, Plan} from './types.js'

/**
 * Refuses native files left in the package and a package that fails validation, reporting the
 * check step; adds the warnings to the plan's and returns the native files pruned and the
 * package's verdict (the one `validate` gives the output: {@link packageVerdict}).
 */
export async function checkPacked(
  written: WrittenPackage,
  plan: Plan,
  closure: Closure,
  commandPaths: ReadonlySet<string>,
  report: PackReporter,
): Promise<{pruned: NativeFile[]; validation: PackResult['validation']}> {
  const {snapshot, skipped} = written
  const {commands, warnings} = plan
  report.start?.('check')
  const natives = findNatives(snapshot.entries, closure)
  if (natives.length > 0) {
    const nativeCommand = natives.find((n) => commandPaths.has(n.path))
    const list = natives.slice(0, 5).map((n) => `${n.package} ${n.path} (${n.kind})`)
    throw new AgentosError(
      'ERR_AGENTOS_PACK_NATIVE',
      `the closure holds ${natives.length} native file${natives.length === 1 ? '' : 's'}, which cannot run in agentOS: ${list.join(', ')}${natives.length > 5 ? ', …' : ''}`,
      {
        hint: nativeCommand
          ? `Command entry ${nativeCommand.path} is native itself; it cannot be pruned.`
          : 'Re-run with --prune-native if they are never loaded on the code path the commands use.',
        details: natives,
      },
    )
  }
  const pruned = findNatives(skipped, closure)
  warnings.push(...platformPruneWarnings(pruned, closure, commands))
  const {model, problems} = await packageVerdict(snapshot)
  const errors = problems.filter((p) => p.severity === 'error')
  if (errors.length > 0) {
    throw new AgentosError(
      'ERR_AGENTOS_PACK_INVALID',
      `the packed output fails validation: ${errors[0]!.code} ${errors[0]!.path ?? ''} ${errors[0]!.message}`,
      {hint: 'See details for every problem; fix the source package.', details: errors},
    )
  }
  warnings.push(...problems.filter((p) => p.severity === 'warning'))
  report.done?.('check', pruned.length > 0 ? `pruned ${pruned.length} native files` : 'valid')
  return {pruned, validation: {...summarize(problems, model), problems}}
}
