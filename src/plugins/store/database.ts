import { closeSync, chmodSync, openSync } from 'node:fs'
import type SqliteModule from 'better-sqlite3'
import { loadNative, type NativePackage } from '../../core/native.js'
import { StoreOpenError } from './errors.js'
import type { Database, Migration, Store } from './types.js'

export const DB_FILE = 'claudette.db'

/**
 * better-sqlite3, loaded when a database is first opened (src/core/native.ts). Requiring the
 * package does not load its binary; opening an in-memory database does.
 */
const SQLITE: NativePackage<typeof SqliteModule> = {
  name: 'better-sqlite3',
  impact: 'the server cannot run without its database',
  fix: 'its install script must run to fetch or build the binary: npm rebuild better-sqlite3 ' +
    '(where npm allowScripts blocks it, npm install-scripts approve better-sqlite3 first; pnpm: pnpm approve-builds; ' +
    'building needs python3, make and a C++ compiler)',
  probe: Sqlite => { new Sqlite(':memory:').close() },
}

export interface OpenStoreOptions {
  /**
   * `FULL` (default): every commit is fsynced before it returns, so neither kill -9 nor power loss
   * loses it. `NORMAL` (what the server uses): in WAL mode a commit is durable against a crash or
   * kill -9 of the process at once, and against power loss from the next checkpoint on; writes
   * that must survive power loss at once go through `durably()`.
   */
  synchronous?: 'FULL' | 'NORMAL'
}

/**
 * Opens (creating 0600) the SQLite database in WAL mode.
 *
 * Why the server runs with synchronous=NORMAL: better-sqlite3 runs on the main thread, and with
 * FULL every commit waited for an fsync there. On ext4 (data=ordered) an fsync also waits for the
 * journal to take everything else written meanwhile, e.g. git writing a checkpoint's objects, so
 * under the load suite single agent-message inserts blocked the event loop for 50-600 ms
 * (docs/performance.md). Device sessions (created, revoked) still use FULL through durably().
 */
export function openStore (file: string, opts: OpenStoreOptions = {}): Store & { close (): void } {
  const synchronous = opts.synchronous ?? 'FULL'
  const Sqlite = loadNative(SQLITE)
  let db: Database
  try {
    closeSync(openSync(file, 'a', 0o600)) // create with the right mode; SQLite's -wal/-shm copy it
    chmodSync(file, 0o600)
    db = new Sqlite(file)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${synchronous}`)
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000') // the CLI and a running server share the file
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      owner TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`)
  } catch (err) {
    throw new StoreOpenError(file, `cannot open database: ${(err as Error).message}`, { cause: err })
  }
  const getVersion = db.prepare<[string], { version: number }>('SELECT version FROM schema_migrations WHERE owner = ?')
  const setVersion = db.prepare('INSERT INTO schema_migrations (owner, version) VALUES (?, ?) ON CONFLICT(owner) DO UPDATE SET version = excluded.version, applied_at = datetime(\'now\')')
  let closed = false
  return {
    db,
    file,
    migrate (owner: string, steps: readonly Migration[]): void {
      const current = getVersion.get(owner)?.version ?? 0
      if (current > steps.length) {
        throw new StoreOpenError(file, `database schema of '${owner}' is version ${current}, newer than this server knows (${steps.length}); upgrade claudette-server`)
      }
      for (let v = current; v < steps.length; v++) {
        const step = steps[v]!
        db.transaction(() => {
          if (typeof step === 'string') db.exec(step)
          else step(db)
          setVersion.run(owner, v + 1)
        }).immediate()
      }
    },
    dataVersion: () => db.pragma('data_version', { simple: true }) as number,
    synchronous,
    durably<T> (fn: () => T): T {
      if (synchronous === 'FULL' || db.inTransaction) return db.transaction(fn).immediate()
      db.pragma('synchronous = FULL')
      try { return db.transaction(fn).immediate() } finally { db.pragma(`synchronous = ${synchronous}`) }
    },
    close () {
      if (closed) return
      closed = true
      try { db.pragma('wal_checkpoint(TRUNCATE)') } catch { /* another process may hold it */ }
      db.close()
    },
  }
}
