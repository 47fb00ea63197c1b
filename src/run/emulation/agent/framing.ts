/**
 * The agent's side of the wire: its stdout as newline-delimited JSON-RPC messages for the SDK,
 * held to the protocol (every line JSON-RPC 2.0, none longer than {@link MAX_LINE}), and its stdin.
 */
import type {Readable} from 'node:stream'
import {Writable} from 'node:stream'
import {StringDecoder} from 'node:string_decoder'
import {Failure} from './report.js'

/** The longest stdout line (one JSON-RPC message) the client takes: 64 Mi characters. */
const MAX_LINE = 64 * 1024 * 1024

/** The agent's stdout as the client reads it. */
export interface AgentOutput {
  /** The messages, a line each, for the SDK's `ndJsonStream`. */
  readable: ReadableStream<Uint8Array>
  /** Rejects with the first violation of the protocol, as soon as it is seen. */
  violated: Promise<never>
  /** The unfinished last line of an agent that died mid-write, when there is one. */
  truncated(): string | undefined
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Reads the agent's stdout. stdout is reserved for the protocol: the first line that is not
 * JSON-RPC is a protocol error, reported at once instead of after a timeout.
 */
export function readMessages(stdout: Readable): AgentOutput {
  let violation: (failure: Failure) => void = () => {}
  const violated = new Promise<never>((_, reject) => (violation = reject))
  violated.catch(() => {})
  const encoder = new TextEncoder()
  let cancelled = false
  let truncated: string | undefined
  const readable = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true
    },
    start(controller) {
      const line = (text: string) => {
        if (cancelled || text.trim() === '') return
        let message: unknown
        try {
          message = JSON.parse(text)
        } catch {
          message = undefined
        }
        if (
          typeof message !== 'object' ||
          message === null ||
          (message as {jsonrpc?: unknown}).jsonrpc !== '2.0'
        ) {
          violation(
            new Failure('protocol-error', 'the agent wrote something that is not JSON-RPC 2.0 to stdout', {
              line: text.slice(0, 200),
            }),
          )
          return
        }
        controller.enqueue(encoder.encode(`${text}\n`))
      }
      splitLines(stdout, line, violation, (rest) => {
        // An unfinished last line is what an agent dying mid-write leaves: the exit, reported as
        // a crash, is the failure, not the fragment (kept for the report).
        if (rest.trim() !== '' && !isJson(rest)) truncated = rest.slice(0, 200)
        else line(rest)
        if (!cancelled) controller.close()
      })
    },
  })
  return {readable, violated, truncated: () => truncated}
}

/** Calls `line` for each line of `stdout`, `end` with what follows the last newline. */
function splitLines(
  stdout: Readable,
  line: (text: string) => void,
  violation: (failure: Failure) => void,
  end: (rest: string) => void,
): void {
  const decoder = new StringDecoder('utf8')
  // The unfinished line, in pieces: only new text is searched for a newline, so a long line
  // costs its length once, not once per chunk.
  let pieces: string[] = []
  let pending = 0
  let overflow = false
  stdout.on('data', (chunk: Buffer) => {
    if (overflow) return
    let text = decoder.write(chunk)
    let newline: number
    while ((newline = text.indexOf('\n')) >= 0) {
      line(pieces.join('') + text.slice(0, newline))
      pieces = []
      pending = 0
      text = text.slice(newline + 1)
    }
    if (text === '') return
    pieces.push(text)
    pending += text.length
    if (pending > MAX_LINE) {
      // Kept no further: a message this long is not one the client could take anyway.
      overflow = true
      violation(
        new Failure(
          'protocol-error',
          `the agent wrote a line of more than ${MAX_LINE} characters to stdout`,
          {
            line: pieces[0]!.slice(0, 200),
          },
        ),
      )
      pieces = []
    }
  })
  stdout.on('end', () => {
    if (overflow) return
    end(pieces.join('') + decoder.end())
  })
}

/** The agent's stdin, for the SDK's `ndJsonStream`. */
export function writeMessages(stdin: Writable): WritableStream<Uint8Array> {
  return Writable.toWeb(stdin)
}
