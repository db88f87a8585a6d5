// Pairing-token rotation is atomic: a client pairing in a tight loop while `regenerate-token` runs
// as its own process keeps no session from the old token, and the old token pairs nothing once
// the command has returned. (`npm test` builds dist/ first; run `npm run build` before running
// this file alone.)
import t from 'tap'
import { connectFrom, processTarget, runCli, spawnServer } from './security-support.js'
import { pairInLoop, ROUNDS, sessionAuthenticates, type Secrets } from './rotation-support.js'
import { waitFor, within } from '../helpers/wait.js'
import { recordSecret, tempHome } from '../helpers/server.js'

// Twenty rounds, each starting `regenerate-token` as a process of its own, outlast the suite's
// per-file timeout on a loaded machine; the file bounds itself instead.
t.setTimeout(600_000)

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
    await waitFor(() => loop.accepted.length > 0, { what: 'a first pairing' })
    const cli = await runCli(['--home', home, 'regenerate-token'])
    const returnedAt = Date.now()
    t.equal(cli.code, 0, cli.stderr)
    // Keep pairing with the old token after the command returned: a few attempts, and past the
    // running server's poll interval of server.toml (250 ms).
    await waitFor(() => loop.sentAfter(returnedAt) >= 4 && Date.now() - returnedAt > 400, { what: 'pairings sent after the command returned' })
    await loop.stop()
    total += loop.accepted.length

    const late = loop.accepted.filter(p => p.sentAt > returnedAt)
    lateAccepted += late.length
    t.equal(late.length, 0, `round ${round}: no pairing with the old token sent after the command returned was accepted (${loop.attempts} attempts)`)
    // The listing (below) covers every one of them; `authenticate` is tried with the last ones
    // (the pairings closest to the rotation, the ones a race would keep) and the first.
    const probe = [...new Set([loop.accepted[0]!, ...loop.accepted.slice(-8)])]
    const alive = []
    for (const p of probe) if (await sessionAuthenticates(t, server, p.sessionToken)) alive.push(p)
    survivors += alive.length
    t.equal(alive.length, 0, `round ${round}: none of the last ${probe.length} of ${loop.accepted.length} sessions paired with the old token authenticates`)
    // A device paired with the new token sees itself alone in list_sessions (the next round's
    // rotation revokes it in turn).
    token = /claudette:\/\/\S+\/(\S+)/.exec(cli.stdout)![1]!
    recordSecret(token)
    const lister = await connectFrom(t, server)
    const paired = await lister.request('authenticate', { pairing_token: token, client_name: 'lister' })
    t.type(paired.result?.session_token, 'string', `round ${round}: the new token pairs`)
    logs.secrets.add(paired.result.session_token)
    recordSecret(paired.result.session_token)
    const listed = await lister.request('list_sessions', {})
    lister.ws.terminate()
    const others = (listed.result as Array<{ current: boolean }>).filter(r => !r.current)
    survivors += others.length
    t.same(others.length, 0, `round ${round}: list_sessions shows no session but the new device`)
    // Live connections of the revoked sessions are closed (by the existing revocation watch).
    // Bounded: a connection of a session that survived would never close.
    const closes = await within(Promise.all(loop.accepted.map(p => p.closed)), 10_000, null)
    t.ok(closes?.every(c => c.code === 4001), `round ${round}: every live connection of an old session was closed as revoked`)
    for (const p of loop.accepted) p.close()
  }
  // The operator's view after the last rotation: only the last round's lister is left.
  const listed = await runCli(['--home', home, 'sessions', 'list', '--json'])
  const rows = JSON.parse(listed.stdout) as Array<{ name: string }>
  t.same(rows.map(r => r.name), ['lister'], 'sessions list shows only the device paired with the newest token')
  t.equal(survivors, 0, `${survivors} sessions paired with an old token survived (${total} pairings)`)
  t.equal(lateAccepted, 0, `${lateAccepted} pairings with an old token were accepted after regenerate-token returned`)
})
