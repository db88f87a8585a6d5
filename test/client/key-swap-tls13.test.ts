// The key-swap man in the middle again, over TLS 1.3 (what Node negotiates by default; the
// TLS 1.2 variant is key-swap.test.ts). A hand-written TLS 1.3 server sends the real server's
// certificate and a CertificateVerify signed with its own key, then a correct Finished. The
// client must abort at the CertificateVerify: its next record, decrypted with the client
// handshake key, is never its Finished (OpenSSL aborts; the decrypt_error alert may not get out
// before Node closes the socket). Control: the same server with
// the real key gets the client's Finished, so the refusal is the signature check and nothing else.
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign, constants, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { ClaudetteClient, pair, TrustStore } from '../../src/index.js'
import { startServer, tempHome, type TestContext } from '../helpers/server.js'

const u8 = (n: number): Buffer => Buffer.from([n])
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff])
const u24 = (n: number): Buffer => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff])
const handshake = (type: number, body: Buffer): Buffer => Buffer.concat([u8(type), u24(body.length), body])
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest()
const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest()

// RFC 8446 §7.1 key schedule (SHA-256; every output here is at most one hash long).
const extract = (salt: Buffer, ikm: Buffer): Buffer => hmac(salt, ikm)
const expandLabel = (secret: Buffer, label: string, context: Buffer, length: number): Buffer => {
  const full = Buffer.from(`tls13 ${label}`)
  const info = Buffer.concat([u16(length), u8(full.length), full, u8(context.length), context])
  return hmac(secret, Buffer.concat([info, u8(1)])).subarray(0, length)
}

interface Keys { key: Buffer, iv: Buffer, seq: number }
const trafficKeys = (secret: Buffer): Keys => ({ key: expandLabel(secret, 'key', Buffer.alloc(0), 16), iv: expandLabel(secret, 'iv', Buffer.alloc(0), 12), seq: 0 })
const nonce = (k: Keys): Buffer => {
  const n = Buffer.from(k.iv)
  const seq = Buffer.alloc(8)
  seq.writeBigUInt64BE(BigInt(k.seq++))
  for (let i = 0; i < 8; i++) n[4 + i]! ^= seq[i]!
  return n
}
/** A TLSCiphertext record (TLS_AES_128_GCM_SHA256) carrying `content` of type `type`. */
function seal (k: Keys, type: number, content: Buffer): Buffer {
  const inner = Buffer.concat([content, u8(type)])
  const header = Buffer.concat([u8(23), u16(0x0303), u16(inner.length + 16)])
  const c = createCipheriv('aes-128-gcm', k.key, nonce(k))
  c.setAAD(header)
  return Buffer.concat([header, c.update(inner), c.final(), c.getAuthTag()])
}
function open (k: Keys, rec: Buffer): { type: number, content: Buffer } {
  const header = rec.subarray(0, 5)
  const body = rec.subarray(5)
  const d = createDecipheriv('aes-128-gcm', k.key, nonce(k))
  d.setAAD(header)
  d.setAuthTag(body.subarray(body.length - 16))
  const inner = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()])
  let end = inner.length
  while (end > 0 && inner[end - 1] === 0) end--
  return { type: inner[end - 1]!, content: inner.subarray(0, end - 1) }
}

/** Extensions of a ClientHello body, by type. */
function helloExtensions (hello: Buffer): { sessionId: Buffer, ext: Map<number, Buffer> } {
  let p = 4 + 2 + 32
  const sessionId = hello.subarray(p + 1, p + 1 + hello[p]!)
  p += 1 + hello[p]!
  p += 2 + hello.readUInt16BE(p) // cipher suites
  p += 1 + hello[p]! // compression methods
  const end = p + 2 + hello.readUInt16BE(p)
  p += 2
  const ext = new Map<number, Buffer>()
  while (p < end) {
    const type = hello.readUInt16BE(p)
    const len = hello.readUInt16BE(p + 2)
    ext.set(type, hello.subarray(p + 4, p + 4 + len))
    p += 4 + len
  }
  return { sessionId, ext }
}

/** What the client sent after our flight: its first protected record, decrypted. */
type Reply = { kind: 'alert', description: number } | { kind: 'finished' } | { kind: 'other', detail: string }

