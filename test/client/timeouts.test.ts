// Nothing hangs forever (wire doc §10 item 19): a peer that accepts TCP but never speaks TLS, and
// a server that completes the WebSocket upgrade but never answers `authenticate`, both fail
// connect() within connectTimeoutMs with a clear ERR_RPC_CONNECT. A request made while the client
// waits to reconnect times out with ERR_RPC_TIMEOUT.
import { readFileSync } from 'node:fs'
import { createServer as createHttps } from 'node:https'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import { ClaudetteClient, pair, TrustStore, type StateChange } from '../../src/index.js'
import { startServer, tempHome } from '../helpers/server.js'

t.test('a silent TCP peer: the TLS handshake times out', async t => {
  const sockets = new Set<Socket>()
  const tcp = createTcpServer(s => { sockets.add(s); s.on('error', () => {}) })
  await new Promise<void>(resolve => tcp.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); tcp.close() })
  const port = (tcp.address() as { port: number }).port
  const client = new ClaudetteClient({ host: '127.0.0.1', port, sessionToken: 'x', connectTimeoutMs: 300, reconnect: false })
  const started = Date.now()
  await t.rejects(client.connect(), { code: 'ERR_RPC_CONNECT', message: `Cannot connect to 127.0.0.1:${port}: timed out during the handshake` })
  const took = Date.now() - started
  t.ok(took >= 250 && took < 3000, `gave up after ${took} ms (timeout 300 ms)`)
})

t.test('a server that never answers authenticate', async t => {
  const real = await startServer(t)
  const https = createHttps({ key: readFileSync(join(real.home, 'key.pem')), cert: readFileSync(join(real.home, 'cert.pem')) })
  const wss = new WebSocketServer({ server: https })
  const sockets = new Set<WebSocket>()
  let authRequests = 0
  wss.on('connection', ws => { sockets.add(ws); ws.on('message', () => { authRequests++ }) })
  await new Promise<void>(resolve => https.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.terminate(); wss.close(); https.close() })
  const port = (https.address() as { port: number }).port
  const client = new ClaudetteClient({ host: '127.0.0.1', port, fingerprint: real.fingerprint, sessionToken: 'x', connectTimeoutMs: 400, reconnect: false })
  const started = Date.now()
  await t.rejects(client.connect(), { code: 'ERR_RPC_CONNECT', message: `Cannot connect to 127.0.0.1:${port}: no answer to authenticate` })
  t.ok(Date.now() - started < 3000, `gave up after ${Date.now() - started} ms`)
  t.equal(authRequests, 1, 'it did send authenticate once')
  t.equal(client.state, 'closed')
})

t.test('requests while reconnecting wait, then time out', async t => {
  const server = await startServer(t)
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store })
  const client = ClaudetteClient.fromTrusted(entry, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } })
  t.teardown(() => client.close())
  await client.connect()
  const reconnecting = new Promise<void>(resolve => client.on('state', (s: StateChange) => { if (s.state === 'reconnecting') resolve() }))
  await server.close()
  await reconnecting
  await t.rejects(client.request('server_info', {}, { timeoutMs: 300 }), { code: 'ERR_RPC_TIMEOUT', message: 'server_info: no response within 300 ms' })
  t.equal(client.state, 'reconnecting', 'still trying')
})
