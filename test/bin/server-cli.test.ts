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
import { waitFor } from '../helpers/wait.js'

const BANNER = /^claudette-server v(\S+) listening on wss:\/\/127\.0\.0\.1:(\d+)\nName: (.+)\n\nConnection string \(paste into Claudette\):\n {2}(claudette:\/\/[^\s/]+:(\d+)\/([A-Za-z0-9_-]{43}))\n\nCertificate fingerprint: ([0-9a-f]{64})\n\nReady for connections\.\n$/

t.test('run: exact banner with the real port, pairs, SIGTERM closes clients with 1001 and exits 0', async t => {
  const home = tempHome(t)
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--name', 'Work Laptop', '--log-level', 'trace'], /Ready for connections\.\n/)
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
  const sessionToken = JSON.parse(reply.toString()).result.session_token as string

  const show = await runCli(SERVER_BIN, ['show-connection-string', '--home', home])
  t.equal(show.code, 0)
  t.equal(show.stdout, cs + '\n', 'show-connection-string prints what the running server serves: its real port')
  t.equal(show.stderr, '')

  const closed = once(ws, 'close')
  const started = Date.now()
  srv.child.kill('SIGTERM')
  const [code] = await closed
  t.equal(code, 1001)
  const exit = await srv.exited
  t.equal(exit.code, 0)
  t.ok(Date.now() - started < 5000, 'exits within 5 s')
  t.match(srv.stderr(), /"msg":"paired device"/, 'stderr has the trace-level log')
  t.notOk(srv.stderr().includes(token!), 'no pairing token in the logs')
  t.notOk(srv.stderr().includes(sessionToken), 'no session token in the logs')
  t.notOk(srv.stdout().includes(sessionToken), 'nor on stdout')
})