/** A TLS 1.3 server that sends ServerHello … Finished, signing CertificateVerify with `signKeyPem`. */
async function fakeTls13Server (t: TestContext, certDer: Buffer, signKeyPem: string): Promise<{ port: number, reply: Promise<Reply> }> {
  const keyType = new X509Certificate(certDer).publicKey.asymmetricKeyType
  let settle!: (r: Reply) => void
  const reply = new Promise<Reply>(resolve => { settle = resolve })
  const server = createTcpServer((sock: Socket) => {
    let buf = Buffer.alloc(0)
    let clientKeys: Keys | null = null
    sock.on('error', () => {})
    sock.on('close', () => settle({ kind: 'other', detail: 'closed without a protected record' }))
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      for (;;) {
        if (buf.length < 5 || buf.length < 5 + buf.readUInt16BE(3)) return
        const rec = buf.subarray(0, 5 + buf.readUInt16BE(3))
        buf = buf.subarray(rec.length)
        if (rec[0] === 20) continue // middlebox-compatibility ChangeCipherSpec
        if (rec[0] === 21) { settle({ kind: 'alert', description: rec[6]! }); return } // plaintext alert
        if (rec[0] === 23 && clientKeys) {
          const m = open(clientKeys, rec)
          if (m.type === 21) settle({ kind: 'alert', description: m.content[1]! })
          else if (m.type === 22 && m.content[0] === 20) settle({ kind: 'finished' })
          else settle({ kind: 'other', detail: `content type ${m.type}` })
          return
        }
        if (rec[0] !== 22 || rec[5] !== 1) { sock.destroy(); return }
        // ClientHello → our whole flight.
        const clientHello = rec.subarray(5)
        const { sessionId, ext } = helloExtensions(clientHello)
        const shares = ext.get(0x0033)!
        let x25519: Buffer | undefined
        for (let p = 2; p < shares.length; p += 4 + shares.readUInt16BE(p + 2)) {
          if (shares.readUInt16BE(p) === 0x001d) x25519 = shares.subarray(p + 4, p + 4 + shares.readUInt16BE(p + 2))
        }
        if (!x25519) { sock.destroy(); return }
        const eph = generateKeyPairSync('x25519')
        const shared = diffieHellman({
          privateKey: eph.privateKey,
          publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: x25519.toString('base64url') }, format: 'jwk' }),
        })
        const serverHello = handshake(2, Buffer.concat([
          u16(0x0303), randomBytes(32), u8(sessionId.length), sessionId, u16(0x1301), u8(0),
          u16(6 + 40),
          u16(0x002b), u16(2), u16(0x0304), // supported_versions: TLS 1.3
          u16(0x0033), u16(36), u16(0x001d), u16(32), eph.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32),
        ]))
        const zero = Buffer.alloc(32)
        const early = extract(zero, zero)
        const hsSecret = extract(expandLabel(early, 'derived', sha256(Buffer.alloc(0)), 32), shared)
        let transcript = Buffer.concat([clientHello, serverHello])
        const sHs = expandLabel(hsSecret, 's hs traffic', sha256(transcript), 32)
        const cHs = expandLabel(hsSecret, 'c hs traffic', sha256(transcript), 32)
        const serverKeys = trafficKeys(sHs)
        clientKeys = trafficKeys(cHs)

        const ee = handshake(8, u16(0))
        const certificate = handshake(11, Buffer.concat([u8(0), u24(certDer.length + 5), u24(certDer.length), certDer, u16(0)]))
        transcript = Buffer.concat([transcript, ee, certificate])
        const signed = Buffer.concat([Buffer.alloc(64, 0x20), Buffer.from('TLS 1.3, server CertificateVerify'), u8(0), sha256(transcript)])
        const key = createPrivateKey(signKeyPem)
        const [scheme, sig] = keyType === 'rsa'
          ? [0x0804, sign('sha256', signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })] // rsa_pss_rsae_sha256
          : [0x0403, sign('sha256', signed, key)] // ecdsa_secp256r1_sha256
        const certVerify = handshake(15, Buffer.concat([u16(scheme), u16(sig.length), sig]))
        transcript = Buffer.concat([transcript, certVerify])
        const finished = handshake(20, hmac(expandLabel(sHs, 'finished', Buffer.alloc(0), 32), sha256(transcript)))
        sock.write(Buffer.concat([
          u8(22), u16(0x0303), u16(serverHello.length), serverHello,
          seal(serverKeys, 22, ee), seal(serverKeys, 22, certificate), seal(serverKeys, 22, certVerify), seal(serverKeys, 22, finished),
        ]))
      }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { port: (server.address() as { port: number }).port, reply }
}

t.test('TLS 1.3: the real certificate without its private key fails at CertificateVerify', async t => {
  const server = await startServer(t)
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store })
  const certDer = new X509Certificate(readFileSync(join(server.home, 'cert.pem'))).raw
  const type = new X509Certificate(certDer).publicKey.asymmetricKeyType
  const attacker = (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' }))
    .privateKey.export({ type: 'pkcs8', format: 'pem' }) as string

  const mitm = await fakeTls13Server(t, certDer, attacker)
  const client = ClaudetteClient.fromTrusted({ ...entry, port: mitm.port }, { reconnect: false, connectTimeoutMs: 3000 })
  t.teardown(() => client.close())
  const err = await client.connect().then(() => null, (e: Error) => e)
  t.ok(err, 'connect failed')
  t.equal((err as { code?: string }).code, 'ERR_RPC_CONNECT')
  t.match(err!.message, /TLS handshake failed/)
  // RSA: the PSS check fails (`RSA_verify_PKCS1_PSS_mgf1`), or, when the forged signature read as a
  // number is larger than the real key's modulus (about half the time), `data too large for
  // modulus`; ECDSA: `bad signature`.
  t.match(String((err as { cause?: Error }).cause?.message), /RSA_verify_PKCS1_PSS_mgf1|data too large for modulus|bad signature/i, 'OpenSSL rejected the CertificateVerify signature')
  const reply = await mitm.reply
  t.not(reply.kind, 'finished', 'the client never sent its Finished')
  t.ok(reply.kind === 'alert' ? reply.description === 51 : reply.kind === 'other' && /closed/.test(reply.detail),
    `it sent a decrypt_error alert or just closed (${JSON.stringify(reply)})`)

  // Control: the same server with the real key is accepted up to the client's Finished.
  const honest = await fakeTls13Server(t, certDer, readFileSync(join(server.home, 'key.pem'), 'utf8'))
  const control = ClaudetteClient.fromTrusted({ ...entry, port: honest.port }, { reconnect: false, connectTimeoutMs: 1000 })
  t.teardown(() => control.close())
  const controlErr = control.connect().then(() => null, (e: Error) => e)
  t.same(await honest.reply, { kind: 'finished' }, 'with the real key the client completes its side of the handshake')
  t.ok(await controlErr, 'and then fails only because the fake server cannot go on')
})
