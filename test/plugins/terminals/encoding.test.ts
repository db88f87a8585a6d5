// Unit checks of the two pure pieces: the table-driven JSON encoder and the scrollback ring.
import t from 'tap'
import { serializeEvent } from '../../../src/core/rpc/hub.js'
import { encodePtyOutputJson, ptyOutputJsonFrame } from '../../../src/plugins/terminals/json-encoding.js'
import { Scrollback } from '../../../src/plugins/terminals/scrollback.js'

t.test('JSON encoding is byte-identical to JSON.stringify', async t => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  for (const bytes of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([255]), all, Buffer.from('hello\r\n')]) {
    for (const id of [1, 42, 0xffffffff]) {
      t.equal(encodePtyOutputJson(id, bytes), serializeEvent('pty-output', { data: [...bytes], pty_id: id }))
    }
  }
})

t.test('the JSON output frame is a complete text frame of that exact message, at every length form', async t => {
  // Payload lengths cross 125 (7-bit length) and 65535 (16-bit) as the byte count grows.
  const sizes = [...Array.from({ length: 40 }, (_, i) => i), 16_380, 16_383, 16_384, 30_000]
  const forms = new Set<number>()
  for (const size of sizes) {
    const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 37 + size) & 0xff))
    const frame = ptyOutputJsonFrame(7, bytes)
    const b = frame.bytes
    t.equal(b[0], 0x81, 'FIN + text opcode')
    const len7 = b[1]! & 0x7f
    t.equal(b[1]! & 0x80, 0, 'unmasked')
    const [length, header] = len7 < 126 ? [len7, 2] : len7 === 126 ? [b.readUInt16BE(2), 4] : [b.readUInt32BE(6), 10]
    forms.add(header)
    t.equal(header + length, b.length, `size ${size}: the header's length is the payload's`)
    if (b.subarray(header).toString('utf8') !== serializeEvent('pty-output', { data: [...bytes], pty_id: 7 })) t.fail(`size ${size}: payload differs`)
  }
  t.same([...forms].sort(), [10, 2, 4].sort(), 'all three length forms were built')
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
