// server.toml's schema: a wrong type names the key and its line; unknown keys and tables are
// warnings naming the closest known key; durations are seconds or "10m"-style strings; `set`
// edits the file in place (comments and unknown lines stay) and checks the value first; a new
// pairing token replaces only its line.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, ConfigFileError } from '../../../src/index.js'
import { configFile, durationMs, fileSettings, parseConfigText } from '../../../src/plugins/store/index.js'
import { tempHome } from '../../helpers/server.js'

const TOKEN = 'pairing_token = "' + 'a'.repeat(43) + '"'

t.test('a wrong type or value names the key, what it must be, and its line', async t => {
  const cases: Array<[string, RegExp]> = [
    [`# comment\n[server]\nname = "x"\n\n[auth]\n${TOKEN}\nmax_failures_per_ip = "ten"\n`, /: \[auth\] max_failures_per_ip must be an integer of at least 1 \(line 7\)$/],
    [`[auth]\n${TOKEN}\n[server]\nport = 1\nmax_connections = 0\n`, /: \[server\] max_connections must be an integer of at least 1 \(line 5\)$/],
    [`[mdns]\nenabled = "yes"\n[auth]\n${TOKEN}\n`, /: \[mdns\] enabled must be true or false \(line 2\)$/],
    [`[server]\nbind = "999.1.1.1"\n[auth]\n${TOKEN}\n`, /: \[server\] bind must be an address string .* \(line 2\)$/],
    [`[server]\nauth_timeout = "soon"\n[auth]\n${TOKEN}\n`, /: \[server\] auth_timeout must be a number of seconds from 1 to 3600 .* \(line 2\)$/],
    [`[auth]\n${TOKEN}\nlockout = "2y"\n`, /: \[auth\] lockout must be a duration .* \(line 3\)$/],
    // a dotted key at the top level is found too
    [`auth.pairing_token = "${'a'.repeat(43)}"\nserver.port = "80"\n`, /: \[server\] port must be an integer from 0 to 65535 \(line 2\)$/],
    [`server = 5\n[auth]\n${TOKEN}\n`, /: \[server\] must be a table \(line 1\)$/],
  ]
  for (const [text, re] of cases) {
    const err = (() => { try { parseConfigText('/h/server.toml', text); return null } catch (e) { return e as Error } })()
    t.type(err, ConfigFileError, JSON.stringify(text))
    t.match(err?.message, re)
  }
})

t.test('unknown keys and tables are warnings naming the closest known key, with their line', async t => {
  const text = `[server]\nname = "x"\nmax_conections = 5\n\n[sever]\nport = 1\n\n[auth]\n${TOKEN}\nlockuot = 5\n\n[mdns]\nhide_verison = true\ncompletely_different_thing = 1\n`
  const { config, warnings } = parseConfigText('/h/server.toml', text)
  t.equal(config.server.name, 'x', 'the known keys still apply')
  t.same(warnings.map(w => [w.key, w.line, w.suggestion]), [
    ['sever', 5, 'server'],
    ['server.max_conections', 3, 'server.max_connections'],
    ['auth.lockuot', 10, 'auth.lockout'],
    ['mdns.hide_verison', 13, 'mdns.hide_version'],
    ['mdns.completely_different_thing', 14, undefined],
  ])
  t.equal(warnings[1]!.message, "/h/server.toml line 3: unknown key 'server.max_conections' is ignored (did you mean 'server.max_connections'?)")
  t.match(warnings[4]!.message, /unknown key 'mdns.completely_different_thing' is ignored \(see docs\/configuration\.md\)$/)
})

