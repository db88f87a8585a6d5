// Unit checks of the two pure pieces: the table-driven JSON encoder and the scrollback ring.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { serializeEvent } from '../../../src/core/rpc/hub.js'
import { ptyOutputJsonFrame } from '../../../src/plugins/terminals/json-encoding.js'
import { Scrollback } from '../../../src/plugins/terminals/scrollback.js'

t.test('JSON encoding is byte-identical to JSON.stringify', async t => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  for (const bytes of [Buffer.alloc(0), Buffer.from([0]), Buffer.from([255]), all, Buffer.from('hello\r\n')]) {
    for (const id of [1, 42, 0xffffffff]) {
      t.equal(ptyOutputJsonFrame(id, bytes).payload.toString('utf8'), serializeEvent('pty-output', { data: [...bytes], pty_id: id }))
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

t.test('a scrollback copies views of bigger allocations instead of pinning them', async t => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  const before = process.memoryUsage().arrayBuffers
  const sb = new Scrollback(1 << 20)
  // 500 chunks of 2,000 bytes, each a view into its own 64 KiB allocation (as a read's bytes
  // inside a frame or a pooled slab are): kept by reference they would pin 32 MiB.
  for (let i = 0; i < 500; i++) sb.append(Buffer.alloc(64 * 1024, i & 0xff).subarray(10, 2010))
  gc()
  const grown = process.memoryUsage().arrayBuffers - before
  t.equal(sb.size, 1_000_000)
  t.ok(grown < 4 * 2 ** 20, `1 MB of output holds ${(grown / 2 ** 20).toFixed(1)} MiB`)
  const { bytes } = sb.read(sb.end - 2000)
  t.ok(bytes.equals(Buffer.alloc(2000, 499 & 0xff)), 'the bytes are intact')
  // Small output between large reads: each small piece must not pin a 16 KiB packing block.
  gc()
  const before2 = process.memoryUsage().arrayBuffers
  const mixed = new Scrollback(1 << 20)
  for (let i = 0; i < 500; i++) {
    mixed.append(Buffer.from('$ '))
    mixed.append(Buffer.alloc(2000, i & 0xff))
  }
  gc()
  const grown2 = process.memoryUsage().arrayBuffers - before2
  t.equal(mixed.size, 500 * 2002)
  t.ok(grown2 < 4 * 2 ** 20, `1 MB of mixed output holds ${(grown2 / 2 ** 20).toFixed(1)} MiB`)
  t.ok(mixed.read(mixed.end - 2002).bytes.equals(Buffer.concat([Buffer.from('$ '), Buffer.alloc(2000, 499 & 0xff)])), 'in order, intact')
  // A chunk that is its whole allocation is still kept without a copy.
  const own = Buffer.alloc(64 * 1024, 7)
  sb.append(own)
  own.fill(8)
  t.equal(sb.read(sb.end - 1).bytes[0], 8, 'kept by reference')
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
