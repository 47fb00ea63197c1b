/** The sequential, hashing writer an `.aospkg` is written through. */
import {createHash} from 'node:crypto'
import {type FileHandle, open} from 'node:fs/promises'
import {AgentosError} from '../errors.js'

const WRITE_BUFFER = 1024 * 1024

/** Sequential writes through one buffer, hashing everything written. */
export class ArchiveWriter {
  readonly hash = createHash('sha256')
  written = 0
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER)
  private fill = 0

  constructor(private readonly out: FileHandle) {}

  async write(bytes: Buffer): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      if (this.fill === this.buffer.length) await this.flush()
      const copied = bytes.copy(this.buffer, this.fill, done)
      this.fill += copied
      done += copied
    }
  }

  /** Copies exactly `size` bytes of a file, read straight into the write buffer. */
  async copyFile(source: string, size: number): Promise<void> {
    const input = await open(source, 'r')
    try {
      let copied = 0
      for (;;) {
        if (this.fill === this.buffer.length) await this.flush()
        const want = Math.min(this.buffer.length - this.fill, size - copied + 1)
        const {bytesRead} = await input.read(this.buffer, this.fill, want, null)
        if (bytesRead === 0) break
        this.fill += bytesRead
        copied += bytesRead
        if (copied > size) break
      }
      if (copied !== size) {
        throw new AgentosError(
          'ERR_AGENTOS_AOSPKG_SOURCE_CHANGED',
          `${source} changed while it was archived (${size} bytes expected, ${copied > size ? 'more' : copied} read)`,
          {hint: 'Run again when nothing is writing to the package directory.', path: source},
        )
      }
    } finally {
      await input.close()
    }
  }

  async flush(): Promise<void> {
    const data = this.buffer.subarray(0, this.fill)
    this.hash.update(data)
    for (let done = 0; done < data.length;) {
      const {bytesWritten} = await this.out.write(data, done, data.length - done)
      done += bytesWritten
    }
    this.written += data.length
    this.fill = 0
  }
}
