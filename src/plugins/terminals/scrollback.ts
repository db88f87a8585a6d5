const TAIL_CAPACITY = 16 * 1024
const SMALL = 1024

/**
 * The last `limit` bytes of a terminal's output, plus the absolute stream position of the
 * first byte kept (so a reconnecting client can ask for "everything after N").
 * Large chunks are kept by reference (no copy) when they are most of the memory behind them;
 * small ones (keystroke echo) are packed into 16 KiB blocks so a million one-byte chunks cannot
 * cost a million objects.
 *
 * Why "most of the memory behind them": a chunk is often a view into a bigger allocation (Node
 * serves Buffers under 4 KiB from shared 8 KiB slabs, and a LivePty's chunks are views into
 * their WebSocket frames). Kept by reference, a 1 KiB chunk would pin its whole slab: under the
 * load bench (50 terminals printing 1-2 KiB reads) that is ~245 MiB of ArrayBuffers for 50 MiB
 * of output. Such chunks are copied.
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
      const kept = chunk.subarray(chunk.length - this.limit)
      this.#chunks = [kept.length * 2 >= kept.buffer.byteLength ? kept : Uint8Array.prototype.slice.call(kept)]
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
      // A view of a much bigger allocation is copied, so it does not keep that alive.
      this.#chunks.push(chunk.length * 2 >= chunk.buffer.byteLength ? chunk : Uint8Array.prototype.slice.call(chunk))
      this.#chunkBytes += chunk.length
    }
    this.#trim()
  }

  #flushTail (): void {
    if (!this.#tail || this.#tailLen === 0) return
    if (this.#tailLen * 2 >= this.#tail.length) {
      this.#chunks.push(this.#tail.subarray(0, this.#tailLen))
      this.#tail = null
    } else {
      // Mostly empty (small output between large reads): keep an exact copy, not the 16 KiB
      // block, and go on filling the block.
      this.#chunks.push(Uint8Array.prototype.slice.call(this.#tail, 0, this.#tailLen))
    }
    this.#chunkBytes += this.#tailLen
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
