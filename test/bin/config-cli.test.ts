// The server CLI and server.toml: flags apply to one run and never rewrite the file, `config`
// saves and shows it, bad --bind values are usage errors, read-only commands create nothing, and
// the file's problems are named (wrong types: an error with the line; unknown keys: a warning).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCli, SERVER_BIN, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'

t.test('--bind with a bad address: exit 2 naming --bind, before anything is created', async t => {
  for (const bad of ['999.1.1.1', 'foo bar', '::zz', '-x-']) {
    const home = join(tempHome(t), 'home')
    const r = await runCli(SERVER_BIN, ['--home', home, '--port', '0', '--no-mdns', '--bind', bad])
    t.equal(r.code, 2, `exit 2 for ${bad}`)
    t.match(r.stderr, /^error: option '--bind <addr>' argument '.*' is invalid\. must be an IP address .* or a host name\.\nUsage: claudette-server/)
    t.equal(existsSync(home), false, 'no home created')
  }
})

t.test('read-only commands given a missing --config or home: exit 1 naming it, nothing created', async t => {
  const home = tempHome(t)
  const missing = join(home, 'nope.toml')
  for (const args of [['show-connection-string'], ['qr'], ['sessions', 'list'], ['repo', 'list'], ['config', 'list'], ['config', 'get', 'server.port'], ['config', 'path']]) {
    const r = await runCli(SERVER_BIN, ['--home', home, '--config', missing, ...args])
    t.equal(r.code, 1, `exit 1 for ${args.join(' ')}`)
    t.equal(r.stderr, `error: ${missing}: the configuration file does not exist (this command only reads; check --home/--config, or start the server once to create it)\n`)
  }
  t.same(readdirSync(home), [], 'nothing created in the home')
  const noHome = join(home, 'not-there')
  const r = await runCli(SERVER_BIN, ['--home', noHome, 'sessions', 'list'])
  t.equal(r.code, 1)
  t.match(r.stderr, `error: ${noHome}: the home directory does not exist`)
  t.equal(existsSync(noHome), false, 'the home is not created')
  // Replacing a secret of a home that is not there: a mistyped --home, refused before asking.
  for (const cmd of ['regenerate-token', 'rotate-certificate']) {
    const r = await runCli(SERVER_BIN, ['--home', noHome, cmd, '--yes'])
    t.equal(r.code, 1, cmd)
    t.equal(r.stderr, `error: ${noHome}: the home directory does not exist (check --home; \`claudette-server run\` creates it)\n`)
    t.equal(existsSync(noHome), false, `${cmd} created nothing`)
  }
  // The connection string on a fresh home is the one the next start serves: made, not refused.
  const cs = await runCli(SERVER_BIN, ['--home', noHome, 'show-connection-string'])
  t.equal(cs.code, 0, cs.stderr)
  t.match(cs.stdout, /^claudette:\/\/[^/]+:7683\/[\w-]{43}\n$/)
  t.equal(existsSync(join(noHome, 'server.toml')), true, 'show-connection-string made the home it prints for')
  // Commands that write still create what they need.
  const set = await runCli(SERVER_BIN, ['--home', home, '--config', missing, 'config', 'set', 'server.name', 'made'])
  t.equal(set.code, 0, set.stderr)
  t.match(readFileSync(missing, 'utf8'), 'name = "made"')
})

t.test('run with --port/--name/--bind leaves server.toml byte-identical', async t => {
  const home = tempHome(t)
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'config', 'set', 'server.name', 'Saved Name'])).code, 0)
  const before = readFileSync(join(home, 'server.toml'))
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--name', 'Flag Name', '--worktree-base-dir', join(home, 'trees'), '--no-mdns', '--log-level', 'warn'], /Ready for connections/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  t.match(srv.stdout(), /^Name: Flag Name$/m, 'the flag applies to this run')
  srv.child.kill('SIGTERM')
  t.equal((await srv.exited).code, 0)
  t.same(readFileSync(join(home, 'server.toml')), before, 'server.toml unchanged')
  const get = await runCli(SERVER_BIN, ['--home', home, 'config', 'get', 'server.name'])
  t.equal(get.stdout, 'Saved Name\n')
})

