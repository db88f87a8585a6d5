// The compatible `pty-output` encoding (a JSON array of byte values), built without
// JSON.stringify: each byte is copied from a precomputed table of "<decimal>," entries.

// 4 bytes per value ("255," / "7,\0\0"), written branch-free; LENGTHS says how far to advance.
const DIGITS = new Uint8Array(256 * 4)
const LENGTHS = new Uint8Array(256)
for (let v = 0; v < 256; v++) {
  const s = `${v},`
  for (let i = 0; i < s.length; i++) DIGITS[v * 4 + i] = s.charCodeAt(i)
  LENGTHS[v] = s.length
}

const PREFIX = Buffer.from('{"event":"pty-output","payload":{"data":[', 'latin1')

/**
 * `{"event":"pty-output","payload":{"data":[…],"pty_id":N}}`, byte-identical to
 * `serializeEvent('pty-output', { data: [...bytes], pty_id })` (keys in alphabetical order).
 */
export function encodePtyOutputJson (ptyId: number, bytes: Uint8Array): string {
  const n = bytes.length
  const suffix = `],"pty_id":${ptyId}}}`
  // +3: the last 4-byte table write may run past the final comma.
  const out = Buffer.allocUnsafe(PREFIX.length + n * 4 + 3 + suffix.length)
  PREFIX.copy(out, 0)
  let p = PREFIX.length
  for (let i = 0; i < n; i++) {
    const o = bytes[i]! << 2
    out[p] = DIGITS[o]!
    out[p + 1] = DIGITS[o + 1]!
    out[p + 2] = DIGITS[o + 2]!
    out[p + 3] = DIGITS[o + 3]!
    p += LENGTHS[bytes[i]!]!
  }
  if (n > 0) p-- // drop the trailing comma
  p += out.write(suffix, p, 'latin1')
  return out.toString('latin1', 0, p)
}

/** The `[…]` array text alone (for replays inside a JSON result). */
export const bytesToArray = (bytes: Uint8Array): number[] => Array.from(bytes)
