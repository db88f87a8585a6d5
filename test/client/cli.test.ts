// The `claudette` CLI as a real child process: pair, list (live status, JSON, never a token),
// call (JSON result, errors, exit codes), forget (revokes on the server), help and usage errors.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { CLIENT_BIN, SERVER_BIN, runCli } from '../helpers/cli.js'
import { TestClient } from '../helpers/client.js'
import { startServer, tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

t.test('pair, list, call, forget through the CLI', async t => {
  const server = await startServer(t, { name: 'cli-box' })
  const home = tempHome(t)
  const env = { CLAUDETTE_CLIENT_HOME: home }
  const cli = (...args: string[]) => runCli(CLIENT_BIN, args, { env })
  const token = server.connectionString.split('/').pop()!

  // `-` reads the connection string from stdin: the token stays out of the process list.
  const p = await runCli(CLIENT_BIN, ['pair', '-', '--fingerprint', server.fingerprint.slice(0, 16)], { env, input: `\n  ${server.connectionString}  \n` })
  t.equal(p.code, 0, p.stderr)
  t.match(p.stdout, /^Paired with cli-box at 127\.0\.0\.1:\d+ as 'cli-box' \(id [0-9a-f]{12}\)\.$/m)
  t.match(p.stdout, new RegExp(`Certificate fingerprint: ${server.fingerprint}`))
  t.match(p.stdout, /Verified against the expected fingerprint before the pairing token was sent/)
  const stored = await readFile(join(home, 'servers.json'), 'utf8')
  const sessionToken = JSON.parse(stored).servers[0].session_token as string

  const list = await cli('list')
  t.equal(list.code, 0)
  t.match(list.stdout, /^ID\s+NAME\s+ADDRESS\s+STATUS\s+FINGERPRINT\s+LAST CONNECTED$/m)
  t.match(list.stdout, new RegExp(`cli-box\\s+127\\.0\\.0\\.1:${server.port}\\s+online\\s+${server.fingerprint.slice(0, 16)}`))
  const json = await cli('list', '--json')
  const rows = JSON.parse(json.stdout)
  t.equal(rows.length, 1)
  t.equal(rows[0].status, 'online')
  t.equal(rows[0].fingerprint, server.fingerprint)
  t.equal(rows[0].version, server.version)
  for (const r of [p, list, json]) {
    t.notOk(r.stdout.includes(sessionToken) || r.stderr.includes(sessionToken), 'the session token is never printed')
    t.notOk(r.stdout.includes(token) || r.stderr.includes(token), 'the pairing token is never printed')
  }

  const call = await cli('call', 'cli-box', 'server_info')
  t.equal(call.code, 0, call.stderr)
  t.equal(JSON.parse(call.stdout).fingerprint, server.fingerprint)
  const withParams = await cli('call', 'cli-box', 'list_sessions', '{}')
  t.equal(JSON.parse(withParams.stdout).length, 1)

  const unknown = await cli('call', 'cli-box', 'nope')
  t.equal(unknown.code, 1)
  t.equal(unknown.stderr, 'error: Unknown method: nope\n')
  const badJson = await cli('call', 'cli-box', 'server_info', '{bad')
  t.equal(badJson.code, 2)
  t.match(badJson.stderr, /params must be JSON/)
  const notObject = await cli('call', 'cli-box', 'server_info', '[1]')
  t.equal(notObject.code, 2)
  const noServer = await cli('call', 'nobody', 'server_info')
  t.equal(noServer.code, 2)
  t.match(noServer.stderr, /No paired server named 'nobody'/)

  const forget = await cli('forget', 'cli-box')
  t.equal(forget.code, 0, forget.stderr)
  t.match(forget.stdout, /Forgot cli-box/)
  t.match(forget.stdout, /Its session on the server was revoked/)
  const probe = await TestClient.paired(t, server)
  t.equal((await probe.call('list_sessions')).length, 1, 'only the probe is left on the server')
  const empty = await cli('list')
  t.match(empty.stdout, /No paired servers/)
})

t.test('status of an unreachable server; refused pairings; usage errors; help', async t => {
  const server = await startServer(t)
  const home = tempHome(t)
  const env = { CLAUDETTE_CLIENT_HOME: home }
  const cli = (...args: string[]) => runCli(CLIENT_BIN, args, { env })
  /** Runs `call server_info` until it fails: the server applies a change made by the admin CLI on its own. */
  const failingCall = () => waitFor(async () => { const r = await cli('call', server.name, 'server_info'); return r.code !== 0 && r }, { timeout: 30_000, interval: 250, what: '`claudette call` to fail' })
  t.equal((await cli('pair', server.connectionString)).code, 0)
  const noInput = await runCli(CLIENT_BIN, ['pair', '-'], { env, input: '\n\n' })
  t.equal(noInput.code, 2)
  t.equal(noInput.stderr, 'error: no connection string on stdin\n')
  const wrongFp = await cli('pair', server.connectionString, '--fingerprint', '0123456789abcdef')
  t.equal(wrongFp.code, 1)
  t.match(wrongFp.stderr, /fingerprint mismatch/)
  const badFp = await cli('pair', server.connectionString, '--fingerprint', 'xyz')
  t.equal(badFp.code, 2)
  const badCs = await cli('pair', 'claudette://host:7683/')
  t.equal(badCs.code, 2)
  t.equal(badCs.stderr, 'error: Invalid connection string — pairing token is empty\n')

  // The server's certificate changes (rotate-certificate): refused with both values and how to
  // re-pin; re-pairing is checked against the old pin; --accept-new-fingerprint re-pins.
  const old = server.fingerprint
  const rotated = await runCli(SERVER_BIN, ['--home', server.home, '--json', 'rotate-certificate'])
  t.equal(rotated.code, 0, rotated.stderr)
  const fresh = (JSON.parse(rotated.stdout) as { fingerprint: string }).fingerprint
  // The running server switches within a second.
  const changed = await failingCall()
  t.equal(changed!.code, 1)
  t.match(changed!.stderr, /fingerprint mismatch/)
  t.ok(changed!.stderr.includes(`expected ${old}, got ${fresh}`), 'names the pinned and the presented fingerprint')
  t.ok(changed!.stderr.includes(`claudette forget ${server.name}`) && changed!.stderr.includes('--accept-new-fingerprint'), 'and how to re-pin')
  const repair = await cli('pair', server.connectionString)
  t.equal(repair.code, 1, 're-pairing is checked against the old pin')
  t.match(repair.stderr, /--accept-new-fingerprint/)
  const repin = await cli('pair', server.connectionString, '--accept-new-fingerprint')
  t.equal(repin.code, 0, repin.stderr)
  t.ok(repin.stdout.includes(`Certificate fingerprint: ${fresh}`))
  t.ok(repin.stdout.includes(`Re-pinned: this replaces the previous pin ${old}.`))
  t.equal((await cli('call', server.name, 'server_info')).code, 0, 'calls work again')

  // Revoked on the server (admin CLI): `list` shows it, `call` gives the documented error.
  const me = (JSON.parse((await cli('call', server.name, 'list_sessions')).stdout) as Array<{ id: string, current?: boolean }>).find(x => x.current)!
  t.equal((await runCli(SERVER_BIN, ['--home', server.home, 'sessions', 'revoke', me.id])).code, 0)
  // A running server applies the change within a second.
  const revoked = await failingCall()
  t.equal(revoked!.code, 1)
  t.match(revoked!.stderr, /^error: The session for \S+ \(127\.0\.0\.1:\d+\) was revoked .*Pair again with `claudette pair <connection string>`/)
  const revokedList = await cli('list', '--json')
  t.equal(JSON.parse(revokedList.stdout)[0].status, 'revoked')
  t.equal(JSON.parse(revokedList.stdout)[0].error, revoked!.stderr.replace(/^error: /, '').trim())

  await server.close()
  const list = await cli('list', '--timeout', '2')
  t.equal(list.code, 0)
  t.match(list.stdout, /offline/)
  const call = await cli('call', server.name, 'server_info')
  t.equal(call.code, 1)
  t.match(call.stderr, /connection refused/)

  const help = await cli('--help')
  t.equal(help.code, 0)
  for (const c of ['pair', 'list', 'nearby', 'call', 'term', 'forget']) t.match(help.stdout, new RegExp(`^  ${c}\\b`, 'm'), `--help lists ${c}`)
  for (const c of ['pair', 'list', 'nearby', 'call', 'term', 'forget']) {
    const h = await cli(c, '--help')
    t.equal(h.code, 0)
    t.match(h.stdout, new RegExp(`^Usage: claudette ${c}`, 'm'))
  }
  const pairHelp = await cli('pair', '--help')
  for (const o of ['--fingerprint', '--nearby', '--accept-new-fingerprint', 'stdin']) t.match(pairHelp.stdout, o, `pair --help explains ${o}`)
  const termHelp = await cli('term', '--help')
  t.match(termHelp.stdout, /--detach-key/)
  t.match(termHelp.stdout, /exit code/)
  const nope = await cli('frobnicate')
  t.equal(nope.code, 2)
  const missing = await cli('call')
  t.equal(missing.code, 2)
})
