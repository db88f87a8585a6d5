// Re-attach replay de-duplication by content (used when the server gives no stream offset).
import t from 'tap'
import { ReplayDeduper } from '../../src/index.js'
import { overlap } from '../../src/client/replay.js'

const b = (s: string): Uint8Array => Buffer.from(s)
const s = (u: Uint8Array): string => Buffer.from(u).toString()

t.test('overlap finds the longest prefix of the replay that ends what we have', async t => {
  t.equal(overlap(b('hello world'), b('world and more')), 5)
  t.equal(overlap(b('abcabc'), b('abcabcX')), 6)
  t.equal(overlap(b('aaaa'), b('aab')), 2)
  t.equal(overlap(b('xyz'), b('abc')), 0)
  t.equal(overlap(b(''), b('abc')), 0)
  t.equal(overlap(b('abc'), b('')), 0)
  t.equal(overlap(b('0123456789'), b('789')), 3, 'replay fully delivered')
})

t.test('the deduper delivers only the new part and remembers it', async t => {
  const d = new ReplayDeduper(8)
  d.remember(b('line1\nline2\n'))
  t.equal(s(d.fresh(b('line2\nline3\n'))), 'line3\n')
  t.equal(s(d.fresh(b('ne3\n'))), '', 'nothing new')
  t.equal(s(d.fresh(b('zzz'))), 'zzz', 'no overlap: all new')
  d.remember(b('0123456789abcdef'))
  t.equal(s(d.fresh(b('89abcdefX'))), 'X', 'tail bounded to maxTail bytes')
})
