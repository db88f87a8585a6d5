// The per-address failure table is bounded (10,000 addresses): a flood from many addresses
// evicts unlocked records first, so it does not lift an existing lockout.
import t from 'tap'
import { resolve } from '../../../src/index.js'
import { AUTH } from '../../../src/plugins/auth/types.js'
import { startServer } from '../../helpers/server.js'

t.test('a flood of addresses neither grows the table without bound nor lifts a lockout', async t => {
  const server = await startServer(t, { auth: { maxFailuresPerIp: 3, lockoutMs: 60_000 } })
  const auth = resolve(server.app.di, AUTH.Service)
  for (let i = 0; i < 3; i++) auth.recordFailure({ remoteAddress: '203.0.113.7' })
  t.match(auth.admit({ remoteAddress: '203.0.113.7' }), /too many failed attempts/)
  for (let i = 0; i < 12_000; i++) auth.recordFailure({ remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` })
  t.match(auth.admit({ remoteAddress: '203.0.113.7' }), /too many failed attempts/, 'still locked out')
  t.equal(auth.admit({ remoteAddress: '10.0.0.1' }), null, 'single failures do not lock out')
  // The earliest flood records were evicted: three more failures from one of them are needed.
  auth.recordFailure({ remoteAddress: '10.0.0.0' })
  auth.recordFailure({ remoteAddress: '10.0.0.0' })
  t.equal(auth.admit({ remoteAddress: '10.0.0.0' }), null, 'an evicted record starts from zero')
})
