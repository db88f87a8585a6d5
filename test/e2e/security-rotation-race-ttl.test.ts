// The pairing TTL is decided inside the pairing's transaction: a client pairing in a tight loop
// gets no session from a pairing sent after the token expired, whatever the timing.
import t from 'tap'
import { startSecureServer } from './security-support.js'
import { NO_LOCKOUT, pairInLoop, ROUNDS } from './rotation-support.js'
import { waitFor } from '../helpers/wait.js'
import { pairingToken } from '../helpers/server.js'

// Twenty rounds of a pairing loop that spans a whole TTL each outlast the suite's per-file timeout
// on a loaded machine; the file bounds itself instead.
t.setTimeout(400_000)

t.test('pairing TTL: no pairing sent after the token expired is accepted, whatever the timing', async t => {
  const ttlMs = 500
  const { server, logs } = await startSecureServer(t, { auth: { ...NO_LOCKOUT, pairingTtlMs: ttlMs, reloadIntervalMs: 50 } })
  let late = 0
  for (let round = 1; round <= ROUNDS; round++) {
    // The moment we see a token is no earlier than the moment it became current, so a pairing
    // sent after seenAt + ttlMs was certainly sent after the token expired.
    const previous = pairingToken(server)
    await waitFor(() => pairingToken(server) !== previous, { what: 'the next token' })
    const token = pairingToken(server)
    const seenAt = Date.now()
    logs.secrets.add(token)
    const loop = pairInLoop(t, server, logs, token, false)
    // Pair on until some attempts were sent after the token expired.
    await waitFor(() => loop.sentAfter(seenAt + ttlMs) >= 4, { what: 'pairings sent after expiry' })
    await loop.stop()
    const after = loop.accepted.filter(p => p.sentAt > seenAt + ttlMs)
    late += after.length
    t.equal(after.length, 0, `round ${round}: no pairing sent after expiry was accepted (${loop.accepted.length} accepted before, ${loop.attempts} attempts)`)
  }
  t.equal(late, 0)
  logs.check(t)
})