t.test('config set saves the port and bind; show-connection-string --json; regenerate-token', async t => {
  const home = tempHome(t)
  // a free port
  const probe = createNetServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as { port: number }).port
  probe.close()
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'config', 'set', 'server.port', String(port)])).code, 0)
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'config', 'set', 'server.bind', '127.0.0.1'])).code, 0)
  const srv = await startCli(SERVER_BIN, ['--home', home, '--no-mdns', '--log-level', 'silent'], /Ready/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  t.match(srv.stdout(), `listening on wss://127.0.0.1:${port}\n`, 'server.toml\'s port and bind apply without flags')
  const show = await runCli(SERVER_BIN, ['--home', home, '--json', 'show-connection-string'])
  t.match(JSON.parse(show.stdout).connection_string, new RegExp(`^claudette://[^/]+:${port}/[A-Za-z0-9_-]{43}$`))

  const regen = await runCli(SERVER_BIN, ['regenerate-token', '--home', home])
  t.equal(regen.code, 0)
  t.match(regen.stdout, /^Pairing token regenerated\. All existing sessions have been revoked\.\n\nNew connection string:\n {2}claudette:\/\/\S+:\d+\/[A-Za-z0-9_-]{43}\n$/)
  t.not(regen.stdout.trim().split('/').pop(), JSON.parse(show.stdout).connection_string.split('/').pop())

  // a second server on the same port: clean runtime error, exit 1, and nothing is saved
  const other = tempHome(t)
  const clash = await runCli(SERVER_BIN, ['--home', other, '--port', String(port), '--bind', '127.0.0.1', '--name', 'Clash', '--no-mdns', '--log-level', 'silent'])
  t.equal(clash.code, 1)
  t.match(clash.stderr, /^error: address already in use/m)
  const otherToml = readFileSync(join(other, 'server.toml'), 'utf8')
  t.match(otherToml, 'port = 7683', 'the flags were not saved')
  t.notMatch(otherToml, 'Clash')
  const badBind = await runCli(SERVER_BIN, ['--home', other, '--port', '0', '--bind', '192.0.2.1', '--no-mdns', '--log-level', 'silent'])
  t.equal(badBind.code, 1)
  t.match(badBind.stderr, /^error: listen EADDRNOTAVAIL/m)
  t.match(readFileSync(join(other, 'server.toml'), 'utf8'), 'bind = "0.0.0.0"', 'a --bind that cannot be listened on is not kept')
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
  // A word that names no command is reported as such (not as an argument of the default `run`).
  const typo = await runCli(SERVER_BIN, ['--home', tempHome(t), 'sessoins', 'list'])
  t.equal(typo.code, 2)
  t.equal(typo.stderr, "error: unknown command 'sessoins'\nUsage: claudette-server [options] [command] (see --help)\n")
  const extra = await runCli(SERVER_BIN, ['--home', tempHome(t), 'run', 'now'])
  t.equal(extra.code, 2)
  t.match(extra.stderr, /^error: too many arguments for 'run'\nUsage: claudette-server/)
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

t.test('a missing pairing token: run refuses and names the fix; regenerate-token repairs it and keeps the rest', async t => {
  const home = tempHome(t)
  const { writeFileSync } = await import('node:fs')
  const toml = '[server]\nname = "kept name"\nport = 7001\nbind = "127.0.0.1"\n'
  writeFileSync(join(home, 'server.toml'), toml)
  const run = await runCli(SERVER_BIN, ['--home', home, '--port', '0', '--no-mdns'])
  t.equal(run.code, 1)
  t.match(run.stderr, /^error: .*server\.toml: \[auth\] pairing_token is missing or invalid \(run `claudette-server regenerate-token`/)
  t.equal(readFileSync(join(home, 'server.toml'), 'utf8'), toml, 'the file is left untouched')
  const show = await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])
  t.equal(show.code, 1, 'commands that need the token report it too')
  t.match(show.stderr, /pairing_token is missing/)

  const regen = await runCli(SERVER_BIN, ['--home', home, 'regenerate-token'])
  t.equal(regen.code, 0, regen.stderr)
  t.match(regen.stdout, /claudette:\/\/\S+:7001\/[A-Za-z0-9_-]{43}\n$/, 'the advice in the error works: a new token, the configured port')
  const after = readFileSync(join(home, 'server.toml'), 'utf8')
  t.match(after, 'name = "kept name"')
  t.match(after, 'bind = "127.0.0.1"')
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--no-mdns', '--log-level', 'silent'], /Ready/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  t.match(srv.stdout(), /^Name: kept name$/m, 'the server starts with the repaired config')
  srv.child.kill('SIGTERM')
  t.equal((await srv.exited).code, 0)

  // A file that is not TOML at all is not "repaired" (that would discard it): regenerate refuses.
  writeFileSync(join(home, 'server.toml'), '[server\n')
  const broken = await runCli(SERVER_BIN, ['--home', home, 'regenerate-token'])
  t.equal(broken.code, 1)
  t.match(broken.stderr, /invalid TOML at line 1, column \d+: .*\(fix the file, or delete it/)
  t.equal(readFileSync(join(home, 'server.toml'), 'utf8'), '[server\n')
})

t.test('a corrupt key file: exit 1, an error naming the file and the way out; the file is kept', async t => {
  const home = tempHome(t)
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'rotate-certificate'])).code, 0, 'creates an identity')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(home, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n')
  const r = await runCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns'])
  t.equal(r.code, 1)
  t.equal(r.stderr, `error: ${join(home, 'key.pem')}: is not a valid PEM private key; restore it from a backup, or remove both key.pem and cert.pem to create a new identity (clients will need to re-pair)\n`)
  t.equal(r.stdout, '', 'no banner')
  t.match(readFileSync(join(home, 'key.pem'), 'utf8'), 'not a key', 'never overwritten')
})

