const TAIL_CAPACITY = 16 * 1024
const SMALL = 1024

/**
 * The last `limit` bytes of a terminal's output, plus the absolute stream position of the
 * first byte kept (so a reconnecting client can ask for "everything after N").
 * Large chunks are kept by reference (no copy); small ones (keystroke echo) are packed into
 * 16 KiB blocks so a million one-byte chunks cannot cost a million objects.
 */
export class Scrollback {
  #chunks: Uint8Array[] = []
  #chunkBytes = 0
  #tail: Buffer | null = null
  #tailLen = 0
  /** Total bytes ever appended. */
  #end = 0

  constructor (private readonly limit: number) {}

  /** Absolute position just after the last byte. */
  get end (): number { return this.#end }
  get size (): number { return this.#chunkBytes + this.#tailLen }
  /** Absolute position of the first byte still kept. */
  get start (): number { return this.#end - this.size }

  /** Keeps a reference to large chunks: the caller must not reuse their memory. */
  append (chunk: Uint8Array): void {
    this.#end += chunk.length
    if (this.limit === 0 || chunk.length === 0) return
    if (chunk.length >= this.limit) {
      this.#chunks = [chunk.subarray(chunk.length - this.limit)]
      this.#chunkBytes = this.limit
      this.#tail = null
      this.#tailLen = 0
      return
    }
    if (chunk.length < SMALL) {
      if (this.#tail && this.#tailLen + chunk.length > this.#tail.length) this.#flushTail()
      this.#tail ??= Buffer.allocUnsafe(TAIL_CAPACITY)
      this.#tail.set(chunk, this.#tailLen)
      this.#tailLen += chunk.length
    } else {
      this.#flushTail()
      this.#chunks.push(chunk)
      this.#chunkBytes += chunk.length
    }
    this.#trim()
  }

  #flushTail (): void {
    if (!this.#tail || this.#tailLen === 0) return
    this.#chunks.push(this.#tail.subarray(0, this.#tailLen))
    this.#chunkBytes += this.#tailLen
    this.#tail = null
    this.#tailLen = 0
  }

  #trim (): void {
    let drop = this.size - this.limit
    if (drop <= 0) return
    if (drop > this.#chunkBytes) this.#flushTail()
    let i = 0
    while (drop > 0) {
      const c = this.#chunks[i]!
      if (c.length <= drop) { drop -= c.length; this.#chunkBytes -= c.length; i++ } else {
        this.#chunks[i] = c.subarray(drop)
        this.#chunkBytes -= drop
        drop = 0
      }
    }
    if (i > 0) this.#chunks.splice(0, i)
  }

  /** The kept bytes from absolute position `since` on (clamped to what is kept), and where they start. */
  read (since = 0): { offset: number, bytes: Buffer } {
    const start = this.start
    const from = Math.min(Math.max(since, start), this.#end)
    let skip = from - start
    const parts: Uint8Array[] = []
    const all = this.#tail && this.#tailLen > 0 ? [...this.#chunks, this.#tail.subarray(0, this.#tailLen)] : this.#chunks
    for (const c of all) {
      if (skip >= c.length) { skip -= c.length; continue }
      parts.push(skip > 0 ? c.subarray(skip) : c)
      skip = 0
    }
    return { offset: from, bytes: Buffer.concat(parts) }
  }
}