t.test('durations: seconds as numbers, or strings with ms/s/m/h/d', async t => {
  t.equal(durationMs(1.5), 1500)
  t.equal(durationMs('90'), 90_000)
  t.equal(durationMs('500ms'), 500)
  t.equal(durationMs('10m'), 600_000)
  t.equal(durationMs('2d'), 172_800_000)
  const { config } = parseConfigText('f', `[server]\nauth_timeout = "30s"\ntls_handshake_timeout = 5\nmax_connections = 9\n[auth]\n${TOKEN}\npairing_ttl = "10m"\nsingle_use_pairing = true\nlockout = 0\n[mdns]\nenabled = false\n`)
  t.same(fileSettings(config), {
    name: config.server.name, port: 7683, bind: '0.0.0.0', authTimeoutMs: 30_000, tlsHandshakeTimeoutMs: 5000, maxConnections: 9,
    pairingTtlMs: 600_000, singleUsePairing: true, lockoutMs: 0, mdnsEnabled: false,
  })
})

t.test('set: checked by the schema, edits the file in place, keeps comments and unknown lines, 0600', async t => {
  const file = join(tempHome(t), 'server.toml')
  const original = `# my notes\n[server]\nname = "old" # the old name\nmy_note = 1\n\n# auth below\n[auth]\n${TOKEN}\n`
  writeFileSync(file, original, { mode: 0o644 })
  const cf = configFile(file)
  await cf.set('server.name', 'new name')
  await cf.set('server.port', 8080)
  await cf.set('auth.pairing_ttl', '10m')
  await cf.set('mdns.enabled', false)
  t.equal(readFileSync(file, 'utf8'), `# my notes\n[server]\nname = "new name"\nmy_note = 1\nport = 8080\n\n# auth below\n[auth]\n${TOKEN}\npairing_ttl = "10m"\n\n[mdns]\nenabled = false\n`)
  t.equal(statSync(file).mode & 0o777, 0o600)
  const before = readFileSync(file, 'utf8')
  for (const [key, value, re] of [
    ['server.port', 'abc', /invalid value for server\.port: must be an integer from 0 to 65535/],
    ['server.bind', 'foo bar', /invalid value for server\.bind/],
    ['server.prot', 1, /unknown configuration key 'server\.prot' \(did you mean 'server\.port'\?\)/],
    ['auth.pairing_token', 'x'.repeat(43), /regenerate-token/],
  ] as Array<[string, unknown, RegExp]>) {
    const err = await cf.set(key, value).catch(e => e)
    t.type(err, ConfigError, key)
    t.match(err.message, re)
  }
  t.equal(readFileSync(file, 'utf8'), before, 'refused values change nothing')
})

t.test('a new pairing token replaces only its line; a key the line editor cannot place rewrites the file', async t => {
  const file = join(tempHome(t), 'server.toml')
  const original = `# my notes\n[server]\nname = "kept"\n\n# auth below\n[auth]\n${TOKEN}\npairing_ttl = "10m"\n`
  writeFileSync(file, original, { mode: 0o600 })
  const cf = configFile(file)
  await cf.setPairingToken('b'.repeat(43))
  t.equal(readFileSync(file, 'utf8'), original.replace('a'.repeat(43), 'b'.repeat(43)), 'comments and other keys stay')
  t.equal((await cf.read()).auth.pairing_token, 'b'.repeat(43))

  // Root-level dotted keys: a line added after `server.name` would land at the top level and set
  // nothing. The value must take effect, whatever happens to the layout.
  writeFileSync(file, `server.name = "dotted"\nauth.pairing_token = "${'a'.repeat(43)}"\n`)
  await cf.set('server.port', 8123)
  const { config, warnings } = await cf.load()
  t.equal(config.server.port, 8123, 'the value is set')
  t.equal(config.server.name, 'dotted', 'the other keys kept')
  t.same(warnings, [], 'no stray key left behind')
})

t.test('docs/configuration.md lists every key with its default, flag and whether it is live', async t => {
  const { CONFIG_KEYS } = await import('../../../src/plugins/store/index.js')
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')
  for (const k of CONFIG_KEYS) {
    const row = doc.split('\n').find(l => l.startsWith(`| \`${k.name}\` |`))
    t.ok(row, `${k.name} has a row`)
    if (!row) continue
    if (k.flag !== undefined) t.match(row, `\`${k.flag}\``, `${k.name}: its flag`)
    if (k.secret !== true) t.equal(/\*\*live\*\*/.test(row), k.live, `${k.name}: live or restart`)
  }
})
