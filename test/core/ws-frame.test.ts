// WireFrame builds the same bytes as `ws` itself would send for an unmasked frame, at every
// length-encoding boundary, and `ws`'s own parser reads them back. Then over a real server:
// a broadcast and RPC replies (text) and terminal output (binary) arrive intact through it.
import t from 'tap'
import WebSocket from 'ws'
import { WireFrame, headerLength } from '../../src/core/rpc/ws-frame.js'
import { CORE, resolve } from '../../src/core/tokens.js'
import type { RpcContext } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'

// ws's own framing and parser (exported by the package at runtime, not in its type definitions).
interface WsInternals {
  Sender: { frame (data: Buffer, options: object): Buffer[] }
  Receiver: new (options: object) => NodeJS.WritableStream & NodeJS.EventEmitter
}
const { Receiver, Sender } = WebSocket as unknown as WsInternals

const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]

/** What `ws` writes for an unmasked frame: the header and the payload, concatenated. */
function wsBytes (data: Buffer, binary: boolean): Buffer {
  return Buffer.concat(Sender.frame(data, { fin: true, mask: false, opcode: binary ? 2 : 1, readOnly: false, rsv1: false }))
}

/** Parses frames with the real `ws` Receiver (client side: server frames are unmasked). */
function parse (bytes: Buffer): Promise<Array<{ data: Buffer, binary: boolean }>> {
  return new Promise((resolve, reject) => {
    const out: Array<{ data: Buffer, binary: boolean }> = []
    const r = new Receiver({ isServer: false, maxPayload: 1 << 24 })
    r.on('message', (data: Buffer, binary: boolean) => out.push({ data: Buffer.from(data), binary }))
    r.on('error', reject)
    r.write(bytes, () => { resolve(out) })
  })
}

t.test('binary frames equal ws framing at every length boundary, and parse back', async t => {
  for (const n of LENGTHS) {
    const data = Buffer.alloc(n, n % 251)
    // Split into uneven parts: the frame is their concatenation.
    const parts = n > 3 ? [data.subarray(0, 1), data.subarray(1, 3), data.subarray(3)] : [data]
    const f = WireFrame.binary(parts)
    t.equal(f.headerLength, headerLength(n), `header length for ${n}`)
    t.same(f.bytes, wsBytes(data, true), `${n} bytes: same as ws`)
    t.same(f.payload, data, `${n} bytes: payload view`)
    const [msg] = await parse(f.bytes)
    t.ok(msg?.binary && msg.data.equals(data), `${n} bytes: ws parses it back`)
  }
})

t.test('text frames count UTF-8 bytes, not characters', async t => {
  // Multi-byte characters right at the 125/126 and 65535/65536 boundaries.
  const texts = ['', 'a', 'é'.repeat(62) + 'a', 'é'.repeat(63), '😀'.repeat(16_383) + 'abc', '😀'.repeat(16_384), '{"event":"x","payload":"ünïcödé"}']
  for (const text of texts) {
    const f = WireFrame.text(text)
    t.same(f.bytes, wsBytes(Buffer.from(text), false), `${Buffer.byteLength(text)} bytes of text: same as ws`)
    const [msg] = await parse(f.bytes)
    t.ok(msg && !msg.binary && msg.data.toString('utf8') === text, 'ws parses it back as text')
  }
})

t.test('several frames back to back parse as several messages', async t => {
  const a = WireFrame.text('one')
  const b = WireFrame.binary([Buffer.from([1, 2, 3])])
  const msgs = await parse(Buffer.concat([a.bytes, b.bytes, a.bytes]))
  t.same(msgs.map(m => [m.binary, m.data.toString('hex')]), [[false, Buffer.from('one').toString('hex')], [true, '010203'], [false, Buffer.from('one').toString('hex')]])
})

t.test('over a real server: a large reply, a broadcast to two connections, an event to one', async t => {
  const big = 'ü'.repeat(50_000) // 100,000 UTF-8 bytes: the 64-bit length form
  const server = await startServer(t, {
    plugins: [async (app) => {
      app.rpc.register({ name: 'big_reply', handler: () => big })
      app.rpc.register({ name: 'notify_me', handler: (_p: unknown, ctx: RpcContext) => { ctx.notify('just-you', { x: 'é' }); return 'ok' } })
    }],
  })
  const a = await TestClient.paired(t, server)
  const b = await TestClient.paired(t, server)
  t.equal(await a.call('big_reply'), big, 'a 100,000-byte reply arrives intact')
  const seen = [a.frames.length, b.frames.length]
  resolve(server.app.di, CORE.Hub).broadcast('test-event', { n: 1, text: 'ünï' })
  const [ea, eb] = await Promise.all([
    a.waitFor(f => f.json?.event === 'test-event', 5000, seen[0]),
    b.waitFor(f => f.json?.event === 'test-event', 5000, seen[1]),
  ])
  t.same(ea.json.payload, { n: 1, text: 'ünï' }, 'broadcast: first connection')
  t.same(eb.json.payload, { n: 1, text: 'ünï' }, 'broadcast: second connection')
  t.equal(await b.call('notify_me'), 'ok')
  t.same((await b.waitFor(f => f.json?.event === 'just-you', 5000, seen[1])).json.payload, { x: 'é' })
  t.notOk(a.frames.some(f => f.json?.event === 'just-you'), 'an event to one connection reaches only it')
})

t.test('a burst of frames in one turn arrives complete and in order, before the reply that follows it', async t => {
  const server = await startServer(t, {
    plugins: [async (app) => {
      // 300 events then the reply, all in one turn; sizes cross the 125 and 65535 boundaries.
      app.rpc.register({
        name: 'burst',
        handler: (_p: unknown, ctx: RpcContext) => {
          for (let i = 0; i < 300; i++) ctx.notify('seq', { i, pad: 'x'.repeat(i % 3 === 0 ? 70_000 : i) })
          return 'done'
        },
      })
    }],
  })
  const c = await TestClient.paired(t, server)
  for (let round = 0; round < 3; round++) {
    const from = c.frames.length
    t.equal(await c.call('burst'), 'done')
    const got = c.frames.slice(from).filter(f => f.json?.event === 'seq').map(f => f.json.payload as { i: number, pad: string })
    t.equal(got.length, 300, `round ${round}: every event arrived`)
    t.ok(got.every((p, i) => p.i === i && p.pad.length === (i % 3 === 0 ? 70_000 : i)), `round ${round}: in order, intact`)
    const replyAt = c.frames.slice(from).findIndex(f => f.json?.result === 'done')
    t.equal(replyAt, 300, `round ${round}: the reply comes after the events it followed`)
  }
  // The next turn writes at once again: a plain request still gets its reply.
  t.match(await c.call('server_info'), { fingerprint: server.fingerprint })
})
