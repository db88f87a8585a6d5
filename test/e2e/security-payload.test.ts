// A frame over maxPayload closes only the connection that sent it (1009); the device's
// other connections and its session are unaffected.
import t from 'tap'
import { pairDevice, resume, startSecureServer } from './security-support.js'

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
