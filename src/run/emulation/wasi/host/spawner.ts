/**
 * The thread that starts and watches the guest's child processes for the host layer. The guest's
 * thread is blocked inside WebAssembly and never returns to its event loop, so it cannot see a
 * child exit; this thread can, and reports through a SharedArrayBuffer per child:
 * `[state, exit code, signal]`, state 1 once started, 2 once ended.
 *
 * The thread runs {@link spawnerMain}'s source (`eval: true`): no script file to find, so the same
 * code works from dist, from the sources under vitest and inside the single binary.
 */

/** A child to start: `slots` is the child's shared `[state, code, signal]`. */
export interface SpawnRequest {
  type: 'spawn'
  id: number
  file: string
  args: string[]
  env: Record<string, string>
  stdio: Array<number | 'ignore'>
  slots: SharedArrayBuffer
}

/** A signal for a started child. */
export interface KillRequest {
  type: 'kill'
  id: number
  signal: number
}

/** The thread's body. Self-contained: it is turned into source text and evaluated in the worker. */
function spawnerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- an eval'd worker has require, not import */
  const {spawn} = require('node:child_process') as typeof import('node:child_process')
  const {constants} = require('node:os') as typeof import('node:os')
  const {parentPort} = require('node:worker_threads') as typeof import('node:worker_threads')
  /* eslint-enable @typescript-eslint/no-require-imports */
  const children = new Map<number, import('node:child_process').ChildProcess>()
  const settle = (slots: Int32Array, code: number, signal: number) => {
    Atomics.store(slots, 1, code)
    Atomics.store(slots, 2, signal)
    Atomics.store(slots, 0, 2)
    Atomics.notify(slots, 0)
  }
  parentPort?.on('message', (message: SpawnRequest | KillRequest) => {
    if (message.type === 'kill') {
      const name = Object.entries(constants.signals).find(([, n]) => n === message.signal)?.[0]
      children.get(message.id)?.kill((name ?? 'SIGTERM') as NodeJS.Signals)
      return
    }
    const slots = new Int32Array(message.slots)
    let child: import('node:child_process').ChildProcess
    try {
      child = spawn(message.file, message.args, {env: message.env, stdio: message.stdio})
    } catch {
      settle(slots, 126, 0)
      return
    }
    children.set(message.id, child)
    child.on('error', () => {
      children.delete(message.id)
      settle(slots, 126, 0)
    })
    child.on('exit', (code, signal) => {
      children.delete(message.id)
      const number = signal ? (constants.signals[signal] ?? 9) : 0
      settle(slots, code ?? 128 + number, number)
    })
    Atomics.store(slots, 0, 1)
    Atomics.notify(slots, 0)
  })
}

/** Source text of the spawner thread, for `new Worker(SPAWNER_SOURCE, {eval: true})`. */
export const SPAWNER_SOURCE = `(${spawnerMain.toString()})()`
