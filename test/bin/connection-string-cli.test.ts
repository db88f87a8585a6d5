// show-connection-string and qr against a running server of the same home print what it serves
// (a `claudette pair` from that output works); a second server on a live home is refused and two
// homes never mix; --connect-host is checked; under a service the banner holds no token.
import { join } from 'node:path'
import t from 'tap'
import { CLIENT_BIN, runCli, SERVER_BIN, startCli } from '../helpers/cli.js'
import { tempHome, type TestContext } from '../helpers/server.js'

const CS = /claudette:\/\/[^\s/]+:\d+\/[A-Za-z0-9_-]{43}/
const start = async (t: TestContext, home: string, extra: string[] = []) => {
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent', ...extra], /Ready for connections\.\n/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  return { ...srv, connectionString: CS.exec(srv.stdout())![0], port: Number(/listening on wss:\/\/127\.0\.0\.1:(\d+)/.exec(srv.stdout())![1]) }
}

t.test('--port 0: show-connection-string prints the real port, and claudette pair from it succeeds', async t => {
  const home = tempHome(t)
  const srv = await start(t, home)
  t.not(srv.port, 0)
  const show = await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])
  t.equal(show.code, 0, show.stderr)
  t.equal(show.stdout.trim(), srv.connectionString)
  t.match(show.stdout, `claudette://127.0.0.1:${srv.port}/`, 'the bind address is the host, the real port the port')
  t.equal(show.stderr, '', 'no note: a server runs')
  const json = await runCli(SERVER_BIN, ['--home', home, '--json', 'show-connection-string'])
  t.same(JSON.parse(json.stdout), { connection_string: srv.connectionString }, '--json shape kept')
  const qr = await runCli(SERVER_BIN, ['--home', home, '--json', 'qr'])
  t.equal(JSON.parse(qr.stdout).connection_string, srv.connectionString)

  const clientHome = tempHome(t)
  const pair = await runCli(CLIENT_BIN, ['--home', clientHome, 'pair', show.stdout.trim()])
  t.equal(pair.code, 0, pair.stderr)
  const list = await runCli(CLIENT_BIN, ['--home', clientHome, 'list', '--json'])
  t.equal(JSON.parse(list.stdout)[0]?.port, srv.port, 'paired with this server, on its real port')
})

t.test('--connect-host is checked: exit 2 naming the flag', async t => {
  for (const bad of ['https://box', 'box:7683']) {
    const r = await runCli(SERVER_BIN, ['--home', tempHome(t), '--connect-host', bad, 'show-connection-string'])
    t.equal(r.code, 2, bad)
    t.match(r.stderr, /option '--connect-host <host>' argument '.*' is invalid\. must /, bad)
  }
  const ok = await runCli(SERVER_BIN, ['--home', tempHome(t), '--connect-host', '::1', 'show-connection-string'])
  t.match(ok.stdout, /^claudette:\/\/\[::1\]:7683\//, 'without a server: the flag sets the host the next start will use')
})

t.test('a second server on a live home exits 1 naming the pid; two homes never mix', async t => {
  const a = tempHome(t)
  const b = tempHome(t)
  const srvA = await start(t, a)
  const clash = await runCli(SERVER_BIN, ['--home', a, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent'])
  t.equal(clash.code, 1)
  t.equal(clash.stderr, `error: another claudette-server (pid ${srvA.child.pid}) is already running for ${a}; stop it first, or use another --home\n`)
  const srvB = await start(t, b)
  for (const [home, srv] of [[a, srvA], [b, srvB]] as const) {
    t.equal((await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])).stdout.trim(), srv.connectionString)
    t.equal(JSON.parse((await runCli(SERVER_BIN, ['--home', home, 'status', '--json'])).stdout).pid, srv.child.pid)
  }
  t.equal(JSON.parse((await runCli(SERVER_BIN, ['--home', join(a, 'elsewhere'), 'status', '--json'])).stdout || 'null'), null, 'another home: none')
})

t.test('under a service manager the banner leaves the pairing token out of the log, and says how to get it', async t => {
  const home = tempHome(t)
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'info'], /Ready for connections\.\n/, { env: { CLAUDETTE_SERVER_SERVICE: 'systemd' } })
  t.teardown(() => { srv.child.kill('SIGKILL') })
  const token = (await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])).stdout.trim().split('/').pop()!
  t.match(token, /^[A-Za-z0-9_-]{43}$/)
  t.notMatch(srv.stdout(), /claudette:\/\//, 'no connection string in the banner')
  t.notOk(srv.stdout().includes(token) || srv.stderr().includes(token), 'the token is nowhere in the output')
  t.match(srv.stdout(), `Show it with: claudette-server --home ${home} show-connection-string   (or qr)`)
})
