import { createHash, randomUUID } from 'node:crypto'
import { newToken } from '../../core/files.js'
import type { Migration, Store } from '../store/types.js'
import type { DeviceSessionInfo } from './types.js'

export const AUTH_MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE device_sessions (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,   -- SHA-256 hex of the session token; the token itself is never stored
     created_at TEXT NOT NULL,
     last_seen TEXT NOT NULL,
     last_address TEXT
   )`,
  // When the server first saw the current pairing token (SHA-256 only, like session tokens), so
  // a pairing TTL counts from then across restarts instead of starting over with every run.
  `CREATE TABLE pairing_token_age (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     token_hash TEXT NOT NULL,
     first_seen_ms INTEGER NOT NULL
   )`,
]

export const hashToken = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex')
/** last_seen is kept to this resolution (a device seen again from the same address sooner is not rewritten). */
export const LAST_SEEN_RESOLUTION_MS = 60_000
const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * Device sessions in SQLite. Lookup is by the SHA-256 of the presented token, an indexed
 * equality on a value an attacker cannot steer byte by byte, so timing reveals nothing useful.
 */
export class DeviceSessions {
  readonly #byHash
  readonly #insert
  readonly #touch
  readonly #list
  readonly #delete
  readonly #deleteAll
  readonly #ids

  constructor (private readonly store: Store) {
    store.migrate('auth', AUTH_MIGRATIONS)
    const db = store.db
    this.#byHash = db.prepare<[string], { id: string, name: string, last_seen: string, last_address: string | null }>('SELECT id, name, last_seen, last_address FROM device_sessions WHERE token_hash = ?')
    this.#insert = db.prepare('INSERT INTO device_sessions (id, name, token_hash, created_at, last_seen, last_address) VALUES (?, ?, ?, ?, ?, ?)')
    this.#touch = db.prepare('UPDATE device_sessions SET last_seen = ?, last_address = ? WHERE id = ?')
    this.#list = db.prepare<[], DeviceSessionInfo>('SELECT id, name, created_at, last_seen, last_address FROM device_sessions ORDER BY created_at, id')
    this.#delete = db.prepare('DELETE FROM device_sessions WHERE id = ?')
    this.#deleteAll = db.prepare('DELETE FROM device_sessions')
    this.#ids = db.prepare<[], { id: string }>('SELECT id FROM device_sessions')
  }

  /** Creates a session and returns its token: the only time the raw token exists server-side. */
  create (name: string, address: string | null): { session: DeviceSessionInfo, token: string } {
    const token = newToken()
    const now = nowIso()
    const session = { id: randomUUID(), name, created_at: now, last_seen: now, last_address: address }
    // A pairing and a revocation are on disk before anyone hears of them (power loss included).
    this.store.durably(() => this.#insert.run(session.id, name, hashToken(token), now, now, address))
    return { session, token }
  }

  /** Finds the session for a token and records that it was seen. */
  verify (token: string, address: string | null): { id: string, name: string } | null {
    const row = this.#byHash.get(hashToken(token))
    if (!row) return null
    // Reliability fix (issue 10, found by bench/load/load.ts): every authenticate used to write
    // last_seen in its own fsync'd commit, ~10 ms of blocked event loop per connection on a busy
    // disk, so a reconnect storm of 200 devices stalled every other request for seconds. It is
    // written when the address changed or the stored value is older than LAST_SEEN_RESOLUTION_MS.
    const now = nowIso()
    if (row.last_address !== address || !(Date.parse(now) - Date.parse(row.last_seen) < LAST_SEEN_RESOLUTION_MS)) {
      this.#touch.run(now, address, row.id)
    }
    return { id: row.id, name: row.name }
  }

  list (): DeviceSessionInfo[] { return this.#list.all() }
  ids (): Set<string> { return new Set(this.#ids.all().map(r => r.id)) }

  /** Accepts a full id or a unique prefix of at least 4 characters. */
  resolveId (idOrPrefix: string): string | null {
    const all = this.#ids.all().map(r => r.id)
    if (all.includes(idOrPrefix)) return idOrPrefix
    if (idOrPrefix.length < 4) return null
    const matches = all.filter(id => id.startsWith(idOrPrefix))
    return matches.length === 1 ? matches[0]! : null
  }

  revoke (id: string): boolean { return this.store.durably(() => this.#delete.run(id).changes > 0) }
  revokeAll (): number { return this.store.durably(() => this.#deleteAll.run().changes) }
}

/** When the server first saw a pairing token: one row, for the current token. */
export class PairingTokenAge {
  readonly #get
  readonly #set

  constructor (store: Store) {
    store.migrate('auth', AUTH_MIGRATIONS)
    this.#get = store.db.prepare<[], { token_hash: string, first_seen_ms: number }>('SELECT token_hash, first_seen_ms FROM pairing_token_age WHERE id = 1')
    this.#set = store.db.prepare('INSERT INTO pairing_token_age (id, token_hash, first_seen_ms) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET token_hash = excluded.token_hash, first_seen_ms = excluded.first_seen_ms')
  }

  /** When `token` was first seen: the recorded time if it is the recorded token, else `now` (recorded). */
  firstSeen (token: string, now: number): number {
    const hash = hashToken(token)
    const row = this.#get.get()
    if (row && row.token_hash === hash) return Math.min(row.first_seen_ms, now)
    this.#set.run(hash, now)
    return now
  }
}
