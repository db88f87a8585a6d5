// Revoking one of two paired devices over the wire closes only its connections, within 1 s,
// with close code 4001 "session revoked", and its token then fails.
import t from 'tap'
import { pairDevice, resume, startSecureServer } from './security-support.js'

t.test('revoke_session closes only the revoked device, and its token then fails', async t => {
  const { server, logs } = await startSecureServer(t)
  const a = await pairDevice(t, server, logs, 'phone')
  const a2 = (await resume(t, server, a.sessionToken)).client // a second connection of the same device
  const b = await pairDevice(t, server, logs, 'laptop')

  const list = await b.call('list_sessions') as Array<Record<string, unknown>>
  t.equal(list.length, 2)
  t.same(list.map(s => s.name).sort(), ['laptop', 'phone'])
  for (const s of list) {
    t.same(Object.keys(s).sort(), ['created_at', 'current', 'id', 'last_address', 'last_seen', 'name'], 'no token in the listing')
    t.equal(s.last_address, '127.0.0.1')
    t.match(s.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  }
  t.equal(list.find(s => s.current)!.id, b.sessionId)

  const started = Date.now()
  t.equal(await b.call('revoke_session', { session_id: a.sessionId }), null)
  const [c1, c2] = await Promise.all([a.closed, a2.closed])
  const elapsed = Date.now() - started
  t.same(c1, { code: 4001, reason: 'session revoked' })
  t.same(c2, { code: 4001, reason: 'session revoked' })
  t.ok(elapsed < 1000, `closed in ${elapsed} ms`)

  // The other device is untouched and its token still works.
  t.equal((await b.call('server_info')).name, server.name)
  t.equal((await b.call('list_sessions')).length, 1)
  const again = await resume(t, server, b.sessionToken)
  t.ok(again.res.result, 'the other device reconnects')

  // The revoked token fails like any wrong token.
  const { res } = await resume(t, server, a.sessionToken)
  t.same(res.error, { code: -2, message: 'Authentication failed (1/3)' })

  logs.check(t)
})

t.test('a device may revoke itself: it gets the reply, then its connection closes', async t => {
  const { server, logs } = await startSecureServer(t)
  const a = await pairDevice(t, server, logs, 'tablet')
  const res = await a.request('revoke_session', { session_id: a.sessionId.slice(0, 8) })
  t.same(res.result, null, 'a unique prefix of at least 4 characters is accepted')
  t.same(await a.closed, { code: 4001, reason: 'session revoked' })
  const { res: after } = await resume(t, server, a.sessionToken)
  t.equal(after.error.code, -2)
  logs.check(t)
})

t.test('unknown, too short and ambiguous ids answer Session not found', async t => {
  const { server, logs } = await startSecureServer(t)
  const a = await pairDevice(t, server, logs, 'one')
  for (const id of ['00000000-0000-0000-0000-000000000000', a.sessionId.slice(0, 3), 'x']) {
    const res = await a.request('revoke_session', { session_id: id })
    t.same(res.error, { code: -1, message: 'Session not found' }, id)
  }
  const bad = await a.request('revoke_session', {})
  t.equal(bad.error.code, -1)
  t.match(bad.error.message, /^Invalid parameter 'session_id'/)
  t.ok(a.ws.readyState === a.ws.OPEN, 'still connected')
  logs.check(t)
})
