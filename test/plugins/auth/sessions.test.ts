// Device sessions in SQLite: only the SHA-256 of a token is stored, lookups record last_seen
// and the address, ids resolve by unique prefix, revocation is per device.
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../../src/plugins/store/index.js'
import { DeviceSessions } from '../../../src/plugins/auth/sessions.js'
import { hashToken } from '../../../src/plugins/auth/sessions.js'
import { tempHome } from '../../helpers/server.js'

t.test('tokens are stored hashed and verified by hash', async t => {
  const store = openStore(join(tempHome(t), 'claudette.db'))
  t.teardown(() => store.close())
  const sessions = new DeviceSessions(store)
  const { session, token } = sessions.create('phone', '10.0.0.2')
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  const rows = store.db.prepare('SELECT * FROM device_sessions').all() as Array<Record<string, unknown>>
  t.equal(rows.length, 1)
  t.equal(rows[0]!.token_hash, hashToken(token))
  t.notOk(JSON.stringify(rows).includes(token), 'the raw token is not in the database')

  t.same(sessions.verify(token, '10.0.0.3'), { id: session.id, name: 'phone' })
  t.equal(sessions.list()[0]!.last_address, '10.0.0.3', 'the last address is recorded')
  t.equal(sessions.verify(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), null), null)
  t.equal(sessions.verify('', null), null)
})

t.test('ids resolve exactly or by a unique prefix of 4+ characters; revoke is per device', async t => {
  const store = openStore(join(tempHome(t), 'claudette.db'))
  t.teardown(() => store.close())
  const sessions = new DeviceSessions(store)
  const a = sessions.create('a', null)
  const b = sessions.create('b', null)
  t.equal(sessions.resolveId(a.session.id), a.session.id)
  t.equal(sessions.resolveId(a.session.id.slice(0, 6)), a.session.id)
  t.equal(sessions.resolveId(a.session.id.slice(0, 3)), null, 'too short')
  t.equal(sessions.resolveId('zzzz'), null)
  t.equal(sessions.revoke(a.session.id), true)
  t.equal(sessions.revoke(a.session.id), false, 'idempotent')
  t.equal(sessions.verify(a.token, null), null, 'the revoked token fails')
  t.ok(sessions.verify(b.token, null), 'the other still works')
  t.same([...sessions.ids()], [b.session.id])
  t.equal(sessions.revokeAll(), 1)
  t.same(sessions.list(), [])
})

t.test('the server\'s store runs with synchronous=NORMAL (device sessions go through durably())', async t => {
  const { startServer } = await import('../../helpers/server.js')
  const { STORE } = await import('../../../src/plugins/store/types.js')
  const { resolve } = await import('../../../src/index.js')
  const server = await startServer(t)
  const store = resolve(server.app.di, STORE.Store)
  t.equal(store.synchronous, 'NORMAL')
  t.equal(store.db.pragma('synchronous', { simple: true }), 1)
})
