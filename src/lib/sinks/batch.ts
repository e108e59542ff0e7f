/**
 * Batch bodies built in place: entries (JSON texts) are written straight into one Buffer between the sink's prefix and
 * suffix (`{"lines":[` … `]}` or `[` … `]`), so a batch holds one Buffer instead of thousands of strings, and the
 * strings die young. Entry boundaries are kept so a retry can send a subset (207) or a half (too large).
 */
export interface Framing {
  prefix: string
  suffix: string
}

/** What deliverBatch sends: all entries, or a subset by position. */
export interface Payload {
  readonly count: number
  /** The request body holding the entries at these positions (all of them when omitted). */
  body(positions?: readonly number[]): Buffer
}

const COMMA = 0x2c

export class BatchBuffer implements Payload {
  private buf: Buffer
  private len: number
  private readonly prefixBytes: number
  private readonly suffix: Buffer
  private readonly prefix: Buffer
  private readonly starts: number[] = []
  private readonly ends: number[] = []
  private sealed = false

  /** `buffer`: a recycled buffer to write into (its content is overwritten). */
  constructor(framing: Framing, capacity: number, buffer?: Buffer) {
    this.prefix = Buffer.from(framing.prefix, 'utf8')
    this.suffix = Buffer.from(framing.suffix, 'utf8')
    this.buf = buffer && buffer.length >= capacity ? buffer : Buffer.allocUnsafe(Math.max(capacity, this.prefix.length + this.suffix.length + 2))
    this.prefixBytes = this.prefix.copy(this.buf, 0)
    this.len = this.prefixBytes
  }

  get count(): number {
    return this.starts.length
  }

  /** Body size when sent whole. */
  get bytes(): number {
    return this.len + this.suffix.length
  }

  /** The underlying buffer, for recycling once the batch is delivered. */
  get buffer(): Buffer {
    return this.buf
  }

  /**
   * Append an entry if the body stays within `limit` bytes; an entry that does not fit an empty batch is still taken
   * (the buffer grows), so that it can go out alone. Returns false when the batch is full.
   */
  add(text: string, limit: number): boolean {
    if (this.sealed) throw new Error('batch already sealed')
    const sep = this.starts.length > 0 ? 1 : 0
    const free = Math.min(limit, this.buf.length) - this.len - this.suffix.length - sep
    let size = text.length * 3 <= free ? -1 : Buffer.byteLength(text, 'utf8')
    if (size > free) {
      if (this.starts.length > 0) return false
      this.grow(this.prefixBytes + size + this.suffix.length)
    }
    if (sep) this.buf[this.len++] = COMMA
    const start = this.len
    size = this.buf.write(text, start, 'utf8')
    this.len += size
    this.starts.push(start)
    this.ends.push(this.len)
    return true
  }

  body(positions?: readonly number[]): Buffer {
    if (positions === undefined || (positions.length === this.starts.length && positions.every((p, i) => p === i))) {
      if (!this.sealed) {
        this.suffix.copy(this.buf, this.len)
        this.sealed = true
      }
      return this.buf.subarray(0, this.len + this.suffix.length)
    }
    const parts: Buffer[] = [this.prefix]
    positions.forEach((p, i) => {
      if (i > 0) parts.push(COMMA_BUF)
      parts.push(this.buf.subarray(this.starts[p], this.ends[p]))
    })
    parts.push(this.suffix)
    return Buffer.concat(parts)
  }

  /** The text of one entry (tests, samples). */
  entry(position: number): string {
    return this.buf.toString('utf8', this.starts[position], this.ends[position])
  }

  private grow(size: number): void {
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }
}

const COMMA_BUF = Buffer.from(',')

/** A payload from entry strings (tests and one-off sends). */
export function payloadOf(framing: Framing, entries: readonly string[]): BatchBuffer {
  const total = entries.reduce((n, e) => n + Buffer.byteLength(e) + 1, Buffer.byteLength(framing.prefix) + Buffer.byteLength(framing.suffix))
  const b = new BatchBuffer(framing, total)
  for (const e of entries) if (!b.add(e, total)) throw new Error('payloadOf: entries do not fit')
  return b
}
