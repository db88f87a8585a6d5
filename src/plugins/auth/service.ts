import { stat } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import { Emitter, type Disposable } from '../../core/lifecycle.js'
import type { AuthOutcome, AuthRequestInfo, Authenticator } from '../../core/rpc/auth.js'
import { CloseCode, type ConnectionHub } from '../../core/rpc/hub.js'
import { stripControls } from '../../core/text.js'
import { CORE, token, type ServerFacts } from '../../core/tokens.js'
import { STORE, type ConfigFile, type Store } from '../store/types.js'
import type { AuthOptions } from './options.js'
import {
  AUTH, type AuthFailure, type AuthLockout, type DeviceAuth, type DeviceSessionStore, type LiveAuthSettings, type PairingTokenStore, type RevokedBy,
} from './types.js'

export const AUTH_OPTIONS = token<AuthOptions>('AuthOptions')

const MAX_CLIENT_NAME = 100
const MAX_TRACKED_IPS = 10_000

interface IpRecord { failures: number[], lockedUntil: number }

/**
 * Pairing and session authentication, per-IP failure limits, and live reload of changes
 * the CLI makes to the same home (new pairing token, revoked sessions) while we run.
 */
@injectable()
export class AuthService implements DeviceAuth, Authenticator, Disposable {
  /**
   * The raw pairing token for the banner and connection string only (never logged). Whether a
   * token pairs is decided by the database (PairingTokens), never by this copy.
   */
  #pairingToken = ''
  #configStamp = ''
  #dataVersion = -1
  #timer: NodeJS.Timeout | undefined
  #reloading = false
  /** Config reads and writes run one after another, so a reload never undoes a rotation. */
  #configChain: Promise<void> = Promise.resolve()
  readonly #ips = new Map<string, IpRecord>()
  /** Every paired device's name by session id, to name devices in the audit log once they are revoked. */
  readonly #devices = new Map<string, string>()
  readonly #onDidFail = new Emitter<AuthFailure>()
  readonly #onDidLockOut = new Emitter<AuthLockout>()
  readonly onDidFail = this.#onDidFail.event
  readonly onDidLockOut = this.#onDidLockOut.event

  constructor (
    @inject(AUTH.Sessions) private readonly sessions: DeviceSessionStore,
    @inject(AUTH.PairingTokens) private readonly tokens: PairingTokenStore,
    @inject(STORE.Store) private readonly store: Store,
    @inject(STORE.Config) private readonly config: ConfigFile,
    @inject(CORE.Hub) private readonly hub: ConnectionHub,
    @inject(CORE.Facts) private readonly facts: ServerFacts,
    @inject(CORE.Log) private readonly log: FastifyBaseLogger,
    @inject(AUTH_OPTIONS) private opts: AuthOptions,
  ) {}

  /** The current pairing token (for the banner and connection string only; never logged). */
  get pairingToken (): string { return this.#pairingToken }

  /**
   * Changes the pairing and lockout settings of the running service (a reload): the next pairing,
   * failure and expiry check use them; current lockouts and sessions stay as they are.
   */
  update (patch: LiveAuthSettings): void {
    this.opts = { ...this.opts, ...patch }
  }

  async start (): Promise<void> {
    await this.#serially(() => this.#reloadConfig(true))
    this.#dataVersion = this.store.dataVersion()
    for (const s of this.sessions.list()) this.#devices.set(s.id, s.name)
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
    this.#onDidFail.fire({ remoteAddress: info.remoteAddress })
    rec.failures.push(now)
    rec.failures = rec.failures.filter(t => now - t < this.opts.failureWindowMs)
    if (rec.failures.length >= this.opts.maxFailuresPerIp && rec.lockedUntil <= now) {
      rec.lockedUntil = now + this.opts.lockoutMs
      rec.failures = []
      // Audit event, at warn: it is also the sign of an attack.
      this.log.warn({ audit: 'locked_out', remoteAddress: info.remoteAddress, lockoutMs: this.opts.lockoutMs }, 'too many failed auth attempts; address locked out')
      this.#onDidLockOut.fire({ remoteAddress: info.remoteAddress, lockoutMs: this.opts.lockoutMs })
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
      if (s) {
        this.log.info({ audit: 'authenticated', sessionId: s.id, device: s.name, remoteAddress: info.remoteAddress }, 'device authenticated')
        return { ok: true, session: s, result: { server_name: this.facts.name } }
      }
    }
    // A bad session token falls through to the pairing token in the same request (reference rule).
    if (typeof p.pairing_token === 'string' && p.pairing_token.length > 0 && p.pairing_token.length <= 256) {
      const raw = typeof p.client_name === 'string' ? stripControls(p.client_name) : ''
      const name = raw === '' ? 'Unknown client' : [...raw].slice(0, MAX_CLIENT_NAME).join('')
      const out = this.tokens.pair(p.pairing_token, name, info.remoteAddress, { ttlMs: this.opts.pairingTtlMs, singleUse: this.opts.singleUsePairing })
      const saved = out.next !== undefined ? this.#rotated(out.next, out.ok ? 'used' : 'expired') : undefined
      if (!out.ok) return { ok: false }
      // The reply waits until server.toml shows the next token, so whoever paired can read it there
      // (the used token already pairs nothing: the database replaced it with this session).
      await saved
      this.#devices.set(out.session.id, name)
      this.log.info({ audit: 'paired', sessionId: out.session.id, device: name, remoteAddress: info.remoteAddress }, 'paired device')
      return { ok: true, session: { id: out.session.id, name }, result: { server_name: this.facts.name, session_token: out.token } }
    }
    return { ok: false }
  }

  isValid (sessionId: string): boolean { return this.sessions.ids().has(sessionId) }

  /** Revokes one session and closes its live connections. */
  revoke (sessionId: string, by?: RevokedBy): boolean {
    const ok = this.sessions.revoke(sessionId)
    if (ok) {
      this.#auditRevoked(sessionId, by
        ? { by: 'device', bySessionId: by.sessionId, byDevice: by.device, remoteAddress: by.remoteAddress }
        : { by: 'server' })
      this.#afterRevocation(new Set([sessionId]))
    }
    return ok
  }

