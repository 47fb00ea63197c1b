import type {Readable} from 'node:stream'

/**
 * Reads `stream` as JSON lines: one value per line, blank lines skipped, a line taken only once its
 * newline has arrived. How the driver and its parent talk over fd 3, in both directions.
 */
export function onJsonLines(stream: Readable, handle: (value: unknown) => void): void {
  let buffered = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    buffered += chunk
    let newline: number
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (!line.trim()) continue
      handle(JSON.parse(line))
    }
  })
}
