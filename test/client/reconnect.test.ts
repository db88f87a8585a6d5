// A paired client survives a server restart on the same home and port: it notices the drop,
// shows `reconnecting` with growing delays, re-authenticates with its session token by itself.
import t from 'tap'
import { backoffDelay, ClaudetteClient, pair, TrustStore, type StateChange } from '../../src/index.js'
import { startServer, tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

t.test('restart the server on the same home+port: the client reconnects by itself', async t => {
  const home = tempHome(t)
  const server = await startServer(t, { home })
  const port = server.port
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store })
  const client = ClaudetteClient.fromTrusted(entry, { reconnect: { initialDelayMs: 50, maxDelayMs: 400 } }, store)
  t.teardown(() => client.close())
  const states: StateChange[] = []
  client.on('state', s => states.push(s))
  await client.connect()
  const before = await client.request('list_sessions')

  // In-flight requests fail with "Connection closed"; later ones wait for the new connection.
  await server.close()
  const retries = (): StateChange[] => states.filter(s => s.state === 'reconnecting')
  await waitFor(() => retries().length >= 2 && /connection refused/.test(retries().at(-1)!.error?.message ?? ''), { what: 'attempts refused while the server is down' })
  t.equal(client.state, 'reconnecting')
  const attempts = retries()
  t.ok(attempts.length >= 2, `several attempts while the server is down (${attempts.length})`)
  t.equal(attempts[0]!.attempt, 1)
  t.match(attempts[0]!.error!.message, /connection lost \(code 1001, server shutting down\)/)
  t.match(attempts.at(-1)!.error!.message, /connection refused/)
  t.ok(attempts.every(a => a.delayMs! <= 400), 'delays are capped')

  const pending = client.request('list_sessions', {}, { timeoutMs: 10_000 })
  const opened = new Promise<void>(resolve => client.on('state', (s: StateChange) => { if (s.state === 'open') resolve() }))
  const server2 = await startServer(t, { home, port })
  await opened
  t.equal(client.state, 'open')
  const after = await pending
  t.same(after.map(s => s.id), before.map(s => s.id), 'same device session: re-authenticated with the stored token')
  t.equal((await client.request('server_info')).fingerprint, server2.fingerprint)
  t.ok((await TrustStore.open(store.home)).get(entry.id).lastConnectedAt, 'last connection time recorded')
})

t.test('backoff grows exponentially, is capped, and jitters downwards', async t => {
  const o = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5, maxAttempts: Infinity }
  t.same([1, 2, 3, 4, 5, 6].map(a => backoffDelay(a, o, () => 0)), [100, 200, 400, 800, 1000, 1000])
  t.same([1, 5].map(a => backoffDelay(a, o, () => 1)), [50, 500])
})

t.test('connect() to a server that is not there fails at once with a clear error', async t => {
  const server = await startServer(t)
  const port = server.port
  await server.close()
  const client = new ClaudetteClient({ host: '127.0.0.1', port, sessionToken: 'x' })
  await t.rejects(client.connect(), { code: 'ERR_RPC_CONNECT', message: `Cannot connect to 127.0.0.1:${port}: connection refused (is claudette-server running?)` })
  t.equal(client.state, 'closed')
})
