import type {PackStep} from '../pack/types.js'

/** The events a stepped core operation reports (pack's PackReporter, runtime install's). */
export interface StepReporter<S extends string> {
  start?(step: S): void
  done?(step: S, detail?: string): void
  skip?(step: S, reason: string): void
}

/** A reporter plus the promise that settles once its output is finished. */
export interface StepProgress<S extends string = PackStep> {
  reporter: StepReporter<S>
  /** Call with the operation's outcome; resolves when the display has caught up. */
  finish(error?: unknown): Promise<void>
}

interface Deferred {
  promise: Promise<string | undefined>
  resolve(detail?: string): void
  reject(error: unknown): void
  skipped?: string
}

function deferred(): Deferred {
  let resolve!: (detail?: string) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<string | undefined>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return {promise, resolve, reject}
}

/**
 * Progress of a stepped core operation on stderr: a listr2 task list on a terminal, plain lines in
 * CI or when piped, nothing at all under `--json`. The core only reports events; the list is driven
 * from them, so the core never depends on the renderer.
 */
export async function stepProgress<S extends string = PackStep>(
  steps: Record<S, string>,
  mode: 'tty' | 'plain' | 'silent',
): Promise<StepProgress<S>> {
  const ids = Object.keys(steps) as S[]
  if (mode === 'silent') return {reporter: {}, finish: async () => {}}
  if (mode === 'plain') {
    const started = new Map<S, number>()
    const line = (text: string) => process.stderr.write(`${text}\n`)
    return {
      reporter: {
        start: (step) => started.set(step, Date.now()),
        done: (step, detail) =>
          line(
            `✔ ${steps[step]}${detail ? `: ${detail}` : ''} (${Date.now() - (started.get(step) ?? Date.now())} ms)`,
          ),
        skip: (step, reason) => line(`↓ ${steps[step]}: skipped, ${reason}`),
      },
      finish: async () => {},
    }
  }
  const {Listr, ProcessOutput} = await import('listr2')
  const gates = new Map(ids.map((id) => [id, deferred()]))
  let current: S | undefined
  const list = new Listr(
    ids.map((id) => ({
      title: steps[id],
      task: async (_ctx: unknown, task: {title: string; skip(message?: string): void}) => {
        const gate = gates.get(id)!
        const detail = await gate.promise
        if (gate.skipped !== undefined) task.skip(`${steps[id]}: skipped, ${gate.skipped}`)
        else if (detail) task.title = `${steps[id]}: ${detail}`
      },
    })),
    {
      concurrent: false,
      exitOnError: true,
      rendererOptions: {processOutput: new ProcessOutput(process.stderr, process.stderr)} as never,
    },
  )
  const running = list.run().catch(() => {})
  return {
    reporter: {
      start: (step) => {
        current = step
      },
      done: (step, detail) => gates.get(step)?.resolve(detail),
      skip: (step, reason) => {
        const gate = gates.get(step)!
        gate.skipped = reason
        gate.resolve()
      },
    },
    finish: async (error) => {
      if (error) {
        const failing = current ?? ids[0]!
        gates.get(failing)?.reject(error)
        // Steps after the failing one never run; release them so the list can end.
        for (const id of ids.slice(ids.indexOf(failing) + 1)) gates.get(id)?.reject(error)
      }
      await running
    },
  }
}
