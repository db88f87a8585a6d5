// GET /healthz on the main TLS listener: {"status":"ok","version"} without authentication; every
// path, /healthz included, still upgrades to the WebSocket; a monitor's requests never count as
// failed authentications.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { VERSION, type ClaudetteServer } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'
import { elapse, waitFor } from '../helpers/wait.js'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }
const get = (server: ClaudetteServer, path: string, agent?: Agent): Promise<Answer> => new Promise((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port: server.port, path, ca: readFileSync(join(server.home, 'cert.pem')), servername: 'localhost', agent, checkServerIdentity: () => undefined }, res => {
    let body = ''
    res.setEncoding('utf8')
    res.on('data', d => { body += d })
    res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
  })
  req.on('error', reject)
  req.end()
})

t.test('GET /healthz answers status and version, nothing more, over real TLS', async t => {
  const server = await startServer(t)
  const res = await get(server, '/healthz')
  t.equal(res.status, 200)
  t.equal(res.body, JSON.stringify({ status: 'ok', version: VERSION }))
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers.connection, 'close')
  t.equal((await get(server, '/healthz?probe=1')).body, res.body, 'a query string changes nothing')
  const other = await get(server, '/status')
  t.equal(other.status, 200)
  t.match(other.body, /connect with a WebSocket client/, 'no other route opened')
  t.notMatch(other.body, /version/)
})

t.test('/healthz still upgrades to the WebSocket endpoint', async t => {
  const server = await startServer(t)
  const c = await TestClient.connect(t, server, { path: '/healthz' })
  t.equal((await c.request('server_info')).error?.message, 'Must authenticate first', 'the RPC endpoint answers')
})

t.test('health checks on kept-alive sockets never count toward a lockout', async t => {
  // One counted failure locks the address out; the auth deadline is short.
  const server = await startServer(t, { authTimeoutMs: 200, auth: { maxFailuresPerIp: 1, lockoutMs: 60_000 } })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 3; i++) {
    const res = await get(server, '/healthz', agent)
    t.equal(res.status, 200)
  }
  // The server closed each socket after answering, so none lived to the deadline.
  await waitFor(() => Object.keys(agent.sockets).length + Object.keys(agent.freeSockets).length === 0, { what: 'the server to close the kept-alive socket' })
  await elapse(300, 'past the 200 ms auth deadline a kept-alive socket would reach')
  const c = await TestClient.paired(t, server)
  t.ok(c.sessionToken, 'pairing from the same address works')
})