  #auditRevoked (sessionId: string, fields: Record<string, unknown>): void {
    const device = this.#devices.get(sessionId) ?? null
    this.#devices.delete(sessionId)
    this.log.info({ audit: 'revoked', sessionId, device, ...fields }, 'device revoked')
  }

  /** Re-reads server.toml and checks for revoked sessions now (also runs on a timer). */
  async sync (): Promise<void> { await this.#tick() }

  async #tick (): Promise<void> {
    if (this.#reloading) return
    this.#reloading = true
    try {
      this.#expireIfDue()
      await this.#serially(() => this.#reloadConfig(false))
      const v = this.store.dataVersion()
      if (v !== this.#dataVersion) {
        this.#dataVersion = v
        const live = this.sessions.ids()
        // Revoked by another process on this home (the CLI's `sessions revoke`, `regenerate-token`).
        for (const id of [...this.#devices.keys()]) if (!live.has(id)) this.#auditRevoked(id, { by: 'cli' })
        for (const s of this.sessions.list()) if (!this.#devices.has(s.id)) this.#devices.set(s.id, s.name)
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

  /** With a pairing TTL: replaces the current token once it is due, even if nobody tries it. */
  #expireIfDue (): void {
    if (this.opts.pairingTtlMs <= 0) return
    const cur = this.tokens.current()
    if (!cur || Date.now() - cur.sinceMs < this.opts.pairingTtlMs) return
    const out = this.tokens.rotate({ revokeSessions: false, ifCurrent: cur.hash })
    if (out) void this.#rotated(out.token, 'expired')
  }

  #afterRevocation (ids: Set<string>): void {
    for (const id of ids) {
      const n = this.hub.closeSession(id, CloseCode.SessionRevoked, 'session revoked')
      this.log.debug({ sessionId: id, connections: n }, 'closed the connections of a revoked session')
    }
  }

  /**
   * Reads server.toml when it changed (or `force`) and squares its token with the database: a
   * current token is shown; an unknown one (first start, upgrade, hand edit) is adopted; a retired
   * one (left by a crash between a rotation's two writes, or by a lost write race) never pairs
   * again: the file gets the current token if we know it, else a fresh one.
   */
  async #reloadConfig (force: boolean): Promise<void> {
    const stamp = await this.#stamp()
    if (stamp === null) return
    if (!force && stamp === this.#configStamp) return
    let cfg
    try {
      cfg = await this.config.read()
    } catch (err) {
      // A broken file is reported once per change, not at every tick; the last good token stays.
      this.#configStamp = stamp
      throw err
    }
    this.#configStamp = stamp
    const fileToken = cfg.auth.pairing_token
    const known = this.#pairingToken
    const st = this.tokens.reconcile(fileToken)
    if (st.state !== 'retired') {
      this.#pairingToken = fileToken
      if (st.state === 'adopted' && known !== '') this.log.info('pairing token changed on disk; the old one no longer pairs')
      return
    }
    if (known !== '' && this.tokens.matches(known)) {
      await this.#writeToken(known)
      return
    }
    const out = this.tokens.rotate({ revokeSessions: false })!
    this.#pairingToken = out.token
    this.log.warn('server.toml held a pairing token that was already replaced; it stays invalid and a new one was made (`claudette-server qr` shows it)')
    await this.#writeToken(out.token)
  }

  /** Saves `token` to server.toml unless the database has moved on to another token meanwhile. */
  async #writeToken (token: string): Promise<void> {
    const cfg = await this.config.read({ allowInvalidToken: true })
    if (cfg.auth.pairing_token === token || !this.tokens.matches(token)) return
    await this.config.setPairingToken(token)
    this.#configStamp = (await this.#stamp()) ?? ''
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

  /**
   * After the database replaced the pairing token (single-use pairing, expiry): shows the new one
   * and saves it to server.toml (so `qr` and `show-connection-string` show it). The old token
   * already pairs nothing; the file write is for display only.
   */
  #rotated (next: string, why: 'used' | 'expired'): Promise<void> {
    this.#pairingToken = next
    this.log.info({ reason: why }, why === 'used'
      ? 'pairing token used; replaced by a new one (single-use pairing; `claudette-server qr` shows it)'
      : 'pairing token expired; replaced by a new one (`claudette-server qr` shows it)')
    return this.#serially(() => this.#writeToken(next))
      .catch(err => { this.log.warn({ err }, 'could not save the new pairing token to server.toml; `qr` shows the old one until it is saved') })
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
    this.#onDidFail.dispose()
    this.#onDidLockOut.dispose()
    await this.#configChain
  }
}
