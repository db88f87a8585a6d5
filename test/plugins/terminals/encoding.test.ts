// Unit checks of the two pure pieces: the table-driven JSON encoder and the scrollback ring.
import t from 'tap'
import { serializeEvent } from '../../../src/core/rpc/hub.js'
import { encodePtyOutputJson } from '../../../src/plugins/terminals/json-encoding.js'
import { Scrollback } from '../../../src/plugins/terminals/scrollback.js'

t.test('JSON encoding is byte-identical to JSON.stringify', async t => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  for (const bytes of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([255]), all, Buffer.from('hello\r\n')]) {
    for (const id of [1, 42, 0xffffffff]) {
      t.equal(encodePtyOutputJson(id, bytes), serializeEvent('pty-output', { data: [...bytes], pty_id: id }))
    }
  }
})

t.test('scrollback keeps the newest bytes and absolute positions', async t => {
  const sb = new Scrollback(10)
  sb.append(Buffer.from('abc'))
  sb.append(Buffer.from('defgh'))
  t.same(sb.read(), { offset: 0, bytes: Buffer.from('abcdefgh') })
  sb.append(Buffer.from('ijkl'))
  t.equal(sb.end, 12)
  t.equal(sb.start, 2)
  t.same(sb.read(), { offset: 2, bytes: Buffer.from('cdefghijkl') })
  t.same(sb.read(7), { offset: 7, bytes: Buffer.from('hijkl') })
  t.same(sb.read(99), { offset: 12, bytes: Buffer.alloc(0) })
  sb.append(Buffer.from('0123456789ABC'))
  t.same(sb.read(), { offset: 15, bytes: Buffer.from('3456789ABC') })

  // many tiny chunks are packed, and trimming still works through the packed blocks
  const big = new Scrollback(5000)
  let all = ''
  for (let i = 0; i < 20_000; i++) { const s = String.fromCharCode(97 + (i % 26)); big.append(Buffer.from(s)); all += s }
  big.append(Buffer.alloc(2000, 'Z'))
  all += 'Z'.repeat(2000)
  t.equal(big.read().bytes.toString(), all.slice(-5000))
  t.equal(big.size, 5000)

  const none = new Scrollback(0)
  none.append(Buffer.from('x'))
  t.same(none.read(), { offset: 1, bytes: Buffer.alloc(0) })
})
