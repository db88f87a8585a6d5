// server.toml: created with defaults and a fresh token when missing, written atomically
// (temp + fsync + rename: a new inode, 0600 whatever the old mode or umask, no temp file left,
// never torn for a concurrent reader), round-trips any name, and is read strictly: every problem
// is ERR_CONFIG_FILE naming the file, and the file is never rewritten by a failed read.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigFileError, createServer } from '../../../src/index.js'
import { configFile, loadOrCreateConfig, PairingTokenInvalidError } from '../../../src/plugins/store/index.js'
import { tempHome } from '../../helpers/server.js'

const mode = (p: string): number => statSync(p).mode & 0o777

t.test('created when missing: defaults, a 43-char token, 0600', async t => {
  const file = join(tempHome(t), 'server.toml')
  const { config, created } = await loadOrCreateConfig(configFile(file))
  t.equal(created, true)
  t.equal(config.server.port, 7683)
  t.equal(config.server.bind, '0.0.0.0')
  t.match(config.auth.pairing_token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(mode(file), 0o600)
  const again = await loadOrCreateConfig(configFile(file))
  t.same({ config: again.config, created: again.created, warnings: again.warnings }, { config, created: false, warnings: [] }, 'read back as written, no warnings')
})

t.test('writes are atomic: new inode, 0600, no temp files, never torn for a reader', async t => {
  const dir = tempHome(t)
  const file = join(dir, 'server.toml')
  const cf = configFile(file)
  const { config } = await loadOrCreateConfig(cf)
  chmodSync(file, 0o644)
  const ino = statSync(file).ino
  const old = process.umask(0o000)
  try {
    await cf.write({ ...config, server: { ...config.server, name: 'renamed' } })
  } finally { process.umask(old) }
  t.not(statSync(file).ino, ino, 'replaced by rename, not rewritten in place')
  t.equal(mode(file), 0o600, 'mode is 0600 again')

  // Writers racing a reader: every read sees one complete version.
  let reads = 0
  let stop = false
  const reader = (async () => {
    while (!stop) {
      const c = await cf.read()
      t.match(c.server.name, /^(renamed|n-\d+)$/)
      reads++
    }
  })()
  await Promise.all(Array.from({ length: 40 }, (_, i) => cf.write({ ...config, server: { ...config.server, name: `n-${i}` } })))
  stop = true
  await reader
  t.ok(reads > 0, `${reads} reads during 40 writes, none torn`)
  t.same(readdirSync(dir), ['server.toml'], 'no temp file left behind')
})

t.test('a failed write leaves the old file and no temp file', async t => {
  const dir = tempHome(t)
  const file = join(dir, 'server.toml')
  mkdirSync(file) // a directory where the file should be: the rename fails
  writeFileSync(join(file, 'keep'), 'x')
  const err = await configFile(file).write({ server: { name: 'x', port: 1, bind: '127.0.0.1' }, auth: { pairing_token: 'a'.repeat(43) } }).catch(e => e)
  t.ok(err instanceof Error)
  t.same(readdirSync(dir), ['server.toml'], 'the temp file was removed')
  t.same(readdirSync(file), ['keep'])
})

t.test('names round-trip through TOML, quotes and non-ASCII included', async t => {
  const cf = configFile(join(tempHome(t), 'server.toml'))
  const { config } = await loadOrCreateConfig(cf)
  const name = 'Jürgen\'s "work" laptop \\ 日本 # not a comment'
  await cf.write({ ...config, server: { ...config.server, name } })
  t.equal((await cf.read()).server.name, name)
})

t.test('strict reads: each problem names the file, the field and the fix; the file is untouched', async t => {
  const dir = tempHome(t)
  const file = join(dir, 'server.toml')
  const token = 'pairing_token = "' + 'a'.repeat(43) + '"'
  const cases: Array<[string, RegExp]> = [
    ['[server]\nname = "x"\nport = = 3\n', /: invalid TOML at line 3, column \d+: .+ \(fix the file, or delete it to recreate it with defaults and a new pairing token\)$/],
    ['[server]\nname = ""\n[auth]\n' + token, /: \[server\] name must be a non-empty string \(at most 63 characters\) \(line 2\)$/],
    ['[server]\nname = 5\n[auth]\n' + token, /: \[server\] name must be a non-empty string \(at most 63 characters\) \(line 2\)$/],
    ['[server]\nport = 1.5\n[auth]\n' + token, /: \[server\] port must be an integer from 0 to 65535 \(line 2\)$/],
    ['[server]\nport = "7683"\n[auth]\n' + token, /: \[server\] port must be an integer from 0 to 65535 \(line 2\)$/],
    ['[server]\nbind = 0\n[auth]\n' + token, /: \[server\] bind must be an address string \(an IP address or a host name\) \(line 2\)$/],
    ['[auth]\npairing_token = "short"\n', /: \[auth\] pairing_token is missing or invalid \(run `claudette-server regenerate-token`/],
    ['[auth]\npairing_token = "' + 'a'.repeat(20) + '/' + 'b'.repeat(22) + '"\n', /pairing_token is missing or invalid/],
    ['', /pairing_token is missing or invalid/],
  ]
  for (const [text, re] of cases) {
    writeFileSync(file, text)
    const err = await loadOrCreateConfig(configFile(file)).catch(e => e)
    t.type(err, ConfigFileError, JSON.stringify(text))
    t.equal(err.code, 'ERR_CONFIG_FILE')
    t.ok(err.message.startsWith(`${file}: `), 'names the file')
    t.match(err.message, re)
    t.equal(readFileSync(file, 'utf8'), text, 'left untouched')
  }
  // The token case is the one regenerate-token repairs: the rest of the file still has to be valid.
  writeFileSync(file, '[server]\nname = "kept"\n')
  t.type(await configFile(file).read().catch(e => e), PairingTokenInvalidError)
  t.same(await configFile(file).read({ allowInvalidToken: true }), { server: { name: 'kept', port: 7683, bind: '0.0.0.0' }, auth: { pairing_token: '' } })
  writeFileSync(file, '[server]\nport = -1\n')
  t.match(await configFile(file).read({ allowInvalidToken: true }).catch(e => e), { message: /port must be an integer/ })
})

t.test('an unreadable config is ERR_CONFIG_FILE "cannot be read", also through createServer', async t => {
  const home = tempHome(t)
  mkdirSync(join(home, 'server.toml'))
  const err = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.type(err, ConfigFileError)
  t.equal(err.message, `${join(home, 'server.toml')}: cannot be read (EISDIR)`)
})

t.test('the home directory is made private even when it existed with looser modes', async t => {
  const home = join(tempHome(t), 'home')
  mkdirSync(home, { mode: 0o755 })
  chmodSync(home, 0o755)
  const s = await createServer({ home, bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'silent' })
  t.teardown(() => s.close())
  t.equal(mode(home), 0o700)
})
