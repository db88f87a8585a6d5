// Single-use pairing is decided inside the pairing's transaction: of concurrent pairings with one
// token exactly one succeeds, and the token pairs nothing after.
import t from 'tap'
import { connectFrom, startSecureServer } from './security-support.js'
import { NO_LOCKOUT, ROUNDS } from './rotation-support.js'
import { pairingToken } from '../helpers/server.js'

t.test('single-use pairing: of concurrent pairings with one token exactly one succeeds, and the token is dead after', async t => {
  const { server, logs } = await startSecureServer(t, { auth: { ...NO_LOCKOUT, singleUsePairing: true } })
  for (let round = 1; round <= ROUNDS; round++) {
    const token = pairingToken(server)
    const clients = await Promise.all(Array.from({ length: 6 }, () => connectFrom(t, server)))
    const results = await Promise.all(clients.map((c, i) => c.request('authenticate', { pairing_token: token, client_name: `racer ${i}` })))
    const ok = results.filter(r => typeof r.result?.session_token === 'string')
    for (const r of ok) logs.secrets.add(r.result.session_token)
    t.equal(ok.length, 1, `round ${round}: one of 6 concurrent pairings with one single-use token succeeded`)
    const again = await connectFrom(t, server)
    t.equal((await again.request('authenticate', { pairing_token: token })).error?.code, -2, `round ${round}: the used token pairs nothing`)
    for (const c of [...clients, again]) c.ws.terminate()
    t.not(pairingToken(server), token, 'the server shows the next token')
    logs.secrets.add(pairingToken(server))
  }
  logs.check(t)
})
