// The compatible `pty-output` encoding (a JSON array of byte values), built without
// JSON.stringify: each byte is copied from a precomputed table of "<decimal>," entries, straight
// into the WebSocket frame (its exact length is known from a first pass over the same table).
import { WireFrame } from '../../core/rpc/ws-frame.js'

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
 * The text frame of `{"event":"pty-output","payload":{"data":[…],"pty_id":N}}`, byte-identical to
 * `serializeEvent('pty-output', { data: [...bytes], pty_id })` (keys in alphabetical order).
 */
export function ptyOutputJsonFrame (ptyId: number, bytes: Uint8Array): WireFrame {
  const n = bytes.length
  const suffix = `],"pty_id":${ptyId}}}`
  let digits = 0
  for (let i = 0; i < n; i++) digits += LENGTHS[bytes[i]!]!
  if (n > 0) digits-- // no comma after the last value
  return WireFrame.textInPlace(PREFIX.length + digits + suffix.length, (out, at) => {
    PREFIX.copy(out, at)
    let p = at + PREFIX.length
    // A 4-byte table write may run up to 3 bytes past its value; the suffix (always longer than
    // that) is written over the overrun after the loop.
    for (let i = 0; i < n; i++) {
      const o = bytes[i]! << 2
      out[p] = DIGITS[o]!
      out[p + 1] = DIGITS[o + 1]!
      out[p + 2] = DIGITS[o + 2]!
      out[p + 3] = DIGITS[o + 3]!
      p += LENGTHS[bytes[i]!]!
    }
    if (n > 0) p-- // drop the trailing comma
    out.write(suffix, p, 'latin1')
  })
}
