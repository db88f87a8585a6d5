// The private fields of ws and Node's TLS that the endpoint relies on (src/core/rpc/ws-internals.ts),
// checked over a real TLS WebSocket pair: if a dependency moves one of them, this fails.
import { once } from 'node:events'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { checkWsInternals, payloadLimitOf, rawSocketOf, setPayloadLimit, tcpSocketOf } from '../../src/core/rpc/ws-internals.js'
import { loadOrCreateTlsIdentity } from '../../src/plugins/tls/identity.js'

const BEFORE = 1024
const AFTER = 64 * 1024

t.test('the boot check passes on the installed ws and Node.js', async t => {
  t.doesNotThrow(() => checkWsInternals())
})

t.test('over a real TLS WebSocket: the raw socket, the payload limit and the TLS socket\'s TCP socket', async t => {
  const identity = await loadOrCreateTlsIdentity(t.testdir(), 'localhost')
  const https = createHttpsServer({ key: identity.keyPem, cert: identity.certPem })
  const tcpSockets: Socket[] = []
  const tlsToTcp = new Map<TLSSocket, Socket>()
  https.on('connection', (s: Socket) => { tcpSockets.push(s) })
  https.on('secureConnection', (s: TLSSocket) => { tlsToTcp.set(s, tcpSocketOf(s)) })
  const wss = new WebSocketServer({ server: https, maxPayload: BEFORE })
  https.listen(0, '127.0.0.1')
  await once(https, 'listening')
  t.teardown(async () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    https.close()
  })

  const port = (https.address() as AddressInfo).port
  const client = new WebSocket(`wss://127.0.0.1:${port}/`, { ca: identity.certPem })
  const [server, req] = await once(wss, 'connection') as [WebSocket, { socket: TLSSocket }]
  await once(client, 'open')

  t.equal(tcpSockets.length, 1, 'one TCP connection')
  t.equal(tlsToTcp.get(req.socket), tcpSockets[0], 'the TLS socket maps back to the TCP socket the server accepted')
  t.not(tcpSocketOf(req.socket), req.socket, 'a TLS socket is not its own TCP socket')

  const raw = rawSocketOf(server)
  t.equal(raw, req.socket, 'the WebSocket\'s raw socket is the TLS socket of its request')
  t.equal(typeof raw?.cork, 'function')
  t.equal(typeof raw?.writableNeedDrain, 'boolean')

  // Writing to the raw socket reaches the client as a frame (what WireFrame relies on).
  const frame = Buffer.concat([Buffer.from([0x81, 2]), Buffer.from('hi')])
  raw!.write(frame)
  const [hi, binary] = await once(client, 'message') as [Buffer, boolean]
  t.same([hi.toString(), binary], ['hi', false], 'a frame written to the raw socket arrives')

  // The payload limit: a message over it closes the connection; raised, the same size passes.
  t.equal(payloadLimitOf(server), BEFORE, 'the limit ws was given is found')
  t.ok(setPayloadLimit(server, AFTER))
  t.equal(payloadLimitOf(server), AFTER)
  const big = 'x'.repeat(BEFORE * 4)
  client.send(big)
  const [got] = await once(server, 'message') as [Buffer]
  t.equal(got.length, big.length, 'a message over the old limit is accepted after raising it')

  t.ok(setPayloadLimit(server, BEFORE))
  const refused = once(server, 'error') as Promise<[Error & { code?: string }]>
  client.send(big)
  const [[err], [code]] = await Promise.all([refused, once(client, 'close') as Promise<[number]>])
  t.equal(err.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'the server refuses it as too big')
  t.equal(code, 1009, 'lowered again, the same message closes the connection with 1009')
})
