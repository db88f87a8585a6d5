// Replays of the pre-auth and envelope exchanges of the wire doc §4–§5, byte for byte.
import t from 'tap'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer } from '../helpers/server.js'

t.test('pairing returns a 43-char session token; reconnect with it returns only server_name', async t => {
  const server = await startServer(t, { name: 'Work Laptop' })
  const c = await TestClient.connect(t, server)
  const res = await c.request('authenticate', { client_name: 'laptop', pairing_token: pairingToken(server) }, 1)
  t.same(Object.keys(res), ['id', 'result'])
  t.equal(res.id, 1)
  t.equal(res.result.server_name, 'Work Laptop')
  t.match(res.result.session_token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(c.frames.at(-1)!.text, `{"id":1,"result":{"server_name":"Work Laptop","session_token":"${res.result.session_token}"}}`)

  const c2 = await TestClient.connect(t, server)
  await c2.request('authenticate', { session_token: res.result.session_token }, 1)
  t.equal(c2.frames.at(-1)!.text, '{"id":1,"result":{"server_name":"Work Laptop"}}')
})

t.test('a bad session token falls through to the pairing token in the same request', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  const res = await c.request('authenticate', { session_token: 'nope', pairing_token: pairingToken(server) })
  t.match(res.result.session_token, /^[A-Za-z0-9_-]{43}$/)
})

t.test('pre-auth errors: exact texts, codes, counting and the drop after the third', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  c.sendText('not json')
  const parse = await c.waitFor(f => f.json?.error?.code === -32700)
  t.match(parse.text, /^\{"error":\{"code":-32700,"message":"Parse error: .+"\},"id":null\}$/)

  await c.request('load_initial_data', {}, 7)
  t.equal(c.frames.at(-1)!.text, '{"error":{"code":-1,"message":"Must authenticate first"},"id":7}')
  await c.request('authenticate', { pairing_token: 'wrong' }, 'str-id')
  t.equal(c.frames.at(-1)!.text, '{"error":{"code":-2,"message":"Authentication failed (2/3)"},"id":"str-id"}')
  // parse errors do not count
  c.sendText('{')
  await c.waitFor(f => f.json?.error?.code === -32700, 5000, c.frames.length)
  const closed = c.closed
  await c.request('authenticate', { pairing_token: 42 }, null)
  t.equal(c.frames.at(-1)!.text, '{"error":{"code":-2,"message":"Authentication failed (3/3)"},"id":null}')
  const { code } = await closed
  t.equal(code, 1006, 'socket dropped without a close frame')
})

t.test('id is echoed whatever its JSON type; a missing id is null', async t => {
  const server = await startServer(t)
  const c = await TestClient.paired(t, server)
  for (const id of [0, 18446744073709, 'abc', { nested: [1, 2] }, [1], true, 1.5]) {
    const res = await c.request('server_info', {}, id)
    t.same(res.id, id)
  }
  c.sendText('{"method":"server_info"}')
  const f = await c.waitFor(fr => fr.json?.id === null && fr.json?.result !== undefined)
  t.ok(f.text!.startsWith('{"id":null,"result":'))
})

t.test('envelope after auth: unknown method, non-object frames, authenticate again', async t => {
  const server = await startServer(t)
  const c = await TestClient.paired(t, server)
  await c.request('no_such_method', {}, 5)
  t.equal(c.frames.at(-1)!.text, '{"error":{"code":-1,"message":"Unknown method: no_such_method"},"id":5}')
  await c.request('authenticate', { pairing_token: pairingToken(server) }, 6)
  t.equal(c.frames.at(-1)!.text, '{"error":{"code":-1,"message":"Unknown method: authenticate"},"id":6}')
  for (const v of ['[]', '42', '"x"', 'null']) {
    const from = c.frames.length
    c.sendText(v)
    const f = await c.waitFor(() => true, 5000, from)
    t.equal(f.text, '{"error":{"code":-1,"message":"Unknown method: "},"id":null}', `frame ${v}`)
  }
  c.sendText('{bad')
  const pe = await c.waitFor(f => f.json?.error?.code === -32700)
  t.equal(pe.json.id, null)
})

t.test('server_info names, version, fingerprint and capabilities', async t => {
  const server = await startServer(t, { name: 'box' })
  const c = await TestClient.paired(t, server)
  const info = await c.call('server_info')
  t.equal(info.name, 'box')
  t.equal(info.fingerprint, server.fingerprint)
  t.match(info.fingerprint, /^[0-9a-f]{64}$/)
  t.equal(info.version, server.version)
  t.ok(Array.isArray(info.capabilities))
})

t.test('concurrent requests each get exactly one response; binary frames before auth are ignored', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  c.sendBinary(Buffer.from([1, 2, 3]))
  await c.request('authenticate', { pairing_token: pairingToken(server) })
  const ids = Array.from({ length: 50 }, (_, i) => 100 + i)
  const results = await Promise.all(ids.map(id => c.request('server_info', {}, id)))
  t.same(results.map(r => r.id), ids)
  t.equal(c.frames.filter(f => f.json?.id >= 100).length, 50)
})

t.test('a wrong parameter type is a validation error naming it, and the server keeps serving', async t => {
  const server = await startServer(t)
  const c = await TestClient.paired(t, server)
  const res = await c.request('revoke_session', { session_id: 12 })
  t.equal(res.error.code, -1)
  t.match(res.error.message, /session_id/)
  t.ok((await c.call('server_info')).name)
})
