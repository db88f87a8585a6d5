// The CLI run as a separate process against the home of a running server: `sessions revoke`
// and `regenerate-token` take effect in the running server within 1 s.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { connectFrom, pairDevice, resume, runCli, startSecureServer } from './security-support.js'

t.test('`sessions revoke` from another process closes only that device within 1 s', async t => {
  const { server, logs } = await startSecureServer(t)
  const a = await pairDevice(t, server, logs, 'phone')
  const b = await pairDevice(t, server, logs, 'laptop')

  const listed = await runCli(['--home', server.home, 'sessions', 'list', '--json'])
  t.equal(listed.code, 0, listed.stderr)
  const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
  t.same(rows.map(r => r.name).sort(), ['laptop', 'phone'])
  t.notMatch(listed.stdout, a.sessionToken, 'no token in the listing')
  const table = await runCli(['--home', server.home, 'sessions', 'list'])
  t.match(table.stdout, /^ID\s+NAME\s+CREATED\s+LAST SEEN\s+LAST ADDRESS/)
  t.match(table.stdout, /phone/)

  const cli = await runCli(['--home', server.home, 'sessions', 'revoke', a.sessionId.slice(0, 8)])
  const exitedAt = Date.now()
  t.equal(cli.code, 0, cli.stderr)
  t.equal(cli.stdout.trim(), `Revoked session ${a.sessionId}.`)
  const closed = await a.closed
  const elapsed = Date.now() - exitedAt
  t.same(closed, { code: 4001, reason: 'session revoked' })
  t.ok(elapsed < 1000, `closed ${elapsed} ms after the CLI exited`)

  t.equal((await b.call('server_info')).name, server.name, 'the other device is untouched')
  t.equal(b.ws.readyState, b.ws.OPEN)
  const { res } = await resume(t, server, a.sessionToken)
  t.same(res.error, { code: -2, message: 'Authentication failed (1/3)' }, 'the revoked token fails')

  const missing = await runCli(['--home', server.home, 'sessions', 'revoke', 'nope-nope'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no session matches 'nope-nope'/)
  logs.check(t)
})

t.test('`regenerate-token` on a running server revokes every device and the new pairing token works', async t => {
  const { server, logs } = await startSecureServer(t)
  const oldPairing = server.connectionString.split('/').pop()!
  const a = await pairDevice(t, server, logs, 'phone')
  const b = await pairDevice(t, server, logs, 'laptop')

  const cli = await runCli(['--home', server.home, 'regenerate-token'])
  const exitedAt = Date.now()
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /^Pairing token regenerated\. All existing sessions have been revoked\.\n\nNew connection string:\n {2}claudette:\/\/\S+\n$/)
  const newPairing = /claudette:\/\/\S+\/(\S+)/.exec(cli.stdout)![1]!
  logs.secrets.add(newPairing)
  t.not(newPairing, oldPairing)
  const toml = await readFile(join(server.home, 'server.toml'), 'utf8')
  t.match(toml, newPairing)

  const [ca, cb] = await Promise.all([a.closed, b.closed])
  const elapsed = Date.now() - exitedAt
  t.same(ca, { code: 4001, reason: 'session revoked' })
  t.same(cb, { code: 4001, reason: 'session revoked' })
  t.ok(elapsed < 1000, `both closed ${elapsed} ms after the CLI exited`)

  for (const token of [a.sessionToken, b.sessionToken]) {
    const { res } = await resume(t, server, token)
    t.equal(res.error?.code, -2, 'old session token fails')
  }
  const old = await connectFrom(t, server)
  t.equal((await old.request('authenticate', { pairing_token: oldPairing })).error?.code, -2, 'old pairing token fails')

  t.equal(server.connectionString.split('/').pop(), newPairing, 'the server reports the new token')
  const fresh = await connectFrom(t, server)
  const res = await fresh.request('authenticate', { pairing_token: newPairing, client_name: 'again' })
  t.match(res.result?.session_token, /^[A-Za-z0-9_-]{43}$/, 'the new pairing token pairs')
  logs.secrets.add(res.result.session_token)
  logs.check(t)
})
