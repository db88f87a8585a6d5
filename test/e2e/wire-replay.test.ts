// Replays of the wire doc §4–§5 exchanges that handshake.test.ts does not cover, byte for byte:
// the silent server, attempt counting (what counts, what does not, a non-authenticate third
// failure), defaults of `authenticate`, events and null results on the wire, ping/pong and the
// heartbeat, binary frames after auth, concurrency (a slow request does not hold up a fast one)
// and the default 16 MiB maxPayload.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import WebSocket from 'ws'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer } from '../helpers/server.js'

t.test('the client speaks first: the server sends nothing before a request', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  // A barrier: the reply to a parse error (which counts as no attempt) comes after anything the
  // server would have said on its own when the connection opened.
  c.sendText('{')
  const reply = await c.waitFor(f => f.json?.error?.code === -32700)
  t.same(c.frames.slice(0, c.frames.indexOf(reply)), [], 'no hello, no events before auth')
  t.equal(c.ws.readyState, c.ws.OPEN)
})

t.test('pre-auth: missing id is null, non-object JSON and non-string methods count as ""', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  const next = async (text: string): Promise<string> => {
    const from = c.frames.length
    c.sendText(text)
    return (await c.waitFor(() => true, 5000, from)).text!
  }
  t.equal(await next('{"method":"load_initial_data"}'), '{"error":{"code":-1,"message":"Must authenticate first"},"id":null}')
  t.equal(await next('[1,2]'), '{"error":{"code":-1,"message":"Must authenticate first"},"id":null}', 'an array is method ""')
  const closed = c.closed
  t.equal(await next('{"id":3,"method":["authenticate"]}'), '{"error":{"code":-1,"message":"Must authenticate first"},"id":3}', 'a non-string method is ""')
  t.equal((await closed).code, 1006, 'the third counted failure (a non-authenticate method) drops the socket without a close frame')
})

t.test('pre-auth: binary frames and parse errors do not count; missing or null params fail', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  for (let i = 0; i < 5; i++) c.sendBinary(Buffer.from([0x02, 0, 0, 0, 1, 65]))
  for (let i = 0; i < 3; i++) c.sendText('{"id":')
  await c.waitFor(() => c.frames.length === 3)
  t.ok(c.frames.every(f => f.json?.error?.code === -32700 && f.json.id === null), 'parse errors answered with id null')
  t.equal((await c.request('authenticate', undefined, 1)).error.message, 'Authentication failed (1/3)', 'binary frames and parse errors did not count')
  t.equal(c.frames.at(-1)!.text, '{"error":{"code":-2,"message":"Authentication failed (1/3)"},"id":1}')
  t.equal((await c.request('authenticate', null, 2)).error.message, 'Authentication failed (2/3)', 'null params')
  // Right token, wrong parameter name: still a failure.
  const closed = c.closed
  t.equal((await c.request('authenticate', { token: pairingToken(server) }, 3)).error.message, 'Authentication failed (3/3)')
  t.equal((await closed).code, 1006)
})

t.test('pairing without client_name stores "Unknown client"; a session token with a bad pairing token still authenticates', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  const res = await c.request('authenticate', { pairing_token: pairingToken(server) }, 1)
  const token = res.result.session_token as string
  const sessions = await c.call('list_sessions')
  t.same(sessions.map((s: { name: string }) => s.name), ['Unknown client'])

  const c2 = await TestClient.connect(t, server)
  await c2.request('authenticate', { pairing_token: 'wrong', session_token: token }, 1)
  t.equal(c2.frames.at(-1)!.text, `{"id":1,"result":{"server_name":${JSON.stringify(server.name)}}}`, 'the session token wins; no new session')
  t.equal((await c2.call('list_sessions')).length, 1)
})

