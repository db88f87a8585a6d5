import { createHash, randomUUID } from 'node:crypto'
import { newToken } from '../../core/files.js'
import type { Migration, Store } from '../store/types.js'
import { safeEqual } from './compare.js'
import type { DeviceSessionInfo, DeviceSessionStore, PairingOutcome, PairingTokenState, PairingTokenStore } from './types.js'

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
  // The database decides which pairing token pairs (PairingTokens). An upgraded home keeps its
  // token and its age; a home without a row adopts server.toml's token on the next start.
  `CREATE TABLE pairing_token (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     token_hash TEXT NOT NULL,          -- SHA-256 hex of the one pairing token that pairs
     since_ms INTEGER NOT NULL          -- when it became current (the pairing TTL counts from here)
   );
   INSERT INTO pairing_token (id, token_hash, since_ms) SELECT id, token_hash, first_seen_ms FROM pairing_token_age;
   DROP TABLE pairing_token_age;
   -- Tokens that were replaced: never adopted again from server.toml (a crash between a rotation's
   -- database write and its server.toml write leaves the old token in the file).
   CREATE TABLE retired_pairing_tokens (
     token_hash TEXT PRIMARY KEY,
     retired_ms INTEGER NOT NULL
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
export class DeviceSessions implements DeviceSessionStore {
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
    // last_seen is written only when the address changed or the stored value is older than
    // LAST_SEEN_RESOLUTION_MS: a write per authenticate is an fsync'd commit (~10 ms of blocked
    // event loop on a busy disk), and a reconnect storm of 200 devices would stall every other
    // request for seconds (bench/load/load.ts).
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

export type { PairingOutcome, PairingTokenState } from './types.js'

/** Retired pairing-token hashes kept (newest first); older ones are forgotten. */
const MAX_RETIRED = 1000

/**
 * The pairing token as SQLite knows it: the hash of the one current token (the only one that
 * pairs) and the hashes of the tokens it replaced. SQLite is the arbiter: a pairing creates its
 * session in the same IMMEDIATE transaction that checks the presented token is still current, and
 * a rotation replaces the hash (and, for `regenerate-token`, deletes every session) in one IMMEDIATE
 * transaction. Writers are serialised, across processes too, so every pairing happened either
 * before a rotation (and is revoked by it when the rotation revokes) or after it (and is refused).
 * server.toml only holds the raw token for the banner, `qr` and `show-connection-string`.
 */
export class PairingTokens implements PairingTokenStore {
  readonly #get
  readonly #set
  readonly #retire
  readonly #isRetired
  readonly #pruneRetired
  readonly #deleteSessions

  constructor (private readonly store: Store, private readonly sessions: DeviceSessionStore) {
    store.migrate('auth', AUTH_MIGRATIONS)
    const db = store.db
    this.#get = db.prepare<[], { token_hash: string, since_ms: number }>('SELECT token_hash, since_ms FROM pairing_token WHERE id = 1')
    this.#set = db.prepare('INSERT INTO pairing_token (id, token_hash, since_ms) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET token_hash = excluded.token_hash, since_ms = excluded.since_ms')
    this.#retire = db.prepare('INSERT INTO retired_pairing_tokens (token_hash, retired_ms) VALUES (?, ?) ON CONFLICT(token_hash) DO UPDATE SET retired_ms = excluded.retired_ms')
    this.#isRetired = db.prepare<[string], { n: number }>('SELECT 1 AS n FROM retired_pairing_tokens WHERE token_hash = ?')
    this.#pruneRetired = db.prepare(`DELETE FROM retired_pairing_tokens WHERE token_hash NOT IN (SELECT token_hash FROM retired_pairing_tokens ORDER BY retired_ms DESC LIMIT ${MAX_RETIRED})`)
    this.#deleteSessions = db.prepare('DELETE FROM device_sessions')
  }

  /** The current token's hash and since when it is current, or null before the first start. */
  current (): { hash: string, sinceMs: number } | null {
    const row = this.#get.get()
    return row ? { hash: row.token_hash, sinceMs: row.since_ms } : null
  }

  /** True when `token` is the current pairing token (compared in constant time, by hash). */
  matches (token: string): boolean {
    const row = this.#get.get()
    return row !== undefined && safeEqual(hashToken(token), row.token_hash)
  }

  /**
   * Pairs a device with `token`: in one transaction, checks it is the current token and not past
   * `ttlMs`, creates the session, and with `singleUse` replaces the token. An expired token is
   * replaced too (in the same transaction) and pairs nothing.
   */
  pair (token: string, name: string, address: string | null, opts: { ttlMs: number, singleUse: boolean }): PairingOutcome {
    // A wrong token (the common case for an attacker) costs a read, not a write transaction.
    if (!this.matches(token)) return { ok: false }
    return this.store.durably((): PairingOutcome => {
      const row = this.#get.get()
      if (!row || !safeEqual(hashToken(token), row.token_hash)) return { ok: false }
      const now = Date.now()
      if (opts.ttlMs > 0 && now - row.since_ms >= opts.ttlMs) return { ok: false, next: this.#replace(row.token_hash, now) }
      const { session, token: sessionToken } = this.sessions.create(name, address)
      return opts.singleUse
        ? { ok: true, session, token: sessionToken, next: this.#replace(row.token_hash, now) }
        : { ok: true, session, token: sessionToken }
    })
  }

  /**
   * Replaces the current token with a new one, in one transaction. `revokeSessions` also deletes
   * every device session (regenerate-token). With `ifCurrent`, does nothing (returns null) unless
   * that hash is still the current one, so a rotation decided on stale knowledge (an expiry seen
   * by a timer) never undoes another process's rotation.
   */
  rotate (opts: { revokeSessions: boolean, ifCurrent?: string }): { token: string, revoked: number } | null {
    return this.store.durably(() => {
      const row = this.#get.get()
      if (opts.ifCurrent !== undefined && row?.token_hash !== opts.ifCurrent) return null
      const token = this.#replace(row?.token_hash ?? null, Date.now())
      const revoked = opts.revokeSessions ? this.#deleteSessions.run().changes : 0
      return { token, revoked }
    })
  }

  /**
   * Squares the token server.toml holds with the database (server start, and whenever the file
   * changes): the current one is `current`; one that was replaced is `retired` and must never pair
   * again (server.toml was left behind by a crash between the two writes of a rotation, or lost a
   * race with one); any other token (first start, an upgraded home, a hand edit) is `adopted` as
   * the current one. Adopting does not revoke sessions, as editing the file never did.
   */
  reconcile (fileToken: string): PairingTokenState {
    return this.store.durably((): PairingTokenState => {
      const hash = hashToken(fileToken)
      const row = this.#get.get()
      if (row && safeEqual(hash, row.token_hash)) return { state: 'current', sinceMs: row.since_ms }
      if (this.#isRetired.get(hash)) return { state: 'retired' }
      const now = Date.now()
      if (row) this.#retire.run(row.token_hash, now)
      this.#set.run(hash, now)
      return { state: 'adopted', sinceMs: now }
    })
  }

  /** Makes a new token current (inside a transaction), retiring `previous`. Returns the raw token. */
  #replace (previous: string | null, now: number): string {
    const token = newToken()
    if (previous !== null) {
      this.#retire.run(previous, now)
      this.#pruneRetired.run()
    }
    this.#set.run(hashToken(token), now)
    return token
  }
}
