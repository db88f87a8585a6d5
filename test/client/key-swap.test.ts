// An active man-in-the-middle that replays the server's real certificate (so the pinned
// fingerprint matches) but does not have its private key must fail the TLS handshake. The
// attacker here is a hand-written TLS 1.2 server (ECDHE-RSA) that sends the real certificate and
// signs its ServerKeyExchange with its own key. Node/OpenSSL verifies that signature even with
// rejectUnauthorized:false, which the Claudette reference client does not (wire doc §10.1).
// Control: the same fake server signing with the real key gets past that point (the client
// answers with its key exchange), so the refusal is the signature check and nothing else.
import { createSign, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { ClaudetteClient, pair, TrustStore } from '../../src/index.js'
import { startServer, tempHome, type TestContext } from '../helpers/server.js'

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff])
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff])
const handshake = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type]), u24(body.length), body])
const record = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type, 3, 3]), u16(body.length), body])

interface FakeServer { server: Server, port: number, sawClientHello: boolean, answer: Promise<{ recordType: number, bytes: Buffer }>, appData: Buffer[] }

/** Cipher suite and signature scheme matching the certificate's key type. */
function suiteFor (certDer: Buffer): { suite: number, scheme: number, keyType: 'rsa' | 'ec' } {
  const type = new X509Certificate(certDer).publicKey.asymmetricKeyType
  if (type === 'rsa') return { suite: 0xc02f, scheme: 0x0401, keyType: 'rsa' } // ECDHE-RSA-AES128-GCM-SHA256, rsa_pkcs1_sha256
  if (type === 'ec') return { suite: 0xc02b, scheme: 0x0403, keyType: 'ec' } // ECDHE-ECDSA-AES128-GCM-SHA256, ecdsa_secp256r1_sha256
  throw new Error(`the fake TLS server has no cipher suite for a ${String(type)} certificate`)
}

/** An attacker key of the same type as the certificate's. */
function attackerKeyFor (certDer: Buffer): string {
  const { keyType } = suiteFor(certDer)
  const pair = keyType === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
}

/** A TLS 1.2 server that gets as far as ServerHelloDone, signing with `signKeyPem`. */
async function fakeTlsServer (t: TestContext, certDer: Buffer, signKeyPem: string): Promise<FakeServer> {
  const { suite, scheme } = suiteFor(certDer)
  let resolveAnswer!: (v: { recordType: number, bytes: Buffer }) => void
  const state: FakeServer = { server: null as never, port: 0, sawClientHello: false, answer: new Promise(resolve => { resolveAnswer = resolve }), appData: [] }
  const server = createTcpServer((sock: Socket) => {
    let buf = Buffer.alloc(0)
    let phase: 'hello' | 'answer' = 'hello'
    sock.on('error', () => {})
    sock.on('close', () => resolveAnswer({ recordType: buf[0] ?? -1, bytes: buf }))
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (phase === 'answer') {
        if (buf.length >= 5) { resolveAnswer({ recordType: buf[0]!, bytes: buf }); phase = 'done' as never }
        state.appData.push(chunk)
        return
      }
      if (buf.length < 5) return
      const len = buf.readUInt16BE(3)
      if (buf.length < 5 + len) return
      const hello = buf.subarray(5, 5 + len)
      buf = buf.subarray(5 + len)
      if (hello[0] !== 1) { sock.destroy(); return }
      state.sawClientHello = true
      const clientRandom = hello.subarray(6, 38)
      const serverRandom = randomBytes(32)
      const serverHello = handshake(2, Buffer.concat([
        Buffer.from([3, 3]), serverRandom, Buffer.from([0]), u16(suite), Buffer.from([0]),
        // extensions: renegotiation_info (empty), required by OpenSSL 3 clients
        u16(5), u16(0xff01), u16(1), Buffer.from([0]),
      ]))
      const certificate = handshake(11, Buffer.concat([u24(certDer.length + 3), u24(certDer.length), certDer]))
      const ecdh = generateKeyPairSync('x25519')
      const pub = ecdh.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32)
      const params = Buffer.concat([Buffer.from([3]), u16(0x001d), Buffer.from([32]), pub])
      const sig = createSign('sha256').update(Buffer.concat([clientRandom, serverRandom, params])).sign(signKeyPem)
      const ske = handshake(12, Buffer.concat([params, u16(scheme), u16(sig.length), sig]))
      const done = handshake(14, Buffer.alloc(0))
      sock.write(record(22, Buffer.concat([serverHello, certificate, ske, done])))
      phase = 'answer'
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  state.server = server
  state.port = (server.address() as { port: number }).port
  return state
}

t.test('the real certificate without its private key fails the TLS handshake', async t => {
  const server = await startServer(t)
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store })
  const certDer = new X509Certificate(readFileSync(join(server.home, 'cert.pem'))).raw
  const attackerKey = attackerKeyFor(certDer)

  const mitm = await fakeTlsServer(t, certDer, attackerKey)
  const client = ClaudetteClient.fromTrusted({ ...entry, port: mitm.port }, { reconnect: false })
  t.teardown(() => client.close())
  const err = await client.connect().then(() => null, (e: Error) => e)
  t.ok(mitm.sawClientHello, 'the client reached the attacker')
  t.ok(err, 'connect failed')
  t.equal((err as { code?: string }).code, 'ERR_RPC_CONNECT')
  t.match(err!.message, /TLS handshake failed/)
  const cause = String((err as { cause?: Error }).cause?.message)
  // RSA: the padding check fails, or, when the forged signature read as a number is larger than
  // the real key's modulus (about half the runs), `data too large for modulus`; ECDSA: `bad signature`.
  t.match(cause, /RSA_padding_check_PKCS1_type_1|data too large for modulus|bad signature/i, 'OpenSSL rejected the ServerKeyExchange signature')
  const answer = await mitm.answer
  t.not(answer.recordType, 22, 'the client sent no key exchange: it stopped at the signature (alert or close)')
  t.ok(answer.recordType === -1 || answer.recordType === 21, `nothing but an alert reached the attacker (record type ${answer.recordType})`)

  // Control: the same fake server with the real key gets the client's key exchange instead.
  const honest = await fakeTlsServer(t, certDer, readFileSync(join(server.home, 'key.pem'), 'utf8'))
  const control = ClaudetteClient.fromTrusted({ ...entry, port: honest.port }, { reconnect: false, connectTimeoutMs: 500 })
  t.teardown(() => control.close())
  const controlErr = control.connect().then(() => null, (e: Error) => e)
  const controlAnswer = await honest.answer
  t.equal(controlAnswer.recordType, 22, 'with the real key the client continues the handshake (ClientKeyExchange)')
  t.equal(controlAnswer.bytes[5], 16, 'handshake type client_key_exchange')
  t.ok(await controlErr, 'and then fails only because the fake server cannot finish')
})
