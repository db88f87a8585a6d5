/** How much delivered output a terminal remembers to de-duplicate a re-attach replay. */
export const DEFAULT_TAIL_BYTES = 1024 * 1024

/**
 * De-duplicates the scrollback a server sends on re-attach against the output already
 * delivered. The replay is the last N bytes of the terminal's output; what we delivered ends
 * somewhere inside it. The new part starts after the longest prefix of the replay that is a
 * suffix of what we delivered (KMP, linear time). When nothing overlaps, the whole replay is
 * new (output older than the server's scrollback was lost while disconnected).
 */
export class ReplayDeduper {
  #tail: Uint8Array = new Uint8Array(0)

  constructor (readonly maxTail = DEFAULT_TAIL_BYTES) {}

  /** Records delivered output. */
  remember (bytes: Uint8Array): void {
    if (bytes.length === 0) return
    if (bytes.length >= this.maxTail) { this.#tail = bytes.slice(bytes.length - this.maxTail); return }
    const keep = Math.min(this.#tail.length, this.maxTail - bytes.length)
    const next = new Uint8Array(keep + bytes.length)
    next.set(this.#tail.subarray(this.#tail.length - keep), 0)
    next.set(bytes, keep)
    this.#tail = next
  }

  /** The part of `replay` not delivered yet; it is remembered as delivered. */
  fresh (replay: Uint8Array): Uint8Array {
    const k = overlap(this.#tail, replay)
    const out = replay.slice(k)
    this.remember(out)
    return out
  }
}

/** Length of the longest prefix of `pattern` that is a suffix of `text`. */
export function overlap (text: Uint8Array, pattern: Uint8Array): number {
  const m = pattern.length
  if (m === 0 || text.length === 0) return 0
  const fail = new Int32Array(m)
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1]!
    if (pattern[i] === pattern[k]) k++
    fail[i] = k
  }
  let j = 0
  // Only the last m bytes of text can take part in the overlap.
  for (let i = Math.max(0, text.length - m); i < text.length; i++) {
    while (j > 0 && (j === m || text[i] !== pattern[j])) j = fail[j - 1]!
    if (text[i] === pattern[j]) j++
  }
  return j
}
