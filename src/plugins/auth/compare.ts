import { timingSafeEqual } from 'node:crypto'

/** Constant-time string comparison; a length mismatch still does the same amount of work. */
export function safeEqual (a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8')
  const bb = Buffer.from(b, 'utf8')
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba)
    return false
  }
  return timingSafeEqual(ba, bb)
}
