// A revoked session: the server closes the live connection with 4001 "session revoked"; the
// client stops (no reconnect loop) with ERR_AUTH_SESSION_REVOKED, and a later connect with the
// same token gets the same documented error.
import t from 'tap'
import { ClaudetteClient, pair, SessionRevokedError, TrustStore, type StateChange } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { startServer, tempHome } from '../helpers/server.js'

t.test('revoked while connected, then refused on the next connect', async t => {
  const server = await startServer(t, { name: 'srv' })
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store, clientName: 'victim' })
  const client = ClaudetteClient.fromTrusted(entry, { reconnect: { initialDelayMs: 10 } })
  t.teardown(() => client.close())
  await client.connect()
  const states: StateChange[] = []
  client.on('state', s => states.push(s))
  const closed = new Promise<StateChange>(resolve => client.on('state', (s: StateChange) => { if (s.state === 'closed') resolve(s) }))

  const admin = await TestClient.paired(t, server, 'admin')
  const victim = (await admin.call('list_sessions')).find((s: { name: string }) => s.name === 'victim')
  await admin.call('revoke_session', { session_id: victim.id })

  const s = await closed
  t.type(s.error, SessionRevokedError)
  t.equal((s.error as SessionRevokedError).code, 'ERR_AUTH_SESSION_REVOKED')
  t.match(s.error!.message, /The session for srv \(127\.0\.0\.1:\d+\) was revoked/)
  t.match(s.error!.message, /claudette pair/)
  t.same(states.map(x => x.state), ['closed'], 'no reconnect attempts after a revocation')
  await t.rejects(client.request('server_info'), { code: 'ERR_AUTH_SESSION_REVOKED' })

  const later = ClaudetteClient.fromTrusted(entry)
  t.teardown(() => later.close())
  await t.rejects(later.connect(), { constructor: SessionRevokedError, code: 'ERR_AUTH_SESSION_REVOKED' })
  t.equal(later.state, 'closed')
})
