import { randomBytes } from 'node:crypto'
import { open, readFile, rm, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { join, resolve } from 'node:path'
import envPaths from 'env-paths'
import { ensurePrivateDir, writeFileAtomic } from '../core/files.js'
import { expandTilde } from '../core/home.js'
import { ServerNotFoundError, TrustStoreError } from './errors.js'

/** A paired server as the trust store keeps it (like an SSH known_hosts entry plus a credential). */
export interface TrustedServer {
  /** Stable local id (12 hex characters). */
  id: string
  /** Local display name, unique in the store (the server's name at pairing, suffixed if taken). */
  name: string
  host: string
  port: number
  /** Pinned SHA-256 of the server's leaf certificate (64 lowercase hex). */
  fingerprint: string
  /** The device session token. Secret: never printed or logged. */
  sessionToken: string
  /** The server's own name, as it answered `authenticate`. */
  serverName: string
  /** ISO timestamps. */
  pairedAt: string
  lastConnectedAt?: string
  /** The workspace the last `claudette term` on this server opened (what `term` with no flags reopens). */
  lastWorkspaceId?: string
}

/** A TrustedServer without its secret: what `claudette list --json` prints. */
export type TrustedServerInfo = Omit<TrustedServer, 'sessionToken'>

export const redactServer = ({ sessionToken: _secret, ...rest }: TrustedServer): TrustedServerInfo => rest

export const TRUST_FILE = 'servers.json'
const FORMAT_VERSION = 1

/**
 * The client home: explicit value, else $CLAUDETTE_CLIENT_HOME, else the platform config dir
 * (`~/.config/claudette`, `~/Library/Preferences/claudette`, `%APPDATA%\claudette`).
 */
export function resolveClientHome (explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(expandTilde(explicit))
  if (env.CLAUDETTE_CLIENT_HOME) return resolve(expandTilde(env.CLAUDETTE_CLIENT_HOME))
  return envPaths('claudette', { suffix: '' }).config
}

/**
 * The client's trust store: `<home>/servers.json` (0600, in a 0700 directory, written
 * atomically). Every mutation re-reads the file first, so two CLI processes do not undo each
 * other's changes. A file that does not parse is an error and is never overwritten.
 */
export class TrustStore {
  #servers: TrustedServer[] = []
  #chain: Promise<unknown> = Promise.resolve()

  private constructor (readonly home: string, readonly file: string) {}

  /** Opens (and creates the directory of) the store in `home` (see resolveClientHome). */
  static async open (home?: string, env: NodeJS.ProcessEnv = process.env): Promise<TrustStore> {
    const dir = resolveClientHome(home, env)
    await ensurePrivateDir(dir)
    const store = new TrustStore(dir, join(dir, TRUST_FILE))
    await store.reload()
    return store
  }

  /**
   * The paired servers of `home` without opening the store: nothing is created, and a home or
   * file that does not exist (or cannot be read) is an empty list. For shell completion, which
   * runs at every TAB with whatever `--home` word is on the command line.
   */
  static async read (home?: string, env: NodeJS.ProcessEnv = process.env): Promise<TrustedServer[]> {
    const dir = resolveClientHome(home, env)
    const store = new TrustStore(dir, join(dir, TRUST_FILE))
    try { await store.reload() } catch { return [] }
    return store.list()
  }

  /** Re-reads the file. */
  async reload (): Promise<void> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') { this.#servers = []; return }
      throw new TrustStoreError(this.file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
    }
    let doc: unknown
    try { doc = JSON.parse(text) } catch (err) {
      throw new TrustStoreError(this.file, `is not valid JSON (${(err as Error).message}); fix or remove it`, { cause: err })
    }
    const servers = (doc as { servers?: unknown })?.servers
    if (!Array.isArray(servers)) throw new TrustStoreError(this.file, 'has no "servers" list; fix or remove it')
    this.#servers = servers.filter(isTrustedServer)
  }

  /** All paired servers (copies; they include session tokens: do not print them). */
  list (): TrustedServer[] { return this.#servers.map(s => ({ ...s })) }

  /** Finds by id, name, case-insensitive name, or a unique id prefix of 4+ characters. */
  get (query: string): TrustedServer {
    const q = query.trim()
    const exact = this.#servers.find(s => s.id === q) ?? this.#servers.find(s => s.name === q)
    if (exact) return { ...exact }
    const ci = this.#servers.filter(s => s.name.toLowerCase() === q.toLowerCase())
    if (ci.length === 1) return { ...ci[0]! }
    const byPrefix = q.length >= 4 ? this.#servers.filter(s => s.id.startsWith(q.toLowerCase())) : []
    if (byPrefix.length === 1) return { ...byPrefix[0]! }
    if (ci.length > 1 || byPrefix.length > 1) {
      throw new ServerNotFoundError(q, `'${q}' matches several paired servers (${[...ci, ...byPrefix].map(s => s.id).join(', ')}); use the id`)
    }
    throw new ServerNotFoundError(q)
  }

  /** The entry for host:port, if any. */
  findByAddress (host: string, port: number): TrustedServer | undefined {
    const s = this.#servers.find(x => x.host.toLowerCase() === host.toLowerCase() && x.port === port)
    return s ? { ...s } : undefined
  }

  /** The entry `add` would replace for this host:port and certificate, if any. */
  findReplaced (host: string, port: number, fingerprint: string): TrustedServer | undefined {
    const s = replacedBy(this.#servers, host, port, fingerprint)
    return s ? { ...s } : undefined
  }

  /**
   * Adds a server, or replaces the entry with the same host:port, or else the one with the same
   * host and certificate fingerprint (the same server on a new port, e.g. one run with
   * `--port 0`): re-pairing keeps its id and local name. The local name is made unique. The same
   * fingerprint at another host stays a separate entry: one server paired over two networks
   * (LAN and VPN) has one entry per address.
   */
  add (entry: Omit<TrustedServer, 'id' | 'name' | 'pairedAt'> & { name?: string }): Promise<TrustedServer> {
    return this.#mutate(servers => {
      const old = replacedBy(servers, entry.host, entry.port, entry.fingerprint)
      const taken = new Set(servers.filter(s => s !== old).map(s => s.name.toLowerCase()))
      const base = old?.name ?? safeName(entry.name ?? entry.serverName)
      let name = base
      for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}-${i}`
      const rec: TrustedServer = {
        id: old?.id ?? randomBytes(6).toString('hex'),
        name,
        host: entry.host,
        port: entry.port,
        fingerprint: entry.fingerprint,
        sessionToken: entry.sessionToken,
        serverName: entry.serverName,
        pairedAt: new Date().toISOString(),
        ...(entry.lastConnectedAt ? { lastConnectedAt: entry.lastConnectedAt } : {}),
      }
      const next = old ? servers.map(s => s === old ? rec : s) : [...servers, rec]
      return [next, { ...rec }]
    })
  }

  /**
   * Takes `<file>.lock` (created exclusively), so that the read-modify-write cycles of every
   * process using this home (two `claudette` commands, a `term` recording its last connection)
   * run one at a time and none undoes another's change. A lock older than STALE_LOCK_MS (a
   * killed process) is taken over; after LOCK_WAIT_MS the mutation fails with TrustStoreError.
   */
  async #lock (): Promise<() => Promise<void>> {
    const lockFile = `${this.file}.lock`
    const deadline = Date.now() + LOCK_WAIT_MS
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        const fh = await open(lockFile, 'wx', 0o600)
        await fh.writeFile(String(process.pid))
        await fh.close()
        return () => rm(lockFile, { force: true })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new TrustStoreError(this.file, `cannot create its lock file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
        }
      }
      const age = await stat(lockFile).then(st => Date.now() - st.mtimeMs, () => 0)
      if (age > STALE_LOCK_MS) { await rm(lockFile, { force: true }); continue }
      if (Date.now() > deadline) throw new TrustStoreError(this.file, `is locked by another claudette process (${lockFile}); try again, or remove the lock file if no claudette command is running`)
      await sleep(delay + Math.floor(Math.random() * delay))
    }
  }

  /** Updates fields of one entry (by id). Unknown ids are ignored (the entry was forgotten). */
  update (id: string, patch: Partial<Omit<TrustedServer, 'id'>>): Promise<void> {
    return this.#mutate(servers => [servers.map(s => s.id === id ? { ...s, ...patch } : s), undefined])
  }

  /** Removes one server (same lookup as get()); returns what was removed. */
  remove (query: string): Promise<TrustedServer> {
    return this.#mutate(servers => {
      this.#servers = servers
      const victim = this.get(query)
      return [servers.filter(s => s.id !== victim.id), victim]
    })
  }

  #mutate<T> (fn: (servers: TrustedServer[]) => [TrustedServer[], T]): Promise<T> {
    const run = async (): Promise<T> => {
      const unlock = await this.#lock()
      try {
        await this.reload()
        const [next, out] = fn(this.#servers)
        const doc = { version: FORMAT_VERSION, servers: next.map(toFile) }
        await writeFileAtomic(this.file, JSON.stringify(doc, null, 2) + '\n', 0o600)
        this.#servers = next
        return out
      } finally {
        await unlock()
      }
    }
    const p = this.#chain.then(run, run)
    this.#chain = p.catch(() => {})
    return p
  }
}

