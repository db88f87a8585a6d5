// The bundled CLIs (dist/cli/, what package.json `bin` and `npm start` run) work end to end: help
// and version, the banner, pairing with the bundled client CLI, a call, the admin commands and a
// clean SIGTERM. (The rest of the suite runs the unbundled dist/bin/ for coverage.)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { VERSION } from '../../src/index.js'
import { BUNDLED_CLIENT_BIN, BUNDLED_SERVER_BIN, runCli, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'

t.test('package.json bin and npm start point at the bundles', async t => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  t.same(pkg.bin, { 'claudette-server': './dist/cli/claudette-server.js', claudette: './dist/cli/claudette.js' })
  t.equal(pkg.scripts.start, 'node dist/cli/claudette-server.js')
  for (const f of [BUNDLED_SERVER_BIN, BUNDLED_CLIENT_BIN]) t.match(readFileSync(f, 'utf8').slice(0, 20), /^#!\/usr\/bin\/env node\n/, `${f} is a script`)
})

t.test('bundled server and client: help, version, banner, pair, call, sessions, SIGTERM', async t => {
  for (const [bin, name] of [[BUNDLED_SERVER_BIN, 'claudette-server'], [BUNDLED_CLIENT_BIN, 'claudette']] as const) {
    const help = await runCli(bin, ['--help'])
    t.equal(help.code, 0, help.stderr)
    t.match(help.stdout, new RegExp(`^Usage: ${name} `))
    const version = await runCli(bin, ['--version'])
    t.match(version.stdout, VERSION)
  }
  const home = tempHome(t)
  const srv = await startCli(BUNDLED_SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--name', 'bundled', '--log-level', 'warn'], /Ready for connections\.\n/)
  t.teardown(() => { srv.child.kill('SIGKILL') })
  const cs = /^ {2}(claudette:\/\/\S+)$/m.exec(srv.stdout())![1]!
  const fingerprint = /^Certificate fingerprint: ([0-9a-f]{64})$/m.exec(srv.stdout())![1]!
  t.match(srv.stdout(), new RegExp(`^claudette-server v${VERSION.replaceAll('.', '\\.')} listening on wss://127\\.0\\.0\\.1:\\d+\\nName: bundled\\n`))

  const env = { CLAUDETTE_CLIENT_HOME: tempHome(t) }
  const port = cs.split(':')[2]!.split('/')[0]
  const pair = await runCli(BUNDLED_CLIENT_BIN, ['pair', '-', '--fingerprint', fingerprint], { env, input: cs.replace(/\/\/[^:]+:/, '//127.0.0.1:') + '\n' })
  t.equal(pair.code, 0, pair.stderr)
  t.match(pair.stdout, `Paired with bundled at 127.0.0.1:${port}`)
  const info = await runCli(BUNDLED_CLIENT_BIN, ['call', 'bundled', 'server_info'], { env })
  t.equal(info.code, 0, info.stderr)
  const parsed = JSON.parse(info.stdout)
  t.equal(parsed.fingerprint, fingerprint)
  t.equal(parsed.version, VERSION)
  t.ok(parsed.capabilities.includes('pty-binary'))

  const sessions = await runCli(BUNDLED_SERVER_BIN, ['--home', home, 'sessions', 'list', '--json'])
  t.equal(sessions.code, 0, sessions.stderr)
  t.equal(JSON.parse(sessions.stdout).length, 1, 'the paired device')
  t.match((await runCli(BUNDLED_SERVER_BIN, ['--home', home, 'qr'])).stdout, /█|▀|▄/, 'qr prints a code')
  t.equal(readFileSync(join(home, 'server.toml'), 'utf8').includes('bundled'), false, 'the --name flag applied to that run only')

  srv.child.kill('SIGTERM')
  t.equal((await srv.exited).code, 0)
})
