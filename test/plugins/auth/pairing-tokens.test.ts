// The database decides which pairing token pairs. These cases pin down what happens when
// server.toml and the database disagree: an upgrade, a first start, a hand edit, and a crash
// between a rotation's database write and its server.toml write.
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../../src/plugins/store/index.js'
import { AUTH_MIGRATIONS, DeviceSessions, PairingTokens, hashToken } from '../../../src/plugins/auth/sessions.js'
import { pairingToken, recordSecret, startServer, tempHome } from '../../helpers/server.js'
import { connectFrom } from '../../e2e/security-support.js'

const pairOpts = { ttlMs: 0, singleUse: false }

t.test('an upgraded home keeps its pairing token and its age; only hashes are stored', async t => {
  const file = join(tempHome(t), 'claudette.db')
  const old = openStore(file)
  old.migrate('auth', AUTH_MIGRATIONS.slice(0, 2))
  old.db.prepare('INSERT INTO pairing_token_age (id, token_hash, first_seen_ms) VALUES (1, ?, ?)').run(hashToken('T'.repeat(43)), 1234)
  old.close()
  const store = openStore(file)
  t.teardown(() => store.close())
  const tokens = new PairingTokens(store, new DeviceSessions(store))
  t.same(tokens.current(), { hash: hashToken('T'.repeat(43)), sinceMs: 1234 })
  t.same(tokens.reconcile('T'.repeat(43)), { state: 'current', sinceMs: 1234 })
  const dump = JSON.stringify(store.db.prepare('SELECT * FROM pairing_token').all())
  t.notMatch(dump, 'TTTT', 'the raw token is not stored')
})

t.test('first start adopts; a hand edit adopts and keeps sessions; a replaced token is never adopted again', async t => {
  const store = openStore(join(tempHome(t), 'claudette.db'))
  t.teardown(() => store.close())
  const sessions = new DeviceSessions(store)
  const tokens = new PairingTokens(store, sessions)
  const a = 'a'.repeat(43)
  const b = 'b'.repeat(43)
  t.equal(tokens.reconcile(a).state, 'adopted', 'first start')
  const paired = tokens.pair(a, 'phone', null, pairOpts)
  t.ok(paired.ok)
  t.equal(tokens.reconcile(b).state, 'adopted', 'a hand edit')
  t.equal(sessions.list().length, 1, 'adopting does not revoke')
  t.notOk(tokens.pair(a, 'late', null, pairOpts).ok, 'the edited-away token pairs nothing')
  t.equal(tokens.reconcile(a).state, 'retired', 'and is never adopted again')
  const rotated = tokens.rotate({ revokeSessions: true })!
  t.equal(rotated.revoked, 1)
  t.equal(tokens.reconcile(b).state, 'retired', 'server.toml left behind by a crash after the rotation')
  t.ok(tokens.matches(rotated.token))
  t.equal(tokens.rotate({ revokeSessions: false, ifCurrent: hashToken(b) }), null, 'a rotation decided on stale knowledge does nothing')
})

t.test('expiry and single use are decided inside the pairing transaction', async t => {
  const store = openStore(join(tempHome(t), 'claudette.db'))
  t.teardown(() => store.close())
  const tokens = new PairingTokens(store, new DeviceSessions(store))
  const a = 'c'.repeat(43)
  tokens.reconcile(a)
  const first = tokens.pair(a, 'one', null, { ttlMs: 0, singleUse: true })
  t.ok(first.ok && typeof first.next === 'string')
  t.notOk(tokens.pair(a, 'two', null, { ttlMs: 0, singleUse: true }).ok, 'a used single-use token pairs nothing')
  store.db.prepare('UPDATE pairing_token SET since_ms = ?').run(Date.now() - 10_000)
  const expired = tokens.pair(first.next!, 'three', null, { ttlMs: 5000, singleUse: false })
  t.notOk(expired.ok, 'an expired token pairs nothing')
  t.type(expired.next, 'string', 'and was replaced in the same transaction')
  t.ok(tokens.matches(expired.next!))
})

t.test('crash between the database write and the server.toml write: the old token stays dead, a fresh one is shown', async t => {
  const home = tempHome(t)
  const first = await startServer(t, { home })
  const old = pairingToken(first)
  await first.close()
  // What regenerate-token does up to the crash: the database transaction, no server.toml write.
  const store = openStore(join(home, 'claudette.db'))
  new PairingTokens(store, new DeviceSessions(store)).rotate({ revokeSessions: true })
  store.close()
  const again = await startServer(t, { home })
  const shown = pairingToken(again)
  t.not(shown, old, 'the banner shows a new token')
  const c = await connectFrom(t, again)
  t.equal((await c.request('authenticate', { pairing_token: old })).error?.code, -2, 'the old token pairs nothing')
  const d = await connectFrom(t, again)
  const res = await d.request('authenticate', { pairing_token: shown, client_name: 'x' })
  recordSecret(res.result?.session_token)
  t.ok(res.result?.session_token, 'the shown token pairs')
})
