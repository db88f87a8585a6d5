// Broadcasts are queued per connection and written in time-bounded slices (src/core/rpc/outbox.ts).
// What must hold: every frame arrives once, in order, and before anything sent to that connection
// afterwards (a reply, a close); a client that stops reading keeps its frames queued (shared, not
// copied) and gets them all once it reads again; a fan-out to many connections yields to I/O.
import type { Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { ConnectionHub } from '../../src/core/rpc/hub.js'
import { OutboxScheduler, type OutboxOwner } from '../../src/core/rpc/outbox.js'
import { CORE, resolve } from '../../src/core/tokens.js'
import type { RpcContext } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'
import { eventually } from '../helpers/wait.js'

// A real GC between measurements, so garbage does not count as held memory.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const spin = (ms: number): void => { const end = performance.now() + ms; while (performance.now() < end) { /* busy */ } }

t.test('the scheduler flushes in FIFO order, a slice at a time, and lets I/O run in between', async t => {
  const outbox = new OutboxScheduler(2)
  t.teardown(() => outbox.dispose())
  const flushed: number[] = []
  const owners: OutboxOwner[] = Array.from({ length: 100 }, (_, i) => ({ flushQueued () { spin(0.2); flushed.push(i) } }))
  for (const o of owners) outbox.mark(o)
  outbox.mark(owners[0]!) // marked twice: still flushed once
  t.equal(outbox.pending, 100)
  // A timer due meanwhile stands for I/O: it runs before the fan-out is over.
  const flushedWhenTimerRan = await new Promise<number>(resolve => setTimeout(() => resolve(flushed.length), 1))
  t.ok(flushedWhenTimerRan < 100, `a timer ran after ${flushedWhenTimerRan} of 100 flushes, not after all`)
  for (let i = 0; i < 200 && flushed.length < 100; i++) await new Promise(resolve => setImmediate(resolve))
  t.same(flushed, owners.map((_, i) => i), 'each owner once, in the order marked')
  t.equal(outbox.pending, 0)

  outbox.mark(owners[1]!)
  outbox.unmark(owners[1]!)
  outbox.mark(owners[2]!)
  await new Promise(resolve => setImmediate(resolve))
  t.same(flushed.slice(100), [2], 'an unmarked owner is not flushed')
  outbox.mark(owners[3]!)
  outbox.dispose()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(flushed.length, 101, 'nothing is flushed after dispose')
})

t.test('a broadcast arrives before the reply, and before the close, that follow it', async t => {
  let hub!: ConnectionHub
  const server = await startServer(t, {
    plugins: [async (app) => {
      app.rpc.register({
        name: 'announce',
        handler: (_p: unknown, ctx: RpcContext) => {
          for (let i = 0; i < 50; i++) hub.broadcast('announced', { i })
          ctx.notify('direct', {})
          return 'ok'
        },
      })
    }],
  })
  hub = resolve(server.app.di, CORE.Hub)
  const a = await TestClient.paired(t, server)
  const b = await TestClient.paired(t, server)
  const fromB = b.frames.length
  const fromA = a.frames.length
  t.equal(await a.call('announce'), 'ok')
  const seq = a.frames.slice(fromA).map(f => f.json?.event ?? (f.json?.result === 'ok' ? 'reply' : '?'))
  t.same(seq, [...Array(50).fill('announced'), 'direct', 'reply'], 'the queued broadcast goes out first, in the same order')
  t.same(a.frames.slice(fromA, fromA + 50).map(f => f.json.payload.i), Array.from({ length: 50 }, (_, i) => i))
  await b.waitFor(f => f.json?.event === 'announced' && f.json.payload.i === 49, 5000, fromB)
  t.same(b.frames.slice(fromB).map(f => f.json.payload.i), Array.from({ length: 50 }, (_, i) => i), 'the other connection: all 50, in order')

  // Broadcast then close in one turn: the events still come before the close frame.
  const fromB2 = b.frames.length
  for (let i = 0; i < 5; i++) hub.broadcast('last-words', { i })
  for (const c of hub.authenticated()) c.close(4000, 'bye')
  const closed = await b.closed
  t.equal(closed.code, 4000)
  t.same(b.frames.slice(fromB2).map(f => f.json?.payload?.i), [0, 1, 2, 3, 4], 'queued frames were written before the close')
})

t.test('clients that stop reading: frames stay queued once for all (not copied per connection) and all arrive, in order, when they read again', async t => {
  const server = await startServer(t)
  const hub = resolve(server.app.di, CORE.Hub)
  const SLOW = 6
  const slow = []
  for (let i = 0; i < SLOW; i++) slow.push(await TestClient.paired(t, server))
  const fast = await TestClient.paired(t, server)
  const conns = hub.authenticated().slice(0, SLOW) // in connection order: the slow clients'
  // Stop reading: the kernel buffers fill, then each server socket's buffer, then its queue.
  const raws = slow.map(c => (c.ws as unknown as { _socket: Socket })._socket)
  for (const r of raws) r.pause()
  const pad = 'x'.repeat(16 * 1024)
  const N = 600 // ~10 MiB per client
  const fromFast = fast.frames.length
  const fromSlow = slow.map(c => c.frames.length)
  gc()
  const before = process.memoryUsage().arrayBuffers
  for (let i = 0; i < N; i++) {
    hub.broadcast('bulk', { i, pad })
    if (i % 50 === 49) await new Promise(resolve => setImmediate(resolve))
  }
  await fast.waitFor(f => f.json?.payload?.i === N - 1, 20_000, fromFast)
  t.same(fast.frames.slice(fromFast).map(f => f.json.payload.i), Array.from({ length: N }, (_, i) => i), 'a reading client gets everything meanwhile')
  gc()
  const grown = process.memoryUsage().arrayBuffers - before
  const unsent = conns.map(c => c.bufferedAmount)
  t.ok(unsent.every(n => n > 4 * 2 ** 20), `each slow connection has MiBs not yet sent: ${unsent.map(n => (n / 2 ** 20).toFixed(1)).join(', ')} MiB`)
  // Per-connection copies would be ~6 × 9.4 MiB; shared frames are ~9.4 MiB once (plus what the
  // sockets took before they congested).
  t.ok(grown < 30 * 2 ** 20, `buffers grew ${(grown / 2 ** 20).toFixed(1)} MiB for ${SLOW} slow clients`)
  for (const r of raws) r.resume()
  for (let k = 0; k < SLOW; k++) {
    await slow[k]!.waitFor(f => f.json?.payload?.i === N - 1, 20_000, fromSlow[k])
    const got = slow[k]!.frames.slice(fromSlow[k]).filter(f => f.json?.event === 'bulk').map(f => f.json.payload.i)
    t.same(got, Array.from({ length: N }, (_, i) => i), `slow client ${k}: every frame once, in order`)
  }
  await eventually(() => conns.every(c => c.bufferedAmount === 0), { interval: 10 })
  t.same(conns.map(c => c.bufferedAmount), Array(SLOW).fill(0), 'nothing is left queued')
  t.match(await slow[0]!.call('server_info'), { fingerprint: server.fingerprint }, 'the connections work normally afterwards')
})
