// The store: SQLite in WAL mode with synchronous=FULL (NORMAL for the server, with durably()), created 0600, per-owner versioned
// migrations (each step once, in its own transaction, refused when the file is newer than this
// server), data_version for live reload, and a corrupt file as a clear error that leaves it alone.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import t from 'tap'
import { StoreOpenError } from '../../../src/index.js'
import { openStore } from '../../../src/plugins/store/index.js'
import { tempHome } from '../../helpers/server.js'

const mode = (p: string): number => statSync(p).mode & 0o777

t.test('created 0600, WAL, synchronous=FULL, foreign keys and a busy timeout', async t => {
  const file = join(tempHome(t), 'claudette.db')
  const old = process.umask(0o000) // even with a permissive umask
  let store
  try { store = openStore(file) } finally { process.umask(old) }
  t.teardown(() => store.close())
  t.equal(mode(file), 0o600)
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(store.db.pragma('synchronous', { simple: true }), 2, 'FULL')
  t.equal(store.db.pragma('foreign_keys', { simple: true }), 1)
  t.equal(store.db.pragma('busy_timeout', { simple: true }), 5000)
  store.db.exec('CREATE TABLE t (x)')
  for (const f of [`${file}-wal`, `${file}-shm`]) t.equal(mode(f), 0o600, `${f} inherits 0600`)
})

t.test('synchronous=NORMAL (the server): durably() commits one transaction with FULL and restores NORMAL', async t => {
  const store = openStore(join(tempHome(t), 'claudette.db'), { synchronous: 'NORMAL' })
  t.teardown(() => store.close())
  const level = (): unknown => store.db.pragma('synchronous', { simple: true })
  t.equal(store.synchronous, 'NORMAL')
  t.equal(level(), 1, 'NORMAL by default')
  store.db.exec('CREATE TABLE t (x)')
  const seen = store.durably(() => {
    store.db.prepare('INSERT INTO t (x) VALUES (1)').run()
    return [level(), store.db.inTransaction]
  })
  t.same(seen, [2, true], 'inside: FULL, in a transaction')
  t.equal(level(), 1, 'NORMAL again after the commit')
  t.throws(() => store.durably(() => { store.db.prepare('INSERT INTO t (x) VALUES (2)').run(); throw new Error('boom') }), /boom/)
  t.equal(level(), 1, 'NORMAL again after a rollback')
  t.same(store.db.prepare('SELECT x FROM t').all(), [{ x: 1 }], 'the failed transaction was rolled back')
  const full = openStore(join(tempHome(t), 'other.db'))
  t.teardown(() => full.close())
  t.equal(full.synchronous, 'FULL')
  full.db.exec('CREATE TABLE t (x)')
  t.equal(full.durably(() => full.db.prepare('INSERT INTO t (x) VALUES (3)').run().changes), 1, 'on a FULL connection durably() is a plain transaction')
})

t.test('migrations: per owner, each step once across reopens, appended steps applied later', async t => {
  const file = join(tempHome(t), 'claudette.db')
  let runs = 0
  const v1 = ['CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)', (db: Sqlite.Database) => { runs++; db.prepare('INSERT INTO a (v) VALUES (?)').run('seed') }]
  let store = openStore(file)
  store.migrate('alpha', v1)
  store.migrate('alpha', v1)
  store.migrate('beta', ['CREATE TABLE b (id INTEGER)'])
  store.close()
  store.close() // idempotent

  store = openStore(file)
  t.teardown(() => store.close())
  store.migrate('alpha', v1)
  t.equal(runs, 1, 'a step runs once, also across reopens')
  store.migrate('alpha', [...v1, 'ALTER TABLE a ADD COLUMN w TEXT'])
  const versions = store.db.prepare('SELECT owner, version FROM schema_migrations ORDER BY owner').all()
  t.same(versions, [{ owner: 'alpha', version: 3 }, { owner: 'beta', version: 1 }])
  t.same(store.db.prepare('SELECT v, w FROM a').all(), [{ v: 'seed', w: null }])
})

t.test('a failing step rolls back alone; the next open retries it', async t => {
  const file = join(tempHome(t), 'claudette.db')
  const store = openStore(file)
  t.teardown(() => store.close())
  const steps = [
    'CREATE TABLE ok (id INTEGER)',
    (db: Sqlite.Database) => { db.exec('CREATE TABLE half (id INTEGER)'); throw new Error('step 2 failed') },
  ]
  t.throws(() => store.migrate('gamma', steps), /step 2 failed/)
  const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map(r => r.name)
  t.ok(tables.includes('ok'), 'the step before it is committed')
  t.notOk(tables.includes('half'), 'the failing step left nothing behind')
  t.same(store.db.prepare("SELECT version FROM schema_migrations WHERE owner = 'gamma'").get(), { version: 1 })
  store.migrate('gamma', [steps[0]!, 'CREATE TABLE half (id INTEGER)'])
  t.same(store.db.prepare("SELECT version FROM schema_migrations WHERE owner = 'gamma'").get(), { version: 2 }, 'a fixed step applies')
})

t.test('a database from a newer server is refused, not downgraded', async t => {
  const file = join(tempHome(t), 'claudette.db')
  const store = openStore(file)
  t.teardown(() => store.close())
  store.migrate('delta', ['CREATE TABLE x (id INTEGER)', 'CREATE TABLE y (id INTEGER)'])
  const err = (() => { try { store.migrate('delta', ['CREATE TABLE x (id INTEGER)']) } catch (e) { return e } })() as StoreOpenError
  t.type(err, StoreOpenError)
  t.equal(err.code, 'ERR_STORE_OPEN')
  t.equal(err.message, `${file}: database schema of 'delta' is version 2, newer than this server knows (1); upgrade claudette-server`)
})

t.test('a corrupt database file is ERR_STORE_OPEN naming the file, and the file is left alone', async t => {
  const file = join(tempHome(t), 'claudette.db')
  const junk = 'this is not a database, but it is somebody\'s file\n'.repeat(200)
  writeFileSync(file, junk)
  const err = (() => { try { openStore(file) } catch (e) { return e } })() as StoreOpenError
  t.type(err, StoreOpenError)
  t.equal(err.code, 'ERR_STORE_OPEN')
  t.equal(err.message, `${file}: cannot open database: file is not a database`)
  t.equal(readFileSync(file, 'utf8'), junk)
})

t.test('dataVersion changes when another connection commits (live reload), not for our own writes', async t => {
  const file = join(tempHome(t), 'claudette.db')
  const store = openStore(file)
  t.teardown(() => store.close())
  store.migrate('eps', ['CREATE TABLE e (id INTEGER)'])
  const v0 = store.dataVersion()
  store.db.exec('INSERT INTO e VALUES (1)')
  t.equal(store.dataVersion(), v0, 'own commit')
  const other = new Sqlite(file)
  other.exec('INSERT INTO e VALUES (2)')
  other.close()
  t.not(store.dataVersion(), v0, 'another process/connection committed')
})
