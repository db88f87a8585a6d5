// The per-address failure limiter spans connections: wrong pairing attempts over fresh
// connections are refused before the 21st, other addresses are unaffected, and the address
// pairs again after the (shortened) cool-down. Parse-error floods count too.
import t from 'tap'
import { pairingToken } from '../helpers/server.js'
import { connectFrom, startSecureServer } from './security-support.js'
import { waitFor } from '../helpers/wait.js'

const LOCKOUT_MS = 1500

t.test('wrong pairing tokens over fresh connections are refused before the 21st', async t => {
  const { server, logs } = await startSecureServer(t, { auth: { maxFailuresPerIp: 10, failureWindowMs: 60_000, lockoutMs: LOCKOUT_MS } })
  const outcomes: string[] = []
  for (let i = 0; i < 25; i++) {
    const c = await connectFrom(t, server)
    if (c.ws.readyState !== c.ws.OPEN) { outcomes.push('refused'); continue }
    const res = await Promise.race([
      c.request('authenticate', { pairing_token: `wrong-${i}`, client_name: 'attacker' }),
      c.closed.then(cl => ({ closed: cl })),
    ])
    if ('closed' in res) {
      t.same(res.closed, { code: 1013, reason: 'too many failed attempts; try again later' }, 'refusal has a close reason')
      outcomes.push('refused')
    } else {
      t.same(res.error, { code: -2, message: 'Authentication failed (1/3)' })
      outcomes.push('failed')
    }
    c.ws.terminate()
  }
  const firstRefused = outcomes.indexOf('refused')
  t.equal(outcomes.filter(o => o === 'failed').length, 10, 'exactly the configured 10 attempts were checked')
  t.ok(firstRefused >= 0 && firstRefused < 20, `refused from attempt ${firstRefused + 1} on`)
  t.ok(outcomes.slice(firstRefused).every(o => o === 'refused'), 'every later attempt refused')

  // While locked out even the right token is refused from this address...
  const locked = await connectFrom(t, server)
  t.same(await locked.closed, { code: 1013, reason: 'too many failed attempts; try again later' })
  // ...but another client address pairs.
  const other = await connectFrom(t, server, '127.0.0.2')
  const ok = await other.request('authenticate', { pairing_token: pairingToken(server), client_name: 'neighbour' })
  t.match(ok.result?.session_token, /^[A-Za-z0-9_-]{43}$/, 'another address still pairs')
  logs.secrets.add(ok.result.session_token)

  // The lockout ends by the server's clock: try again until this address is admitted (a refused
  // connection is closed at once and counts as no attempt).
  const res = await waitFor(async () => {
    const after = await connectFrom(t, server)
    const r = await Promise.race([after.request('authenticate', { pairing_token: pairingToken(server), client_name: 'owner' }), after.closed.then(() => null)])
    after.ws.terminate()
    return r
  }, { timeout: LOCKOUT_MS + 10_000, interval: 100, what: 'the lockout to end' })
  t.match(res.result?.session_token, /^[A-Za-z0-9_-]{43}$/, 'a correct pairing works after the cool-down')
  logs.secrets.add(res.result.session_token)

  t.equal(logs.text.split('\n').filter(l => l.includes('address locked out')).length, 1, 'the lockout is logged once')
  logs.check(t)
})

t.test('a parse-error flood before authenticating counts toward the limit', async t => {
  const { server, logs } = await startSecureServer(t, { auth: { maxFailuresPerIp: 4, lockoutMs: 60_000 } })
  const c = await connectFrom(t, server)
  for (let i = 0; i < 19; i++) c.sendText('{not json')
  await c.waitFor(() => c.frames.length === 19)
  t.equal(c.frames.length, 19, 'every junk frame gets its parse error')
  t.equal(c.ws.readyState, c.ws.OPEN, '19 parse errors (3 counted failures) keep the connection')
  c.sendText('{not json')
  t.same(await c.closed, { code: 1008, reason: 'too many failed attempts' }, 'the 20th (4th counted) locks the address out')
  t.equal(c.frames.length, 20, 'the 20th got its reply before the close')
  const next = await connectFrom(t, server)
  t.same(await next.closed, { code: 1013, reason: 'too many failed attempts; try again later' })
  logs.check(t)
})

t.test('parse errors after authenticating do not count', async t => {
  const { server, logs } = await startSecureServer(t, { auth: { maxFailuresPerIp: 1 } })
  const c = await connectFrom(t, server)
  const res = await c.request('authenticate', { pairing_token: pairingToken(server) })
  logs.secrets.add(res.result.session_token)
  for (let i = 0; i < 20; i++) c.sendText('[')
  await c.waitFor(() => c.frames.filter(f => f.json?.error?.code === -32700).length === 20)
  const next = await connectFrom(t, server)
  t.equal(next.ws.readyState, next.ws.OPEN, 'the address is not locked out')
  logs.check(t)
})
