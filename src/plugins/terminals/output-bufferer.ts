import type { Disposable } from '../../core/lifecycle.js'

/** Output after this long without any is flushed at once instead of coalesced. */
const IDLE_FLUSH_MS = 2
/** A read this small with nothing pending is sent at once (echo), whatever came before. */
const SMALL_CHUNK = 512
/** How long streaming output is gathered into one batch. */
const COALESCE_MS = 1

/**
 * Gathers a terminal's output reads into batches (VS Code's TerminalDataBufferer, tuned for
 * keystroke latency). A pty master gives at most ~4 KiB per read, and one frame per read costs a
 * WebSocket frame, a TLS record and a syscall on each side; so output that keeps coming is merged
 * for up to ~1 ms (invisible in streaming output), while a small read (a keystroke echo) or the
 * first output after a quiet spell goes out at once.
 *
 * A batch is handed over as parts: `head` first (not counted), then the output, at most
 * `maxBatchBytes` of it; more pending output makes more batches. With the frame header as `head`,
 * a batch becomes one wire frame in a single copy.
 */
export class OutputBufferer implements Disposable {
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  /** performance.now() of the last flush. */
  #lastFlushAt = 0
  #timer: NodeJS.Timeout | undefined
  readonly #onTimer = (): void => { this.#timer = undefined; this.flush() }

  constructor (
    private readonly head: Uint8Array,
    private readonly maxBatchBytes: number,
    private readonly onBatch: (parts: Uint8Array[]) => void,
  ) {}

  /** Takes one read; the bufferer keeps a reference until the batch is handed over. */
  push (chunk: Uint8Array): void {
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    if (this.#pendingBytes >= this.maxBatchBytes) {
      this.flush()
    } else if (!this.#timer) {
      if (chunk.length <= SMALL_CHUNK || performance.now() - this.#lastFlushAt > IDLE_FLUSH_MS) this.flush()
      else this.#timer = setTimeout(this.#onTimer, COALESCE_MS).unref()
    }
  }

  /** Hands over everything pending now. */
  flush (): void {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = undefined }
    const max = this.maxBatchBytes
    const pending = this.#pending
    this.#lastFlushAt = performance.now()
    while (this.#pendingBytes > 0) {
      const n = Math.min(this.#pendingBytes, max)
      const parts: Uint8Array[] = [this.head]
      let left = n
      while (left > 0) {
        const c = pending[0]!
        if (c.length <= left) { parts.push(c); pending.shift(); left -= c.length } else {
          parts.push(c.subarray(0, left))
          pending[0] = c.subarray(left)
          left = 0
        }
      }
      this.#pendingBytes -= n
      this.onBatch(parts)
    }
  }

  /** Drops whatever is pending and the timer. */
  dispose (): void {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = undefined }
    this.#pending = []
    this.#pendingBytes = 0
  }
}
