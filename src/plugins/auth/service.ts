import { stat } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import type { Disposable } from '../../core/lifecycle.js'
import type { AuthOutcome, AuthRequestInfo, Authenticator } from '../../core/rpc/auth.js'
import { CloseCode, type ConnectionHub } from '../../core/rpc/hub.js'
import { newToken } from '../../core/files.js'
import { stripControls } from '../../core/text.js'
import { CORE, token, type ServerFacts } from '../../core/tokens.js'
import { STORE, type ConfigFile, type Store } from '../store/types.js'
import { safeEqual } from './compare.js'
import type { AuthOptions } from './options.js'
import { AUTH } from './types.js'
import { PairingTokenAge, type DeviceSessions } from './sessions.js'

export const AUTH_OPTIONS = token<AuthOptions>('AuthOptions')

const MAX_CLIENT_NAME = 100
const MAX_TRACKED_IPS = 10_000

interface IpRecord { failures: number[], lockedUntil: number }

/**
 * Pairing and session authentication, per-IP failure limits, and live reload of changes
 * the CLI makes to the same home (new pairing token, revoked sessions) while we run.
 */
@injectable()
export class AuthService implements Authenticator, Disposable {
  #pairingToken = ''
  /** When the current pairing token was first seen (for the pairing TTL; kept across restarts). */
  #pairingSince = 0
  readonly #tokenAge: PairingTokenAge
  /** Bumped by every in-memory rotation: a config read that started before one is stale. */
  #rotations = 0
  #configStamp = ''
  #dataVersion = -1
  #timer: NodeJS.Timeout | undefined
  #reloading = false
  /** Config reads and writes run one after another, so a reload never undoes a rotation. */
  #configChain: Promise<void> = Promise.resolve()
  readonly #ips = new Map<string, IpRecord>()

  constructor (
    @inject(AUTH.Sessions) private readonly sessions: DeviceSessions,
    @inject(STORE.Store) private readonly store: Store,
    @inject(STORE.Config) private readonly config: ConfigFile,
    @inject(CORE.Hub) private readonly hub: ConnectionHub,
    @inject(CORE.Facts) private readonly facts: ServerFacts,
    @inject(CORE.Log) private readonly log: FastifyBaseLogger,
    @inject(AUTH_OPTIONS) private readonly opts: AuthOptions,
  ) {
    this.#tokenAge = new PairingTokenAge(store)
  }

