import { stat } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import type { Disposable } from '../../core/lifecycle.js'
import type { AuthOutcome, AuthRequestInfo, Authenticator } from '../../core/rpc/auth.js'
import { CloseCode, type ConnectionHub } from '../../core/rpc/hub.js'
import { stripControls } from '../../core/text.js'
import { CORE, token, type ServerFacts } from '../../core/tokens.js'
import { STORE, type ConfigFile, type Store } from '../store/types.js'
import type { AuthOptions } from './options.js'
import { AUTH, type DeviceAuth, type DeviceSessionStore, type LiveAuthSettings, type PairingTokenStore } from './types.js'

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
    if (typeof p.pairing_token === 'string' && p.pairing_token.length > 0 && p.pairing_token.length <= 256) {
      const raw = typeof p.client_name === 'string' ? stripControls(p.client_name) : ''
      const name = raw === '' ? 'Unknown client' : [...raw].slice(0, MAX_CLIENT_NAME).join('')
      const out = this.tokens.pair(p.pairing_token, name, info.remoteAddress, { ttlMs: this.opts.pairingTtlMs, singleUse: this.opts.singleUsePairing })
      const saved = out.next !== undefined ? this.#rotated(out.next, out.ok ? 'used' : 'expired') : undefined
      if (!out.ok) return { ok: false }
      // The reply waits until server.toml shows the next token, so whoever paired can read it there
      // (the used token already pairs nothing: the database replaced it with this session).
      await saved
      this.log.info({ sessionId: out.session.id, clientName: name, remoteAddress: info.remoteAddress }, 'paired device')
      return { ok: true, session: { id: out.session.id, name }, result: { server_name: this.facts.name, session_token: out.token } }
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
      this.#expireIfDue()
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
      this.log.info({ sessionId: id, connections: n }, 'session revoked')
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
    cfg.auth.pairing_token = token
    await this.config.write(cfg)
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
    await this.#configChain
  }
}