t.test('envelope: null results and events are exact on the wire; binary frames after auth are ignored', async t => {
  const server = await startServer(t, {
    plugins: [async (app) => {
      app.rpc.register({ name: 'nothing', handler: () => undefined })
      app.rpc.register({ name: 'emit', handler: (_p: unknown, ctx) => { ctx.notify('custom-event', { b: 2, a: [1] }); return null } })
    }],
  })
  const c = await TestClient.paired(t, server)
  await c.request('nothing', undefined, 41)
  t.equal(c.frames.at(-1)!.text, '{"id":41,"result":null}', 'a handler returning nothing answers result null')
  const from = c.frames.length
  await c.request('emit', {}, 42)
  t.same(c.frames.slice(from).map(f => f.text), [
    '{"event":"custom-event","payload":{"b":2,"a":[1]}}',
    '{"id":42,"result":null}',
  ], 'the event has no id key and comes before the reply')

  const before = c.frames.length
  for (const type of [0x00, 0x7f, 0xff]) c.sendBinary(Buffer.from([type, 1, 2, 3]))
  c.sendBinary(Buffer.alloc(0))
  const ping = await c.request('server_info', {}, 43)
  t.ok(ping.result, 'still serving')
  t.equal(c.frames.length, before + 1, 'unknown binary frames got no reply')
})

t.test('a slow request does not hold up a fast one (responses may come out of order)', async t => {
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const server = await startServer(t, {
    plugins: [async (app) => {
      app.rpc.register({ name: 'slow', handler: async () => { await gate; return 'slow' } })
    }],
  })
  const c = await TestClient.paired(t, server)
  const slow = c.request('slow', {}, 'first')
  const fast = await c.request('server_info', {}, 'second')
  t.ok(fast.result, 'the fast request was answered while the slow one waits')
  release()
  t.same(await slow, { id: 'first', result: 'slow' })
  const order = c.frames.filter(f => f.json?.id === 'first' || f.json?.id === 'second').map(f => f.json.id)
  t.same(order, ['second', 'first'])
})

t.test('ping/pong: the server answers pings with the same data, before and after auth', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server)
  c.ws.ping(Buffer.from('before'))
  const [before] = await once(c.ws, 'pong')
  t.equal(before.toString(), 'before')
  await c.request('authenticate', { pairing_token: pairingToken(server) })
  c.ws.ping(Buffer.from('after-auth'))
  const [after] = await once(c.ws, 'pong')
  t.equal(after.toString(), 'after-auth')
  t.same(c.frames.filter(f => f.json?.error), [], 'pings are not requests: nothing counted, no error')
})

t.test('heartbeat: a peer that stops answering pings is dropped, one that answers stays', async t => {
  const server = await startServer(t, { heartbeatMs: 200 })
  const open = (autoPong: boolean): Promise<WebSocket> => new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/`, { ca: readFileSync(join(server.home, 'cert.pem')), autoPong })
    t.teardown(() => ws.terminate())
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
  const auth = async (ws: WebSocket): Promise<void> => {
    ws.send(JSON.stringify({ id: 1, method: 'authenticate', params: { pairing_token: pairingToken(server) } }))
    await once(ws, 'message')
  }
  const mute = await open(false)
  const live = await open(true)
  await auth(mute)
  await auth(live)
  let pings = 0
  mute.on('ping', () => { pings++ })
  const started = Date.now()
  const [code] = await once(mute, 'close')
  t.equal(code, 1006, 'terminated (no close handshake with a dead peer)')
  t.ok(pings >= 1 && Date.now() - started < 3000, `dropped after ${pings} unanswered ping(s)`)
  t.equal(live.readyState, live.OPEN, 'the peer that answers pings stays connected')
})

t.test('maxPayload defaults to 16 MiB: just under is served, just over closes that connection with 1009', async t => {
  const lines: string[] = []
  const logStream = new Writable({ write (chunk, _enc, cb) { lines.push(...chunk.toString().split('\n').filter(Boolean)); cb() } })
  const server = await startServer(t, { logLevel: 'debug', logStream })
  const MiB = 1024 * 1024
  const c = await TestClient.paired(t, server)
  const bystander = await TestClient.paired(t, server, 'bystander')
  const envelope = '{"id":1,"method":"server_info","params":{"pad":""}}'.length
  const under = await c.request('server_info', { pad: 'u'.repeat(16 * MiB - envelope - 16) }, 1)
  t.ok(under.result, 'a message just under 16 MiB is served')
  c.sendText(JSON.stringify({ id: 2, method: 'server_info', params: { pad: 'o'.repeat(16 * MiB) } }))
  t.equal((await c.closed).code, 1009)
  t.ok((await bystander.call('server_info')).name, 'other connections are unaffected')
  // A peer's oversized message is the peer's fault, not a server bug: debug, not error (no log flood).
  t.same(lines.filter(l => JSON.parse(l).level >= 50), [], 'nothing logged at error level')
  t.ok(lines.some(l => l.includes('websocket error; dropping the connection')), 'logged at debug')
})
