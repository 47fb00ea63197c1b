/**
 * Worker thread that starts and watches the guest's child processes for the host layer. The
 * guest's thread is blocked inside WebAssembly and never returns to its event loop, so it cannot
 * see a child exit; this thread can, and reports through a SharedArrayBuffer per child:
 * `[state, exit code, signal]`, state 1 once started, 2 once ended.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {constants} from 'node:os'
import {parentPort} from 'node:worker_threads'

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

export const STATE = {started: 1, ended: 2} as const

const children = new Map<number, ChildProcess>()

function settle(slots: Int32Array, code: number, signal: number): void {
  Atomics.store(slots, 1, code)
  Atomics.store(slots, 2, signal)
  Atomics.store(slots, 0, STATE.ended)
  Atomics.notify(slots, 0)
}

parentPort?.on('message', (message: SpawnRequest | KillRequest) => {
  if (message.type === 'kill') {
    const name = Object.entries(constants.signals).find(([, n]) => n === message.signal)?.[0]
    children.get(message.id)?.kill((name ?? 'SIGTERM') as NodeJS.Signals)
    return
  }
  const slots = new Int32Array(message.slots)
  let child: ChildProcess
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
  Atomics.store(slots, 0, STATE.started)
  Atomics.notify(slots, 0)
})
