// Certificate pinning: a changed certificate is refused (with both fingerprints and how to
// re-pin), an expected fingerprint or mDNS prefix is checked before the pairing token is sent.
import t from 'tap'
import { ClaudetteClient, FingerprintMismatchError, pair, TrustStore, type StateChange } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { startServer, tempHome } from '../helpers/server.js'

t.test('a server that comes back with another certificate is refused, never sent the token', async t => {
  const server = await startServer(t)
  const port = server.port
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store })
  const client = ClaudetteClient.fromTrusted(entry, { reconnect: { initialDelayMs: 20, maxDelayMs: 50 } })
  t.teardown(() => client.close())
  await client.connect()
  const closed = new Promise<StateChange>(resolve => client.on('state', (s: StateChange) => { if (s.state === 'closed') resolve(s) }))
  await server.close()
  // Same address, new home: a new key and certificate (a reinstall, or an impostor).
  const impostor = await startServer(t, { port })
  const s = await closed
  t.type(s.error, FingerprintMismatchError)
  const msg = s.error!.message
  t.match(msg, /fingerprint/)
  t.ok(msg.includes(server.fingerprint), 'names the pinned fingerprint')
  t.ok(msg.includes(impostor.fingerprint), 'names the presented fingerprint')
  t.ok(msg.includes(`\`claudette forget ${entry.name}\``), 'says how to re-pin, with the stored name')
  t.match(msg, /--accept-new-fingerprint/)
  t.equal((s.error as FingerprintMismatchError).code, 'ERR_TLS_FINGERPRINT_MISMATCH')

  // The impostor never saw an authentication attempt: nothing was paired or authenticated there.
  const probe = await TestClient.paired(t, impostor)
  const sessions = await probe.call('list_sessions')
  t.equal(sessions.length, 1, 'only our probe session exists on the new server')

  // Re-pairing the same host:port is checked against the old pin...
  await t.rejects(pair({ connectionString: impostor.connectionString, store }), {
    constructor: FingerprintMismatchError,
    message: /--accept-new-fingerprint/,
  })
  t.equal((await probe.call('list_sessions')).length, 1, 'the pairing token was not sent')
  // ...and replaced only when asked explicitly.
  const re = await pair({ connectionString: impostor.connectionString, store, acceptNewFingerprint: true })
  t.equal(re.server.fingerprint, impostor.fingerprint)
  t.equal(re.server.id, entry.id)
  t.equal(re.replaced, true)
  t.equal(re.previousFingerprint, server.fingerprint, 'reports the pin it replaced')
  t.equal(re.previousSessionRevoked, undefined, 'the old session token is never sent to a different certificate')
  t.equal((await probe.call('list_sessions')).length, 2, 'the probe\'s session and the new pairing\'s')
  t.equal(re.trust, 'first-use', 'the new certificate was not verified: trusted on first use')
})

t.test('pairing with an expected fingerprint: full value or a 16-hex mDNS prefix', async t => {
  const server = await startServer(t)
  const store = await TrustStore.open(tempHome(t))
  const wrong = server.fingerprint.startsWith('0') ? '1'.repeat(16) : '0'.repeat(16)
  await t.rejects(pair({ connectionString: server.connectionString, store, fingerprint: wrong }), {
    constructor: FingerprintMismatchError,
    message: new RegExp(`expected ${wrong}, got ${server.fingerprint}\\. The certificate does not match the fingerprint you gave`),
  })
  await t.rejects(pair({ connectionString: server.connectionString, store, fingerprint: 'abc' }), { code: 'ERR_CONFIG_FINGERPRINT' })
  t.same(store.list(), [])
  const probe = await TestClient.paired(t, server)
  t.equal((await probe.call('list_sessions')).length, 1, 'no session was created by the refused pairings')

  const byPrefix = await pair({ connectionString: server.connectionString, store, fingerprint: server.fingerprint.slice(0, 16).toUpperCase() })
  t.equal(byPrefix.trust, 'expected-fingerprint')
  t.equal(byPrefix.server.fingerprint, server.fingerprint, 'the full fingerprint is pinned')
  const colons = server.fingerprint.match(/../g)!.join(':')
  const full = await pair({ connectionString: server.connectionString, store, fingerprint: colons })
  t.equal(full.server.fingerprint, server.fingerprint)
})
