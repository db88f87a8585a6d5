// Durability: SIGKILL the server process while devices pair and authenticate (each pairing
// inserts a session, each resume updates last_seen), restart it on the same home, and find
// the home consistent: it starts, the config parses, every session whose token reached a
// client still works, and the database passes integrity_check. Then the same for the CLI
// killed in the middle of `regenerate-token` (security-durability-cli.test.ts).
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import t from 'tap'
import { tempHome, type TestContext } from '../helpers/server.js'
import { connectFrom, processTarget, runCli, spawnServer, type ServerProcess } from './security-support.js'
import { waitFor } from '../helpers/wait.js'

async function churn (t: TestContext, home: string, proc: ServerProcess, committed: string[], stop: { now: boolean }): Promise<void> {
  const target = processTarget(home, proc)
  const pairing = proc.connectionString.split('/').pop()!
  let n = 0
  while (!stop.now) {
    try {
      const c = await connectFrom(t, target)
      if (c.ws.readyState !== c.ws.OPEN) return
      const resumeWith = committed.length > 0 && n % 3 === 2 ? committed[n % committed.length] : undefined
      const res = await Promise.race([
        c.request('authenticate', resumeWith ? { session_token: resumeWith } : { pairing_token: pairing, client_name: `dev-${n}` }),
        c.closed.then(() => null),
      ])
      // A token counts as committed once the server has answered with it.
      if (res?.result?.session_token) committed.push(res.result.session_token)
      c.ws.terminate()
      n++
    } catch { return }
  }
}

t.test('SIGKILL during pairing and auth writes loses no committed session', async t => {
  const home = tempHome(t)
  const committed: string[] = []
  for (let round = 0; round < 3; round++) {
    const proc = await spawnServer(t, home)
    const stop = { now: false }
    const loops = Array.from({ length: 4 }, () => churn(t, home, proc, committed, stop))
    // The kill lands after a random number (1 to 8) of this round's sessions were committed, with
    // the four loops' other pairings and resumes in flight: counted in commits, not in time, since
    // on a loaded machine the first TLS handshakes alone can take longer than any fixed delay.
    const had = committed.length
    const killAt = had + 1 + Math.floor(Math.random() * 8)
    await waitFor(() => committed.length >= killAt, { timeout: 60_000, interval: 5, what: `${killAt - had} sessions committed in round ${round}` })
    proc.child.kill('SIGKILL')
    const exit = await proc.exited
    stop.now = true
    await Promise.all(loops)
    t.equal(exit.signal, 'SIGKILL', `round ${round}: killed with ${committed.length} sessions committed so far`)
    t.same(committed.filter(tok => proc.stderr.includes(tok) || proc.stdout.includes(tok)), [], 'no session token in the killed server\'s output')
  }
  t.ok(committed.length >= 3, `${committed.length} sessions committed across the kills (at least one a round)`)

  const proc = await spawnServer(t, home)
  t.pass('restarts on the same home: config, identity and database load')
  const target = processTarget(home, proc)
  let failed = 0
  for (const token of committed) {
    const c = await connectFrom(t, target)
    const res = await c.request('authenticate', { session_token: token })
    if (!res.result) failed++
    c.ws.terminate()
  }
  t.equal(failed, 0, `all ${committed.length} committed sessions still authenticate`)
  proc.child.kill('SIGTERM')
  t.equal((await proc.exited).code, 0)

  const listed = await runCli(['--home', home, 'sessions', 'list', '--json'])
  t.equal(listed.code, 0, listed.stderr)
  t.ok((JSON.parse(listed.stdout) as unknown[]).length >= committed.length, 'sessions list shows them')
  const db = new Sqlite(join(home, 'claudette.db'), { readonly: true })
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'database integrity_check')
  db.close()
  t.equal((await stat(home)).mode & 0o777, 0o700, 'home is 0700')
  for (const f of ['server.toml', 'key.pem', 'claudette.db']) t.equal((await stat(join(home, f))).mode & 0o777, 0o600, `${f} is 0600`)
})
