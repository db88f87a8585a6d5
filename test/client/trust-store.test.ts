// The trust store: 0700/0600, atomic JSON, lookups by name/id/prefix, unique names, re-pair
// replaces by host:port (or host + fingerprint: a new port), a corrupt file is an error and is
// left alone.
import { existsSync } from 'node:fs'
import { chmod, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { redactServer, resolveClientHome, TrustStore } from '../../src/index.js'
import { tempHome } from '../helpers/server.js'

const fp = (c: string): string => c.repeat(64)
const entry = (host: string, port: number, serverName: string, f = fp('a')) =>
  ({ host, port, serverName, fingerprint: f, sessionToken: `tok-${host}-${port}` })

t.test('add, lookup, rename on clash, replace by address, remove', async t => {
  const home = join(tempHome(t), 'nested', 'claudette')
  const store = await TrustStore.open(home)
  t.equal((await stat(home)).mode & 0o777, 0o700)
  const a = await store.add(entry('h1', 7683, 'box'))
  const b = await store.add(entry('h2', 7683, 'box'))
  const c = await store.add(entry('h3', 7000, 'other', fp('b')))
  t.equal(a.name, 'box')
  t.equal(b.name, 'box-2', 'local names are unique')
  t.match(a.id, /^[0-9a-f]{12}$/)
  t.equal((await stat(store.file)).mode & 0o777, 0o600)

  const fresh = await TrustStore.open(home)
  t.equal(fresh.get('box').id, a.id)
  t.equal(fresh.get('BOX-2').id, b.id, 'case-insensitive name')
  t.equal(fresh.get(c.id).name, 'other')
  t.equal(fresh.get(c.id.slice(0, 6)).name, 'other', 'unique id prefix')
  t.throws(() => fresh.get('nope'), { code: 'ERR_CONFIG_SERVER_NOT_FOUND', message: /No paired server named 'nope'/ })
  t.equal(fresh.findByAddress('H1', 7683)?.id, a.id)
  t.equal(fresh.findByAddress('h1', 1), undefined)

  const re = await fresh.add({ ...entry('h1', 7683, 'renamed', fp('c')), sessionToken: 'new' })
  t.equal(re.id, a.id, 're-pairing keeps the id')
  t.equal(re.name, 'box', 'and the local name')
  t.equal(re.fingerprint, fp('c'))
  t.equal(fresh.list().length, 3)

  // The same server (same host, same certificate) paired again on a new port replaces its entry;
  // the same certificate at another host is another entry.
  const moved = await fresh.add({ ...entry('h3', 7001, 'other', fp('b')), sessionToken: 'moved' })
  t.equal(moved.id, c.id, 'a new port of the same server keeps the entry')
  t.equal(moved.port, 7001)
  t.equal(fresh.findByAddress('h3', 7000), undefined, 'the old port is gone')
  t.equal(fresh.list().length, 3)
  const elsewhere = await fresh.add(entry('h3.vpn', 7001, 'other', fp('b')))
  t.not(elsewhere.id, c.id, 'another address of the same server is its own entry')
  t.equal(fresh.list().length, 4)
  await fresh.remove(elsewhere.id)

  const file = JSON.parse(await readFile(store.file, 'utf8'))
  t.equal(file.version, 1)
  t.equal(file.servers[0].session_token, 'new')

  // Another process's store object sees the change; mutations re-read first.
  await store.update(b.id, { lastConnectedAt: '2026-01-01T00:00:00.000Z' })
  await fresh.reload()
  t.equal(fresh.get(b.id).lastConnectedAt, '2026-01-01T00:00:00.000Z')
  t.equal(fresh.get(a.id).sessionToken, 'new', 'the other update was not lost')

  const removed = await fresh.remove('other')
  t.equal(removed.id, c.id)
  t.same(fresh.list().map(s => s.name), ['box', 'box-2'])
  t.notOk('sessionToken' in redactServer(fresh.get('box')), 'redacted view has no token')
})

t.test('a corrupt file is an error naming it and is not overwritten', async t => {
  const home = tempHome(t)
  await writeFile(join(home, 'servers.json'), '{ nope', { mode: 0o600 })
  await t.rejects(TrustStore.open(home), { code: 'ERR_CONFIG_TRUST_STORE', message: /servers\.json: is not valid JSON/ })
  await writeFile(join(home, 'servers.json'), '{"x":1}')
  await t.rejects(TrustStore.open(home), { message: /has no "servers" list/ })
  t.equal(await readFile(join(home, 'servers.json'), 'utf8'), '{"x":1}')
})

t.test('an existing home with loose modes is tightened: 0700 directory, 0600 file', async t => {
  const home = tempHome(t)
  await chmod(home, 0o755)
  await writeFile(join(home, 'servers.json'), '{"version":1,"servers":[]}\n', { mode: 0o644 })
  await chmod(join(home, 'servers.json'), 0o644)
  const store = await TrustStore.open(home)
  t.equal((await stat(home)).mode & 0o777, 0o700, 'directory tightened on open')
  await store.add(entry('h', 1, 'box'))
  t.equal((await stat(store.file)).mode & 0o777, 0o600, 'file rewritten 0600')
})

t.test('two writers on one home (as two processes would be) lose nothing; a stale lock is taken over', async t => {
  const home = tempHome(t)
  const a = await TrustStore.open(home)
  const b = await TrustStore.open(home)
  await Promise.all(Array.from({ length: 10 }, (_, i) => [a.add(entry(`a${i}`, 1, `a${i}`)), b.add(entry(`b${i}`, 1, `b${i}`))]).flat())
  await a.reload()
  t.equal(a.list().length, 20, 'every add survived (without the lock about half were overwritten)')
  t.notOk(existsSync(`${a.file}.lock`), 'the lock is released')

  // A lock left by a killed process (older than 10 s) does not block writers forever.
  await writeFile(`${a.file}.lock`, '99999')
  const old = new Date(Date.now() - 60_000)
  await utimes(`${a.file}.lock`, old, old)
  await b.add(entry('late', 1, 'late'))
  t.equal(b.list().length, 21)
  t.notOk(existsSync(`${a.file}.lock`))
})

t.test('client home: explicit, env, platform default', async t => {
  t.equal(resolveClientHome('/x/y'), '/x/y')
  t.equal(resolveClientHome(undefined, { CLAUDETTE_CLIENT_HOME: '/e' }), '/e')
  t.match(resolveClientHome(undefined, {}), /claudette$/)
})