t.test('config set/get/list round trip; the pairing token is never printed', async t => {
  const home = tempHome(t)
  const cli = (...args: string[]): ReturnType<typeof runCli> => runCli(SERVER_BIN, ['--home', home, ...args])
  const set = await cli('config', 'set', 'auth.pairing_ttl', '10m')
  t.equal(set.code, 0, set.stderr)
  t.match(set.stdout, /^Saved auth\.pairing_ttl = "10m" to .*server\.toml\.\nA running server applies it on SIGHUP/)
  const port = await cli('config', 'set', 'server.port', '8123')
  t.match(port.stdout, /applies it at its next start \(this key cannot change live\)/)
  t.equal((await cli('config', 'get', 'auth.pairing_ttl')).stdout, '10m\n')
  t.equal((await cli('config', 'get', 'server.port')).stdout, '8123\n')
  const unset = await cli('config', 'get', 'server.max_connections')
  t.equal(unset.code, 0)
  t.equal(unset.stdout, '')
  t.match(unset.stderr, /not set in .*; the default applies: 512/)
  const list = JSON.parse((await cli('config', 'list', '--json')).stdout) as Array<{ key: string, value: unknown, source: string, live: boolean, secret: boolean }>
  t.same(list.find(e => e.key === 'server.port'), { key: 'server.port', value: 8123, source: 'file', default: '7683', live: false, flag: '--port', secret: false })
  t.same(list.find(e => e.key === 'auth.pairing_ttl')?.value, '10m')
  t.same(list.find(e => e.key === 'auth.pairing_token'), { key: 'auth.pairing_token', value: null, source: 'file', default: 'a fresh random token', live: true, flag: null, secret: true })
  const token = (await cli('show-connection-string')).stdout.trim().split('/').pop()!
  const table = await cli('config', 'list')
  t.match(table.stdout, /^auth\.pairing_token +\[redacted: see `claudette-server show-connection-string`\]/m)
  t.notMatch(table.stdout, token, 'no token in config list')
  const getToken = await cli('config', 'get', 'auth.pairing_token')
  t.equal(getToken.code, 1)
  t.notMatch(getToken.stdout + getToken.stderr, token)
  t.match(getToken.stderr, /show-connection-string/)
  const setToken = await cli('config', 'set', 'auth.pairing_token', 'x'.repeat(43))
  t.equal(setToken.code, 2)
  t.match(setToken.stderr, /run `claudette-server regenerate-token`/)
  const bad = await cli('config', 'set', 'server.port', 'abc')
  t.equal(bad.code, 2)
  t.equal(bad.stderr, 'error: invalid value for server.port: must be an integer from 0 to 65535\n')
  const typo = await cli('config', 'get', 'server.prot')
  t.equal(typo.code, 2)
  t.match(typo.stderr, /unknown configuration key 'server\.prot' \(did you mean 'server\.port'\?\)/)
  t.equal((await cli('config', 'path')).stdout, join(home, 'server.toml') + '\n')
})

t.test('server.toml problems: a wrong type stops run naming key and line; an unknown key is a warning naming its neighbour', async t => {
  const home = tempHome(t)
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'config', 'set', 'server.name', 'x'])).code, 0)
  const file = join(home, 'server.toml')
  const good = readFileSync(file, 'utf8')
  writeFileSync(file, good + '\n[mdns]\nenabled = "no"\n')
  const lineNo = (good + '\n[mdns]\nenabled = "no"\n').split('\n').indexOf('enabled = "no"') + 1
  const bad = await runCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1'])
  t.equal(bad.code, 1)
  t.equal(bad.stderr, `error: ${file}: [mdns] enabled must be true or false (line ${lineNo})\n`)

  writeFileSync(file, good.replace('[server]\n', '[server]\nmax_conections = 3\n'))
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'warn'], /Ready for connections/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  t.match(srv.stderr(), /unknown key 'server\.max_conections' is ignored \(did you mean 'server\.max_connections'\?\)/, 'run logs the warning')
  srv.child.kill('SIGTERM')
  t.equal((await srv.exited).code, 0)
  const list = await runCli(SERVER_BIN, ['--home', home, 'config', 'list'])
  t.equal(list.code, 0)
  t.match(list.stderr, /^warning: .*server\.toml line 3: unknown key 'server\.max_conections' is ignored \(did you mean 'server\.max_connections'\?\)$/m)
})
