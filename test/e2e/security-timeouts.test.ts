// Idle sockets cannot be held open: an unauthenticated WebSocket is closed after authTimeoutMs,
// a TLS connection that never upgrades likewise, and a stalled TLS handshake after
// tlsHandshakeTimeoutMs. Authenticated connections are not affected.
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import t from 'tap'
import { pairDevice, connectFrom, startSecureServer } from './security-support.js'

t.test('an idle unauthenticated WebSocket is closed after the configured timeout', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: 400 })
  const paired = await pairDevice(t, server, logs, 'keeper')
  const started = Date.now()
  const idle = await connectFrom(t, server)
  const closed = await idle.closed
  const elapsed = Date.now() - started
  t.same(closed, { code: 1008, reason: 'authentication timeout' })
  t.ok(elapsed >= 350 && elapsed < 2000, `closed after ${elapsed} ms`)
  // Its deadline (armed at its accept, before the idle one's) has passed too: the reply on the
  // same connection proves the server did not close it (a close frame would come first).
  t.ok((await paired.call('server_info')).name)
  t.equal(paired.ws.readyState, paired.ws.OPEN, 'an authenticated connection stays open past the timeout')
  logs.check(t)
})

t.test('a TLS connection that never sends an HTTP request is dropped after the same timeout', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: 400 })
  const started = Date.now()
  const sock = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false })
  await once(sock, 'secureConnect')
  sock.on('error', () => {})
  await once(sock, 'close')
  const elapsed = Date.now() - started
  t.ok(elapsed >= 350 && elapsed < 3000, `dropped after ${elapsed} ms`)
  logs.check(t)
})

t.test('a stalled TLS handshake is aborted after tlsHandshakeTimeoutMs', async t => {
  const { server, logs } = await startSecureServer(t, { tlsHandshakeTimeoutMs: 400 })
  const started = Date.now()
  const sock = net.connect({ host: '127.0.0.1', port: server.port })
  sock.on('error', () => {})
  await once(sock, 'connect')
  sock.write(Buffer.from([0x16, 0x03, 0x01])) // the first bytes of a ClientHello, then nothing
  await once(sock, 'close')
  const elapsed = Date.now() - started
  t.ok(elapsed >= 350 && elapsed < 3000, `aborted after ${elapsed} ms`)
  logs.check(t)
})

t.test('auth timeouts count toward the per-address limit', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: 200, auth: { maxFailuresPerIp: 2, lockoutMs: 60_000 } })
  for (let i = 0; i < 2; i++) {
    const idle = await connectFrom(t, server, '127.0.0.9')
    t.same(await idle.closed, { code: 1008, reason: 'authentication timeout' })
  }
  const next = await connectFrom(t, server, '127.0.0.9')
  t.same(await next.closed, { code: 1013, reason: 'too many failed attempts; try again later' }, 'two idle sockets lock the address out')
  const other = await connectFrom(t, server)
  t.equal(other.ws.readyState, other.ws.OPEN, 'other addresses are unaffected')
  logs.check(t)
})
