// ClaudetteServer.reload() (what SIGHUP calls), embedded: the pairing and lockout settings change
// live for the next pairing or failure, options given to createServer win over the file, a key
// removed from the file falls back to its default, and an invalid file rejects and changes nothing.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigFileError } from '../../src/index.js'
import { configFile } from '../../src/plugins/store/index.js'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer, tempHome } from '../helpers/server.js'

t.test('reload applies single-use pairing and the failure limit live; options win; defaults come back', async t => {
  const home = tempHome(t)
  const server = await startServer(t, { home, auth: { lockoutMs: 60_000 } })
  const cf = configFile(join(home, 'server.toml'))
  const first = pairingToken(server)
  await TestClient.paired(t, server, 'one')
  t.equal(pairingToken(server), first, 'multi-use by default: the token stays after a pairing')

  await cf.set('auth.single_use_pairing', true)
  await cf.set('auth.max_failures_per_ip', 1)
  await cf.set('auth.lockout', '1s') // the lockoutMs option wins over it
  await cf.set('server.bind', '127.0.0.1') // startServer passes bind: an option wins over the file
  await cf.set('server.port', 9) // and port
  const report = await server.reload()
  t.same(report, {
    applied: ['auth.single_use_pairing', 'auth.max_failures_per_ip'],
    restartRequired: [],
    overridden: ['server.port', 'server.bind', 'auth.lockout'],
  })
  await TestClient.paired(t, server, 'two')
  t.not(pairingToken(server), first, 'single-use now: the token was replaced by the pairing')

  // One failure now locks the address out (the lockout stays the option's 60 s).
  const bad = await TestClient.connect(t, server)
  t.equal((await bad.request('authenticate', { pairing_token: 'x'.repeat(43) })).error?.code, -2, 'a failed attempt')
  const refused = await TestClient.connect(t, server)
  t.same(await refused.closed, { code: 1013, reason: 'too many failed attempts; try again later' })

  // Removing the keys brings the defaults back (multi-use pairing).
  const file = join(home, 'server.toml')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^single_use_pairing = .*\n/m, ''))
  t.same((await server.reload()).applied, ['auth.single_use_pairing'])
})

t.test('an invalid file: reload rejects, logs, and the server keeps its settings', async t => {
  const home = tempHome(t)
  const server = await startServer(t, { home })
  const cf = configFile(join(home, 'server.toml'))
  await cf.set('server.name', 'Kept')
  await server.reload()
  t.equal(server.name, 'Kept')
  const file = join(home, 'server.toml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('name = "Kept"', 'name = "Lost"\nmax_connections = -1'))
  const err = await server.reload().catch(e => e)
  t.type(err, ConfigFileError)
  t.match(err.message, /\[server\] max_connections must be an integer of at least 1 \(line \d+\)/)
  t.equal(server.name, 'Kept', 'nothing changed')
  const c = await TestClient.paired(t, server)
  t.equal((await c.call('server_info')).name, 'Kept', 'and the server serves on')
})
