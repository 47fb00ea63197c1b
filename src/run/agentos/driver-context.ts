import type {DriverEvent} from './protocol.js'

// What the driver's operations (driver-commands.ts, driver-agent.ts) share with driver.ts, which
// owns the channel to the parent.

/** The slice of the runtime's VM the driver uses. */
export interface Vm {
  process: {
    spawn(command: string, args: string[], options: Record<string, unknown>): Promise<{pid: number}>
    wait(pid: number): Promise<{outcome: string; exitCode?: number; signal?: string}>
    kill(pid: number): Promise<void>
    writeStdin(pid: number, data: Uint8Array): Promise<void>
    closeStdin(pid: number): Promise<void>
  }
  filesystem: {readFile(path: string): Promise<Uint8Array>}
  software: {list(): Promise<Array<{packageName: string; commands: string[]}>>}
  agents: {list(): Promise<Array<{id: string; installed: boolean}>>}
  sessions: {
    open(input: Record<string, unknown>): Promise<void>
    get(input: {sessionId: string}): Promise<Record<string, unknown>>
    getAgentInfo(input: {sessionId: string}): Promise<unknown>
    getCapabilities(input: {sessionId: string}): Promise<unknown>
    prompt(
      input: Record<string, unknown>,
    ): Promise<{message: {content: unknown[]} | null; stopReason: string}>
    unload(input: {sessionId: string}): Promise<void>
  }
  onSessionEvent(sessionId: string, handler: (entry: Record<string, unknown>) => void): () => void
  dispose(): Promise<void>
}

/** The driver's side of the channel, as an operation uses it. */
export interface DriverContext {
  send(event: DriverEvent): void
  /** Reports the operation's failure at `stage` (a `fail` event). */
  fail(stage: string, error: unknown): void
  /** Hands the parent's later messages (stdin, stop) to `handle`, the ones already received first. */
  listen(handle: (message: Record<string, unknown>) => void): void
  /** What a stop does from now on: the parent's `stop`, or the parent gone (`SIGTERM`). */
  onStop(stop: (signal: string) => void): void
}

/** Milliseconds since an arbitrary start. */
export const clock = () => performance.now()

/** Milliseconds to a tenth, as every timing is reported. */
export const round = (ms: number) => Math.round(ms * 10) / 10
