// Pairing by connection string pins the certificate (TOFU) and stores the session; a client
// built from the store then authenticates with the session token and calls methods.
import { stat } from 'node:fs/promises'
import t from 'tap'
import { ClaudetteClient, pair, RemoteError, TrustStore, PairingRefusedError } from '../../src/index.js'
import { startServer, tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

t.test('pair (trust on first use), store, then call with the session token', async t => {
  const server = await startServer(t, { name: 'Work Box' })
  const home = tempHome(t)
  const store = await TrustStore.open(home)
  const res = await pair({ connectionString: server.connectionString, store, clientName: 'laptop' })
  t.equal(res.trust, 'first-use')
  t.equal(res.replaced, false)
  t.equal(res.server.fingerprint, server.fingerprint, 'pinned the fingerprint seen in the handshake')
  t.equal(res.server.name, 'Work Box')
  t.equal(res.server.host, '127.0.0.1')
  t.equal(res.server.port, server.port)
  t.match(res.server.sessionToken, /^[A-Za-z0-9_-]{43}$/)

  t.equal((await stat(home)).mode & 0o777, 0o700, 'client home is 0700')
  t.equal((await stat(store.file)).mode & 0o777, 0o600, 'trust store is 0600')

  const again = await TrustStore.open(home)
  const entry = again.get('Work Box')
  t.equal(entry.id, res.server.id)
  const client = ClaudetteClient.fromTrusted(entry, {}, again)
  t.teardown(() => client.close())
  const states: string[] = []
  client.on('state', s => states.push(s.state))
  await client.connect()
  t.same(states, ['connecting', 'open'])
  const info = await client.request('server_info')
  t.equal(info.name, 'Work Box')
  t.equal(info.fingerprint, server.fingerprint)
  const sessions = await client.request('list_sessions')
  t.equal(sessions.length, 1)
  t.equal(sessions[0]!.name, 'laptop')
  t.equal(sessions[0]!.current, true)

  await t.rejects(client.request('no_such_method', {}), { constructor: RemoteError, message: 'Unknown method: no_such_method', rpcCode: -1 })
  await t.rejects(client.request('revoke_session', { session_id: 12 } as never), { code: 'ERR_RPC_REMOTE', message: /session_id/ })
  t.equal(client.state, 'open', 'server errors do not drop the connection')

  // Re-pairing the same host:port replaces the entry (same id) and is checked against the pin.
  const re = await pair({ connectionString: server.connectionString, store: again })
  t.equal(re.trust, 'existing-pin')
  t.equal(re.replaced, true)
  t.equal(re.server.id, entry.id)
  t.equal(again.list().length, 1)
  // The replaced session is revoked on the server, not left behind unused.
  t.equal(re.previousSessionRevoked, true)
  const after = ClaudetteClient.fromTrusted(again.get(entry.id))
  t.teardown(() => after.close())
  await after.connect()
  const left = await after.request('list_sessions')
  t.equal(left.length, 1, 'one session on the server: the new one')
  t.equal(left[0]!.current, true)
})

t.test('a wrong pairing token is refused with a clear error and nothing is stored', async t => {
  const server = await startServer(t)
  const store = await TrustStore.open(tempHome(t))
  const cs = server.connectionString.replace(/\/[^/]+$/, '/not-the-token')
  await t.rejects(pair({ connectionString: cs, store }), { constructor: PairingRefusedError, message: /refused the pairing token \(Authentication failed \(1\/3\)\)/ })
  t.same(store.list(), [])
})

t.test('requests time out with ERR_RPC_TIMEOUT and the connection stays usable', async t => {
  // Each call of `slow` answers when the test releases it.
  const release: Array<() => void> = []
  const server = await startServer(t, {
    plugins: [async (app: any) => {
      app.rpc.register({ name: 'slow', params: { type: 'object' }, handler: () => new Promise(resolve => release.push(() => resolve('late'))) })
    }],
  })
  const store = await TrustStore.open(tempHome(t))
  const { server: s } = await pair({ connectionString: server.connectionString, store })
  const client = ClaudetteClient.fromTrusted(s)
  t.teardown(() => client.close())
  await client.connect()
  await t.rejects(client.request('slow', {}, { timeoutMs: 50 }), { code: 'ERR_RPC_TIMEOUT', message: 'slow: no response within 50 ms' })
  const second = client.request('slow', {}, { timeoutMs: 5000 })
  await waitFor(() => release.length === 2, { what: 'both calls to reach the handler' })
  for (const r of release) r() // the reply to the timed-out call comes first and is dropped
  t.equal(await second, 'late')
  client.close()
  await t.rejects(client.request('server_info'), { code: 'ERR_RPC_CONNECTION_CLOSED' })
})

t.test('pairing the same server again on a new port replaces its entry and revokes the old session', async t => {
  const serverHome = tempHome(t)
  const first = await startServer(t, { home: serverHome, name: 'Moving Box' })
  const store = await TrustStore.open(tempHome(t))
  const before = await pair({ connectionString: first.connectionString, store })
  await first.close()
  // Restarted with `--port 0`: same home, so the same certificate and database, another port.
  const second = await startServer(t, { home: serverHome, name: 'Moving Box' })
  t.not(second.port, first.port)
  t.equal(second.fingerprint, first.fingerprint)
  const after = await pair({ connectionString: second.connectionString, store })
  t.equal(after.replaced, true, 'the entry of the old port is replaced')
  t.equal(after.server.id, before.server.id, 'and keeps its id')
  t.equal(after.server.name, 'Moving Box', 'and its name (no "Moving Box-2")')
  t.equal(after.server.port, second.port)
  t.equal(after.previousFingerprint, undefined)
  t.same(store.list().map(s => s.port), [second.port], 'one entry, at the new port')
  t.equal(after.previousSessionRevoked, true, 'the old entry\'s session is revoked, not left behind unused')
  const client = ClaudetteClient.fromTrusted(store.get(after.server.id))
  t.teardown(() => client.close())
  await client.connect()
  t.equal((await client.request('list_sessions')).length, 1, 'one session on the server: the new one')
})
