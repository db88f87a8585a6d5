// A frame over maxPayload closes only the connection that sent it (1009); the device's
// other connections and its session are unaffected. Before authenticating, the limit is the
// much smaller maxPayloadBeforeAuth (64 KiB), raised per connection once it authenticates.
import t from 'tap'
import { connectFrom, pairDevice, resume, startSecureServer } from './security-support.js'

t.test('a frame over maxPayload closes only that connection', async t => {
  const maxPayload = 64 * 1024
  const { server, logs } = await startSecureServer(t, { maxPayload })
  const a = await pairDevice(t, server, logs, 'sender')
  const b = await pairDevice(t, server, logs, 'bystander')
  const a2 = (await resume(t, server, a.sessionToken)).client

  a.sendText(JSON.stringify({ id: 1, method: 'server_info', params: { pad: 'x'.repeat(maxPayload) } }))
  const closed = await a.closed
  t.equal(closed.code, 1009, 'message too big')
  t.ok((await b.call('server_info')).name, 'another device keeps working')
  t.ok((await a2.call('server_info')).name, 'the same device on another connection keeps working')

  // Just under the limit is fine, also before authenticating.
  const { client, res } = await resume(t, server, a.sessionToken)
  t.ok(res.result, 'the session is still valid')
  const near = await client.request('server_info', { pad: 'y'.repeat(maxPayload - 100) })
  t.ok(near.result, 'a frame just under the limit is served')

  // A binary frame over the limit is treated the same way.
  b.sendBinary(Buffer.alloc(maxPayload + 1, 2))
  t.equal((await b.closed).code, 1009)
  t.ok((await a2.call('server_info')).name)
  logs.check(t)
})

t.test('before authenticating, messages are limited to maxPayloadBeforeAuth (64 KiB): no 16 MiB buffers for strangers', async t => {
  const { server, logs } = await startSecureServer(t)
  const paired = await pairDevice(t, server, logs, 'paired')
  const stranger = await connectFrom(t, server)
  stranger.sendText(JSON.stringify({ id: 1, method: 'authenticate', params: { pad: 'x'.repeat(64 * 1024) } }))
  t.equal((await stranger.closed).code, 1009, 'a 64 KiB+ message before auth closes that connection')
  t.ok((await paired.call('server_info')).name, 'others are unaffected')

  // Just under the limit before auth is answered normally; after auth the full maxPayload applies.
  const c = await connectFrom(t, server)
  const near = await c.request('authenticate', { pairing_token: 'wrong', pad: 'y'.repeat(60 * 1024) })
  t.equal(near.error?.message, 'Authentication failed (1/3)')
  const ok = await c.request('authenticate', { session_token: paired.sessionToken })
  t.ok(ok.result, 'authenticates on the same connection')
  const big = await c.request('server_info', { pad: 'z'.repeat(4 * 1024 * 1024) })
  t.ok(big.result, 'a 4 MiB message after auth is served (the limit was raised for this connection)')
  const fresh = await connectFrom(t, server)
  fresh.sendText(JSON.stringify({ id: 1, method: 'server_info', params: { pad: 'w'.repeat(100 * 1024) } }))
  t.equal((await fresh.closed).code, 1009, 'other unauthenticated connections keep the small limit')
  logs.check(t)
})

t.test('maxPayloadBeforeAuth is configurable and never above maxPayload', async t => {
  const { server, logs } = await startSecureServer(t, { maxPayloadBeforeAuth: 2048 })
  const c = await connectFrom(t, server)
  c.sendText(JSON.stringify({ id: 1, method: 'authenticate', params: { pad: 'x'.repeat(4096) } }))
  t.equal((await c.closed).code, 1009)
  logs.check(t)
})
