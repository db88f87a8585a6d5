// The SDK against a server that behaves like the reference claudette-server (wire doc §4–§7):
// no server_info, pty-output before the spawn_pty result, no attach_pty. A stand-in written
// here with `ws` on real TLS (the certificate and key of a real server home).
import { readFileSync } from 'node:fs'
import { createServer as createHttps } from 'node:https'
import { join } from 'node:path'
import t from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import { ClaudetteClient, pair, TrustStore, type PtyExit } from '../../src/index.js'
import { startServer, tempHome } from '../helpers/server.js'

t.test('reference-like server: pairing, early pty output, lost terminal after reconnect', async t => {
  const real = await startServer(t)
  const https = createHttps({ key: readFileSync(join(real.home, 'key.pem')), cert: readFileSync(join(real.home, 'cert.pem')) })
  const wss = new WebSocketServer({ server: https })
  const sockets = new Set<WebSocket>()
  const received: Array<{ method: string, params: any }> = []
  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws)
    ws.on('close', () => sockets.delete(ws))
    let authed = false
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString())
      received.push({ method: msg.method, params: msg.params })
      const reply = (result: unknown): void => ws.send(JSON.stringify({ id: msg.id, result }))
      const fail = (message: string, code = -1): void => ws.send(JSON.stringify({ error: { code, message }, id: msg.id }))
      if (!authed) {
        if (msg.method !== 'authenticate') return fail('Must authenticate first')
        if (msg.params?.pairing_token === 'tok') { authed = true; return reply({ server_name: 'ref', session_token: 's'.repeat(43) }) }
        if (msg.params?.session_token === 's'.repeat(43)) { authed = true; return reply({ server_name: 'ref' }) }
        return fail('Authentication failed (1/3)', -2)
      }
      if (msg.method === 'spawn_pty') {
        // The reference sends output before the result.
        ws.send(JSON.stringify({ event: 'pty-output', payload: { data: [...Buffer.from('$ ')], pty_id: 1 } }))
        return reply({ pty_id: 1 })
      }
      if (msg.method === 'write_pty') {
        ws.send(JSON.stringify({ event: 'pty-output', payload: { data: msg.params.data, pty_id: 1 } }))
        return reply(null)
      }
      fail(`Unknown method: ${msg.method}`)
    })
  })
  await new Promise<void>(resolve => https.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.terminate(); wss.close(); https.close() })
  const port = (https.address() as { port: number }).port

  const store = await TrustStore.open(tempHome(t))
  const { server } = await pair({ connectionString: `claudette://127.0.0.1:${port}/tok`, store })
  t.equal(server.serverName, 'ref')
  t.equal(server.fingerprint, real.fingerprint)
  t.same(received.find(r => r.method === 'authenticate')!.params.pairing_token, 'tok')

  const client = ClaudetteClient.fromTrusted(server, { reconnect: { initialDelayMs: 20 } })
  t.teardown(() => client.close())
  await client.connect()
  t.equal(client.serverInfo, undefined, 'no server_info: tolerated')
  t.equal(client.binaryTerminals, false)
  let out = ''
  client.on('pty-output', (_id: number, b: Uint8Array) => { out += Buffer.from(b).toString() })
  const id = await client.spawnPty({ cwd: '/' })
  t.equal(id, 1)
  await client.writePty(id, 'hi')
  t.equal(received.at(-1)!.method, 'write_pty', 'JSON write_pty without the fast path')
  t.same(received.at(-1)!.params, { data: [104, 105], pty_id: 1 })
  t.equal(out, '$ hi')

  const lost = new Promise<PtyExit & { lost?: boolean }>(resolve => client.once('pty-exit', resolve))
  const reopened = new Promise<void>(resolve => client.on('state', (s: { state: string }) => { if (s.state === 'open') resolve() }))
  for (const s of sockets) s.terminate()
  const e = await lost
  t.same(e, { pty_id: 1, exit_code: null, signal: null, lost: true }, 'a terminal the server cannot re-attach is reported lost')
  await reopened
  t.equal(client.state, 'open', 'and the connection itself came back')
  t.same(client.attachedPtys, [])
})
