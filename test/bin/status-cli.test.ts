// `status` asks the running server of its home; with none running (also after SIGKILL, a stale
// socket) it says so and exits 1.
import t from 'tap'
import { VERSION } from '../../src/index.js'
import { runCli, SERVER_BIN, startCli } from '../helpers/cli.js'
import { tempHome, type TestContext } from '../helpers/server.js'

const CS = /claudette:\/\/[^\s/]+:\d+\/[A-Za-z0-9_-]{43}/
const start = async (t: TestContext, home: string, extra: string[] = []) => {
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent', ...extra], /Ready for connections\.\n/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  return { ...srv, connectionString: CS.exec(srv.stdout())![0], port: Number(/listening on wss:\/\/127\.0\.0\.1:(\d+)/.exec(srv.stdout())![1]) }
}

t.test('status: a table, --json with exactly the documented keys; none running: exit 1', async t => {
  const home = tempHome(t)
  const none = await runCli(SERVER_BIN, ['--home', home, 'status'])
  t.equal(none.code, 1)
  t.equal(none.stderr, `error: no server is running for ${home}\n`)
  t.equal(none.stdout, '')

  const srv = await start(t, home, ['--connect-host', 'build.example.com'])
  const res = await runCli(SERVER_BIN, ['--home', home, 'status', '--json'])
  t.equal(res.code, 0, res.stderr)
  const s = JSON.parse(res.stdout)
  t.same(Object.keys(s), ['version', 'pid', 'uptime_s', 'listen', 'fingerprint', 'devices_online', 'connections', 'terminals', 'agents_running', 'rss_bytes'])
  t.equal(s.version, VERSION)
  t.equal(s.pid, srv.child.pid)
  t.same(s.listen, { address: '127.0.0.1', port: srv.port })
  t.match(srv.stdout(), `Certificate fingerprint: ${s.fingerprint}`)
  t.same([s.devices_online, s.connections, s.terminals, s.agents_running], [0, 0, 0, 0])
  t.equal(JSON.parse((await runCli(SERVER_BIN, ['--home', home, '--json', 'status'])).stdout).pid, srv.child.pid, 'the global --json works too')

  const table = await runCli(SERVER_BIN, ['--home', home, 'status'])
  t.equal(table.code, 0)
  t.match(table.stdout, new RegExp(`^version: +${VERSION.replaceAll('.', '\\.')}\\npid: +${srv.child.pid}\\nuptime: +\\d+s\\nlisten: +127\\.0\\.0\\.1:${srv.port}\\nfingerprint: +[0-9a-f]{64}\\ndevices online: +0\\nconnections: +0\\nterminals: +0\\nagents running: +0\\nmemory \\(rss\\): +[\\d.]+ MiB\\n$`))
  t.match(srv.stdout(), `claudette://build.example.com:${srv.port}/`, '--connect-host sets the banner\'s host')
  t.match((await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])).stdout, `claudette://build.example.com:${srv.port}/`)
})

t.test('after SIGKILL: none running (stale socket), configured string with a note; the next start takes over', async t => {
  const home = tempHome(t)
  const srv = await start(t, home)
  srv.child.kill('SIGKILL')
  await srv.exited
  const status = await runCli(SERVER_BIN, ['--home', home, 'status'])
  t.equal(status.code, 1)
  t.match(status.stderr, 'no server is running')
  const show = await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])
  t.equal(show.code, 0)
  t.equal(show.stderr, `no server is running for ${home}; this is what the next start will use\n`)
  t.match(show.stdout, /^claudette:\/\/[^/]+:7683\/[A-Za-z0-9_-]{43}\n$/, 'the configured port (port 0 was not saved)')

  const again = await start(t, home)
  const s = JSON.parse((await runCli(SERVER_BIN, ['--home', home, 'status', '--json'])).stdout)
  t.equal(s.pid, again.child.pid, 'the new server took the stale socket over')
})
