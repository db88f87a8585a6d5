// Pairing-token rotation is atomic: a client pairing in a tight loop while the token rotates
// (`regenerate-token` run as its own process, single-use pairing, the pairing TTL) keeps no
// session from the old token, and the old token pairs nothing once the rotation has returned.
// (`npm test` builds dist/ first; run `npm run build` before running this file alone.)
import t from 'tap'
import { connectFrom, processTarget, runCli, sleep, spawnServer, startSecureServer } from './security-support.js'
import type { ClaudetteServer } from '../../src/index.js'
import { pairingToken, recordSecret, tempHome, type TestContext } from '../helpers/server.js'

const ROUNDS = Number(process.env.ROTATION_ROUNDS ?? 20)
/** Failed pairings are expected here by the thousand: the per-address lockout must not end the loop. */
const NO_LOCKOUT = { maxFailuresPerIp: 1_000_000 }

interface Pairing { sentAt: number, sessionToken: string, closed: Promise<{ code: number, reason: string }>, close (): void }

/** Where the loop's session tokens go besides the suite's list of secrets (a server's log capture). */
interface Secrets { secrets: { add (s: string): unknown } }

/**
 * Pairs with `token` over fresh connections, one after another, until `stop()` (bounded by
 * `maxMs`). Accepted pairings keep their connection open (a revocation must close it).
 */
function pairInLoop (t: TestContext, server: ClaudetteServer, logs: Secrets, token: string, keepOpen: boolean, maxMs = 15_000) {
  const accepted: Pairing[] = []
  let attempts = 0
  let stopped = false
  const until = Date.now() + maxMs
  // Two pairings in flight at any time, so some land between a rotation's commit and the moment
  // a server that trusted its own copy of the token would notice the change.
  const worker = async (): Promise<void> => {
    while (!stopped && Date.now() < until) {
      const c = await connectFrom(t, server)
      const sentAt = Date.now()
      const res = await Promise.race([c.request('authenticate', { pairing_token: token, client_name: 'looper' }), c.closed.then(() => ({}))])
      attempts++
      if (typeof res.result?.session_token === 'string') {
        logs.secrets.add(res.result.session_token)
        recordSecret(res.result.session_token)
        accepted.push({ sentAt, sessionToken: res.result.session_token, closed: c.closed, close: () => c.ws.terminate() })
      }
      if (!keepOpen || res.result === undefined) c.ws.terminate()
    }
  }
  const done = Promise.all([worker(), worker()])
  return { accepted, get attempts () { return attempts }, stop: async () => { stopped = true; await done } }
}

async function waitFor (what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

async function sessionAuthenticates (t: TestContext, server: ClaudetteServer, sessionToken: string): Promise<boolean> {
  const c = await connectFrom(t, server)
  const res = await c.request('authenticate', { session_token: sessionToken })
  c.ws.terminate()
  return res.result !== undefined
}

t.test('regenerate-token (a separate process) while a client pairs in a loop: nothing of the old token survives', async t => {
  // The server runs as its own process too, as in production: its event loop (and its SQLite
  // waits for the CLI's write lock) are not the test client's.
  const home = tempHome(t)
  const proc = await spawnServer(t, home, ['--max-failures-per-ip', '1000000', '--max-connections', '5000', '--max-connections-per-ip', '5000'])
  const server = processTarget(home, proc)
  const logs: Secrets = { secrets: new Set<string>() }
  let token = proc.connectionString.split('/').pop()!
  let survivors = 0
  let lateAccepted = 0
  let total = 0
  for (let round = 1; round <= ROUNDS; round++) {
    const loop = pairInLoop(t, server, logs, token, true)
    await waitFor('a first pairing', () => loop.accepted.length > 0)
    const cli = await runCli(['--home', home, 'regenerate-token'])
    const returnedAt = Date.now()
    t.equal(cli.code, 0, cli.stderr)
    // Keep pairing with the old token for a while after the command returned (longer than the
    // running server's poll interval of server.toml).
    await sleep(400)
    await loop.stop()
    total += loop.accepted.length

    const late = loop.accepted.filter(p => p.sentAt > returnedAt)
    lateAccepted += late.length
    t.equal(late.length, 0, `round ${round}: no pairing with the old token sent after the command returned was accepted (${loop.attempts} attempts)`)
    // sessions list (below) covers every one of them; `authenticate` is tried with the last ones
    // (the pairings closest to the rotation, the ones a race would keep) and the first.
    const probe = [...new Set([loop.accepted[0]!, ...loop.accepted.slice(-8)])]
    const alive = []
    for (const p of probe) if (await sessionAuthenticates(t, server, p.sessionToken)) alive.push(p)
    survivors += alive.length
    t.equal(alive.length, 0, `round ${round}: none of the last ${probe.length} of ${loop.accepted.length} sessions paired with the old token authenticates`)
    const listed = await runCli(['--home', home, 'sessions', 'list', '--json'])
    const rows = JSON.parse(listed.stdout) as unknown[]
    survivors += rows.length
    t.same(rows.length, 0, `round ${round}: sessions list is empty`)
    // Live connections of the revoked sessions are closed (by the existing revocation watch).
    // Bounded: a connection of a session that survived would never close.
    const closes = await Promise.race([Promise.all(loop.accepted.map(p => p.closed)), sleep(10_000).then(() => null)])
    t.ok(closes?.every(c => c.code === 4001), `round ${round}: every live connection of an old session was closed as revoked`)
    for (const p of loop.accepted) p.close()

    token = /claudette:\/\/\S+\/(\S+)/.exec(cli.stdout)![1]!
    recordSecret(token)
  }
  t.equal(survivors, 0, `${survivors} sessions paired with an old token survived (${total} pairings)`)
  t.equal(lateAccepted, 0, `${lateAccepted} pairings with an old token were accepted after regenerate-token returned`)
})

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

t.test('pairing TTL: no pairing sent after the token expired is accepted, whatever the timing', async t => {
  const ttlMs = 500
  const { server, logs } = await startSecureServer(t, { auth: { ...NO_LOCKOUT, pairingTtlMs: ttlMs, reloadIntervalMs: 50 } })
  let late = 0
  for (let round = 1; round <= ROUNDS; round++) {
    // The moment we see a token is no earlier than the moment it became current, so a pairing
    // sent after seenAt + ttlMs was certainly sent after the token expired.
    const previous = pairingToken(server)
    await waitFor('the next token', () => pairingToken(server) !== previous)
    const token = pairingToken(server)
    const seenAt = Date.now()
    logs.secrets.add(token)
    const loop = pairInLoop(t, server, logs, token, false)
    await sleep(ttlMs + 300)
    await loop.stop()
    const after = loop.accepted.filter(p => p.sentAt > seenAt + ttlMs)
    late += after.length
    t.equal(after.length, 0, `round ${round}: no pairing sent after expiry was accepted (${loop.accepted.length} accepted before, ${loop.attempts} attempts)`)
  }
  t.equal(late, 0)
  logs.check(t)
})