  /** The current pairing token (for the banner and connection string only; never logged). */
  get pairingToken (): string { return this.#pairingToken }

  async start (): Promise<void> {
    await this.#reloadConfig(true)
    this.#dataVersion = this.store.dataVersion()
    this.#timer = setInterval(() => { void this.#tick() }, this.opts.reloadIntervalMs).unref()
  }

  admit (info: AuthRequestInfo): string | null {
    const rec = this.#ips.get(info.remoteAddress)
    if (rec && rec.lockedUntil > Date.now()) return 'too many failed attempts; try again later'
    return null
  }

  recordFailure (info: AuthRequestInfo): void {
    const now = Date.now()
    let rec = this.#ips.get(info.remoteAddress)
    if (!rec) {
      if (this.#ips.size >= MAX_TRACKED_IPS) this.#prune(now)
      // Still full (a flood from very many addresses): forget the oldest record that is not locked
      // out (or the oldest at all), bounding memory without lifting lockouts cheaply.
      if (this.#ips.size >= MAX_TRACKED_IPS) {
        let victim: string | undefined
        for (const [ip, r] of this.#ips) if (r.lockedUntil <= now) { victim = ip; break }
        this.#ips.delete(victim ?? this.#ips.keys().next().value!)
      }
      rec = { failures: [], lockedUntil: 0 }
      this.#ips.set(info.remoteAddress, rec)
    }
    rec.failures.push(now)
    rec.failures = rec.failures.filter(t => now - t < this.opts.failureWindowMs)
    if (rec.failures.length >= this.opts.maxFailuresPerIp && rec.lockedUntil <= now) {
      rec.lockedUntil = now + this.opts.lockoutMs
      rec.failures = []
      this.log.warn({ remoteAddress: info.remoteAddress, lockoutMs: this.opts.lockoutMs }, 'too many failed auth attempts; address locked out')
      // Close this address's other unauthenticated connections too: they are part of the same attempt.
      for (const c of this.hub.all()) {
        if (c.remoteAddress === info.remoteAddress && c.session === null) c.close(CloseCode.PolicyViolation, 'too many failed attempts')
      }
    }
  }

  async authenticate (params: unknown, info: AuthRequestInfo): Promise<AuthOutcome> {
    const p = params !== null && typeof params === 'object' && !Array.isArray(params) ? params as Record<string, unknown> : {}
    if (typeof p.session_token === 'string' && p.session_token.length > 0 && p.session_token.length <= 256) {
      const s = this.sessions.verify(p.session_token, info.remoteAddress)
      if (s) return { ok: true, session: s, result: { server_name: this.facts.name } }
    }
    // A bad session token falls through to the pairing token in the same request (reference rule).
    if (typeof p.pairing_token === 'string' && this.#pairingToken !== '' && safeEqual(p.pairing_token, this.#pairingToken)) {
      if (this.#pairingExpired(Date.now())) {
        void this.#rotatePairingToken('expired')
        return { ok: false }
      }
      const raw = typeof p.client_name === 'string' ? stripControls(p.client_name) : ''
      const name = raw === '' ? 'Unknown client' : [...raw].slice(0, MAX_CLIENT_NAME).join('')
      const { session, token } = this.sessions.create(name, info.remoteAddress)
      this.log.info({ sessionId: session.id, clientName: name, remoteAddress: info.remoteAddress }, 'paired device')
      // Rotated in memory synchronously, before any other request can be handled: one pairing
      // per token. The reply waits until server.toml no longer holds the used token, so a crash
      // right after this pairing cannot bring it back on the next start.
      if (this.opts.singleUsePairing) await this.#rotatePairingToken('used')
      return { ok: true, session: { id: session.id, name }, result: { server_name: this.facts.name, session_token: token } }
    }
    return { ok: false }
  }

  isValid (sessionId: string): boolean { return this.sessions.ids().has(sessionId) }

  /** Revokes one session and closes its live connections. */
  revoke (sessionId: string): boolean {
    const ok = this.sessions.revoke(sessionId)
    if (ok) this.#afterRevocation(new Set([sessionId]))
    return ok
  }

  /** Re-reads server.toml and checks for revoked sessions now (also runs on a timer). */
  async sync (): Promise<void> { await this.#tick() }

  async #tick (): Promise<void> {
    if (this.#reloading) return
    this.#reloading = true
    try {
      if (this.#pairingExpired(Date.now())) void this.#rotatePairingToken('expired')
      await this.#serially(() => this.#reloadConfig(false))
      const v = this.store.dataVersion()
      if (v !== this.#dataVersion) {
        this.#dataVersion = v
        const live = this.sessions.ids()
        const gone = new Set<string>()
        for (const c of this.hub.authenticated()) if (!live.has(c.session!.id)) gone.add(c.session!.id)
        if (gone.size > 0) this.#afterRevocation(gone)
      }
      this.#prune(Date.now())
    } catch (err) {
      this.log.warn({ err }, 'live reload of auth state failed')
    } finally {
      this.#reloading = false
    }
  }

  #afterRevocation (ids: Set<string>): void {
    for (const id of ids) {
      const n = this.hub.closeSession(id, CloseCode.SessionRevoked, 'session revoked')
      this.log.info({ sessionId: id, connections: n }, 'session revoked')
    }
  }

  async #reloadConfig (force: boolean): Promise<void> {
    const rotations = this.#rotations
    const stamp = await this.#stamp()
    if (stamp === null) return
    if (!force && stamp === this.#configStamp) return
    const cfg = await this.config.read()
    // A rotation while the file was being read (a pairing with single-use pairing, an expiry):
    // the file still holds the token it replaced, which must not come back. The rotation's own
    // write follows in the chain and brings the file up to date.
    if (rotations !== this.#rotations) return
    const changed = this.#pairingToken !== '' && cfg.auth.pairing_token !== this.#pairingToken
    this.#pairingToken = cfg.auth.pairing_token
    if ((changed || this.#pairingSince === 0) && this.#pairingToken !== '') this.#pairingSince = this.#tokenAge.firstSeen(this.#pairingToken, Date.now())
    this.#configStamp = stamp
    if (changed) this.log.info('pairing token changed on disk; the old one no longer pairs')
  }

  async #stamp (): Promise<string | null> {
    try {
      const st = await stat(this.config.file)
      return `${st.ino}:${st.size}:${st.mtimeMs}`
    } catch { return null }
  }

  #serially (fn: () => Promise<void>): Promise<void> {
    const run = this.#configChain.then(fn)
    this.#configChain = run.catch(() => {})
    return run
  }

  #pairingExpired (now: number): boolean {
    return this.opts.pairingTtlMs > 0 && this.#pairingToken !== '' && now - this.#pairingSince >= this.opts.pairingTtlMs
  }

  /**
   * Replaces the pairing token in memory at once, then in server.toml (so `qr` and
   * `show-connection-string` show the new one). A token the CLI wrote meanwhile wins.
   */
  #rotatePairingToken (why: 'used' | 'expired'): Promise<void> {
    const old = this.#pairingToken
    const next = newToken()
    this.#pairingToken = next
    this.#rotations++
    this.#pairingSince = this.#tokenAge.firstSeen(next, Date.now())
    this.log.info({ reason: why }, why === 'used'
      ? 'pairing token used; replaced by a new one (single-use pairing; `claudette-server qr` shows it)'
      : 'pairing token expired; replaced by a new one (`claudette-server qr` shows it)')
    return this.#serially(async () => {
      const cfg = await this.config.read()
      if (cfg.auth.pairing_token !== old) return // changed by the CLI meanwhile: the reload adopts it
      cfg.auth.pairing_token = next
      await this.config.write(cfg)
      this.#configStamp = (await this.#stamp()) ?? ''
    }).catch(err => { this.log.warn({ err }, 'could not save the new pairing token; it is valid until the server stops') })
  }

  /** Resolves when pending config writes (pairing token rotation) are on disk. */
  async flush (): Promise<void> { await this.#configChain }

  #prune (now: number): void {
    for (const [ip, rec] of this.#ips) {
      if (rec.lockedUntil <= now && rec.failures.every(t => now - t >= this.opts.failureWindowMs)) this.#ips.delete(ip)
    }
  }

  async dispose (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#configChain
  }
}