t.test('SIGTERM during the first start (key generation) exits 0 and leaves a home that starts', async t => {
  const home = tempHome(t)
  const { spawn } = await import('node:child_process')
  const { existsSync } = await import('node:fs')
  const child = spawn(process.execPath, [SERVER_BIN, '--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let stdout = ''
  child.stdout.on('data', d => { stdout += d })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  // server.toml is written by createServer, after the CLI installed its signal handlers and
  // before the TLS identity is generated.
  await waitFor(() => existsSync(join(home, 'server.toml')), { interval: 10, what: 'server.toml to be written' })
  child.kill('SIGTERM')
  const exit = await exited
  t.same(exit, { code: 0, signal: null }, 'a clean exit, not death by signal')
  t.notMatch(stdout, /Ready for connections/, 'it stopped instead of starting')
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'warn'], /Ready for connections/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  t.pass('the next start works on the same home')
  srv.child.kill('SIGINT')
  t.equal((await srv.exited).code, 0)
})

t.test('--worktree-base-dir: used for new workspaces for that run; config set saves it for the next runs; a bad value is a clear error', async t => {
  const { mkdirSync, realpathSync, writeFileSync } = await import('node:fs')
  const { execFileSync } = await import('node:child_process')
  const home = tempHome(t)
  const trees = join(tempHome(t), 'trees')
  const repo = join(tempHome(t), 'repo')
  mkdirSync(repo)
  const git = (...args: string[]): void => { execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo, stdio: 'ignore' }) }
  git('init', '-q', '-b', 'main')
  git('commit', '-q', '--allow-empty', '-m', 'init')
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'repo', 'add', repo])).code, 0)

  // One request/response over a fresh connection (pairs with the printed token).
  const rpc = async (port: string, token: string, calls: Array<[string, unknown]>): Promise<unknown[]> => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}`, { ca: readFileSync(join(home, 'cert.pem')) })
    await once(ws, 'open')
    // One listener for the whole exchange: an event and a reply can arrive in one read.
    const replies = new Map<number, (m: { result?: unknown, error?: unknown }) => void>()
    ws.on('message', d => { const m = JSON.parse(d.toString()); if (typeof m.id === 'number') replies.get(m.id)?.(m) })
    const out: unknown[] = []
    for (const [i, [method, params]] of [['authenticate', { pairing_token: token, client_name: 't' }] as [string, unknown], ...calls].entries()) {
      const reply = new Promise<{ result?: unknown, error?: unknown }>(resolve => replies.set(i, resolve))
      ws.send(JSON.stringify({ id: i, method, params }))
      const m = await reply
      if (i > 0) out.push(m.error ?? m.result)
    }
    ws.close()
    return out
  }
  const start = async (extra: string[]): Promise<{ port: string, token: string, stop: () => Promise<void> }> => {
    const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent', ...extra], /Ready/)
    t.teardown(() => { srv.child.kill('SIGKILL') })
    const m = BANNER.exec(srv.stdout())!
    return { port: m[2]!, token: m[6]!, stop: async () => { srv.child.kill('SIGTERM'); await srv.exited } }
  }

  const first = await start(['--worktree-base-dir', trees])
  const [base, repos] = await rpc(first.port, first.token, [['get_app_setting', { key: 'worktree_base_dir' }], ['list_repositories', {}]]) as [string, Array<{ id: string }>]
  t.equal(base, realpathSync(trees), 'the flag sets the worktree base (created if missing)')
  const [created] = await rpc(first.port, first.token, [['create_workspace', { repository_id: repos[0]!.id, name: 'from-flag' }]]) as [{ workspace: { worktree_path: string } }]
  t.equal(created.workspace.worktree_path.startsWith(realpathSync(trees) + '/'), true, `workspace under the base: ${created.workspace.worktree_path}`)
  await first.stop()
  t.notMatch(readFileSync(join(home, 'server.toml'), 'utf8'), 'worktree_base_dir', 'the flag applied to that run only')
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'config', 'set', 'server.worktree_base_dir', trees])).code, 0)
  t.match(readFileSync(join(home, 'server.toml'), 'utf8'), `worktree_base_dir = "${trees}"`, 'config set saves it')

  const second = await start([])
  const [again] = await rpc(second.port, second.token, [['get_app_setting', { key: 'worktree_base_dir' }]])
  t.equal(again, realpathSync(trees), 'read back from server.toml without the flag')
  await second.stop()

  const bad = await runCli(SERVER_BIN, ['--home', home, '--worktree-base-dir', ''])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /^error: option '--worktree-base-dir <dir>' argument '' is invalid\. must be a directory path\./)
  const toml = readFileSync(join(home, 'server.toml'), 'utf8').replace(/worktree_base_dir = .*/, 'worktree_base_dir = 5')
  writeFileSync(join(home, 'server.toml'), toml)
  const badToml = await runCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns'])
  t.equal(badToml.code, 1)
  t.match(badToml.stderr, /server\.toml: \[server\] worktree_base_dir must be a non-empty path string \(line \d+\)/)
})