/** The entry at host:port, else the one at host with this certificate (the same server, new port). */
function replacedBy (servers: TrustedServer[], host: string, port: number, fingerprint: string): TrustedServer | undefined {
  const sameHost = (x: TrustedServer): boolean => x.host.toLowerCase() === host.toLowerCase()
  return servers.find(x => sameHost(x) && x.port === port) ?? servers.find(x => sameHost(x) && x.fingerprint === fingerprint)
}

/** How long a writer may hold the lock before others consider it dead (a killed process). */
const STALE_LOCK_MS = 10_000
const LOCK_WAIT_MS = 5_000

const toFile = (s: TrustedServer): Record<string, unknown> => ({
  id: s.id,
  name: s.name,
  host: s.host,
  port: s.port,
  fingerprint: s.fingerprint,
  session_token: s.sessionToken,
  server_name: s.serverName,
  paired_at: s.pairedAt,
  ...(s.lastConnectedAt ? { last_connected_at: s.lastConnectedAt } : {}),
  ...(s.lastWorkspaceId ? { last_workspace_id: s.lastWorkspaceId } : {}),
})

function isTrustedServer (x: unknown): x is TrustedServer {
  const o = x as Record<string, unknown>
  if (!o || typeof o !== 'object') return false
  // Map the file's snake_case onto the in-memory shape.
  Object.assign(o, {
    sessionToken: o.sessionToken ?? o.session_token,
    serverName: o.serverName ?? o.server_name ?? o.name,
    pairedAt: o.pairedAt ?? o.paired_at ?? '',
    ...(o.last_connected_at ? { lastConnectedAt: o.last_connected_at } : {}),
    ...(typeof o.last_workspace_id === 'string' ? { lastWorkspaceId: o.last_workspace_id } : {}),
  })
  for (const k of ['session_token', 'server_name', 'paired_at', 'last_connected_at', 'last_workspace_id']) delete o[k]
  return typeof o.id === 'string' && typeof o.name === 'string' && typeof o.host === 'string' &&
    typeof o.port === 'number' && typeof o.fingerprint === 'string' && /^[0-9a-f]{64}$/.test(o.fingerprint) &&
    typeof o.sessionToken === 'string'
}

/** A local name usable on the command line: no whitespace at the ends, no control characters. */
function safeName (name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 63)
  return clean === '' ? 'server' : clean
}
