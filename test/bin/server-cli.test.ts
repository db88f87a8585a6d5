// The server CLI as users run it: banner, subcommands, exit codes, signals.
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { VERSION } from '../../src/index.js'
import { runCli, SERVER_BIN, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'

const BANNER = /^claudette-server v(\S+) listening on wss:\/\/127\.0\.0\.1:(\d+)\nName: (.+)\n\nConnection string \(paste into Claudette\):\n {2}(claudette:\/\/[^\s/]+:(\d+)\/([A-Za-z0-9_-]{43}))\n\nCertificate fingerprint: ([0-9a-f]{64})\n\nReady for connections\.\n$/

t.test('run: exact banner with the real port, pairs, SIGTERM closes clients with 1001 and exits 0', async t => {
  const home = tempHome(t)
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--name', 'Work Laptop', '--log-level', 'warn'], /Ready for connections\.\n/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  const m = BANNER.exec(srv.stdout())
  t.ok(m, `banner matches:\n${srv.stdout()}`)
  if (!m) return
  const [, version, port, name, cs, csPort, token, fp] = m
  t.equal(version, VERSION)
  t.not(port, '0')
  t.equal(csPort, port)
  t.equal(name, 'Work Laptop')

  const ws = new WebSocket(`wss://127.0.0.1:${port}`, { ca: readFileSync(join(home, 'cert.pem')) })
  await once(ws, 'open')
  const peer = (ws as unknown as { _socket: { getPeerCertificate (): { fingerprint256: string } } })._socket.getPeerCertificate()
  t.equal(peer.fingerprint256.replaceAll(':', '').toLowerCase(), fp, 'banner fingerprint = SHA-256 of the served certificate')
  ws.send(JSON.stringify({ id: 1, method: 'authenticate', params: { pairing_token: token, client_name: 'cli-test' } }))
  const [reply] = await once(ws, 'message')
  t.equal(JSON.parse(reply.toString()).result.server_name, 'Work Laptop')

  const show = await runCli(SERVER_BIN, ['show-connection-string', '--home', home])
  t.equal(show.code, 0)
  t.equal(show.stdout, cs!.replace(`:${port}/`, ':7683/') + '\n', 'show-connection-string uses the configured port (port 0 is not saved)')

  const closed = once(ws, 'close')
  const started = Date.now()
  srv.child.kill('SIGTERM')
  const [code] = await closed
  t.equal(code, 1001)
  const exit = await srv.exited
  t.equal(exit.code, 0)
  t.ok(Date.now() - started < 5000, 'exits within 5 s')
  t.notOk(srv.stderr().includes(token!), 'no token in the logs')
})

t.test('explicit --port/--name are saved; show-connection-string --json; regenerate-token', async t => {
  const home = tempHome(t)
  // a free port
  const probe = createNetServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as { port: number }).port
  probe.close()
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', String(port), '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent'], /Ready/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  const show = await runCli(SERVER_BIN, ['--home', home, '--json', 'show-connection-string'])
  t.match(JSON.parse(show.stdout).connection_string, new RegExp(`^claudette://[^/]+:${port}/[A-Za-z0-9_-]{43}$`))
  const toml = readFileSync(join(home, 'server.toml'), 'utf8')
  t.match(toml, `port = ${port}`)
  t.match(toml, 'bind = "127.0.0.1"')

  const regen = await runCli(SERVER_BIN, ['regenerate-token', '--home', home])
  t.equal(regen.code, 0)
  t.match(regen.stdout, /^Pairing token regenerated\. All existing sessions have been revoked\.\n\nNew connection string:\n {2}claudette:\/\/\S+:\d+\/[A-Za-z0-9_-]{43}\n$/)
  t.not(regen.stdout.trim().split('/').pop(), JSON.parse(show.stdout).connection_string.split('/').pop())

  // a second server on the same port: clean runtime error, exit 1
  const clash = await runCli(SERVER_BIN, ['--home', tempHome(t), '--port', String(port), '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent'])
  t.equal(clash.code, 1)
  t.match(clash.stderr, /^error: address already in use/m)
  srv.child.kill('SIGINT')
  t.equal((await srv.exited).code, 0, 'SIGINT exits 0')
})

t.test('help, version, usage errors', async t => {
  const help = await runCli(SERVER_BIN, ['--help'])
  t.equal(help.code, 0)
  for (const word of ['run', 'show-connection-string', 'regenerate-token', 'sessions', '--home', '--config', '--port', '--bind', '--name', '--no-mdns', '--mdns-interface', '--log-level', '--json']) {
    t.match(help.stdout, word)
  }
  const version = await runCli(SERVER_BIN, ['-V'])
  t.equal(version.stdout, `claudette-server ${VERSION}\n`)
  t.equal(version.code, 0)

  for (const args of [['--bogus'], ['--port', 'abc'], ['--port', '70000'], ['--log-level', 'loud'], ['nope-command'], ['sessions', 'revoke']]) {
    const r = await runCli(SERVER_BIN, ['--home', tempHome(t), ...args])
    t.equal(r.code, 2, `exit 2 for ${args.join(' ')}`)
    t.match(r.stderr, /^error: .+\nUsage: claudette-server/, `one-line error and usage for ${args.join(' ')}`)
  }
  const unknownSession = await runCli(SERVER_BIN, ['--home', tempHome(t), 'sessions', 'revoke', 'abcd'])
  t.equal(unknownSession.code, 1)
  t.match(unknownSession.stderr, /no session matches 'abcd'/)
})

t.test('a corrupt config is a runtime error naming the file (exit 1)', async t => {
  const home = tempHome(t)
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(home, 'server.toml'), 'this is not toml = =')
  const r = await runCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns'])
  t.equal(r.code, 1)
  t.match(r.stderr, /^error: .*server\.toml: invalid TOML at line 1, column \d+/)
})
