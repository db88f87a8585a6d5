import type { Server as NetServer, Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Disposable } from '../lifecycle.js'
import type { AuthOutcome, AuthRequestInfo, Authenticator } from './auth.js'
import type { WsConnection } from './connection.js'
import { CloseCode } from './hub.js'
import { serializeErrorReply, serializeReply } from './serialize.js'
import { tcpSocketOf } from './ws-internals.js'

/** Per-connection failed attempts before the socket is dropped (reference rule). */
const MAX_ATTEMPTS = 3
/** Unauthenticated parse errors that count as one failure toward the per-address limit. */
const PARSE_ERRORS_PER_FAILURE = 5
/** How long a WebSocket closed for the auth deadline gets to answer the close frame. */
const CLOSE_GRACE_MS = 250

/**
 * The auth deadline of one TCP connection: one wall-clock deadline from accept to a successful
 * `authenticate`, whatever the peer sends or does not send (a TLS handshake, a request trickled
 * byte by byte, plain HTTP requests on a kept-alive socket, an upgrade followed by silence). An
 * expiry counts against the address's failure budget when the peer sent anything after the TLS
 * handshake (a partial request, an upgrade): a socket that sent nothing is closed but not
 * counted, since browsers open idle sockets ahead of need and must never lock their own user out.
 */
export class AuthDeadline implements Disposable {
  #tls: Socket | null = null
  #conn: WsConnection | null = null
  #done = false
  readonly #timer: NodeJS.Timeout
  readonly #remoteAddress: string

  constructor (
    private readonly raw: Socket,
    timeoutMs: number,
    private readonly authenticator: Authenticator,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#remoteAddress = raw.remoteAddress ?? 'unknown'
    this.#timer = setTimeout(() => this.#expire(), timeoutMs).unref()
  }

  /** The TLS handshake is done: `tls` is the socket the peer's requests arrive on. */
  secured (tls: Socket): void { this.#tls = tls }
  /** The socket was upgraded: the deadline now closes this WebSocket, and counts it as a failure. */
  attach (conn: WsConnection): void { this.#conn = conn }
  /** `authenticate` succeeded. */
  met (): void { this.dispose() }

  dispose (): void {
    this.#done = true
    clearTimeout(this.#timer)
  }

  #expire (): void {
    if (this.#done) return
    const remoteAddress = this.#remoteAddress
    const conn = this.#conn
    // bytesRead of the TLS socket counts decrypted application data only (not the handshake).
    const counted = conn !== null || (this.#tls?.bytesRead ?? 0) > 0
    // Debug, not info: idle sockets are cheap to open, and the lockout they lead to is logged once.
    this.log.debug({ remoteAddress, upgraded: conn !== null, counted }, 'closing connection that did not authenticate in time')
    // The close frame is a courtesy: the socket goes shortly after, answered or not.
    if (conn) conn.close(CloseCode.PolicyViolation, 'authentication timeout', CLOSE_GRACE_MS)
    else (this.#tls ?? this.raw).destroy()
    if (counted) this.authenticator.recordFailure({ remoteAddress })
  }
}

/** Every TCP connection's auth deadline, found by its TCP socket or, once TLS is up, its TLS socket. */
export class AuthDeadlines implements Disposable {
  readonly #bySocket = new WeakMap<object, AuthDeadline>()

  constructor (
    private readonly server: NetServer,
    /** Read when a socket is accepted: a change applies to connections accepted after it. */
    private readonly limits: { readonly authTimeoutMs: number },
    private readonly authenticator: Authenticator,
    private readonly log: FastifyBaseLogger,
  ) {
    server.on('secureConnection', this.#onSecure)
  }

  /** Starts the deadline of a TCP socket just accepted; it ends with the socket. */
  start (raw: Socket): void {
    const deadline = new AuthDeadline(raw, this.limits.authTimeoutMs, this.authenticator, this.log)
    this.#bySocket.set(raw, deadline)
    raw.once('close', () => deadline.dispose())
  }

  /** The deadline of the connection `socket` (TCP or TLS) belongs to. */
  of (socket: Socket): AuthDeadline | undefined { return this.#bySocket.get(socket) }

  dispose (): void { this.server.off('secureConnection', this.#onSecure) }

  readonly #onSecure = (tls: Socket): void => {
    const deadline = this.#bySocket.get(tcpSocketOf(tls))
    if (!deadline) return
    deadline.secured(tls)
    this.#bySocket.set(tls, deadline)
  }
}

/**
 * The pre-auth state machine of one connection: until `authenticate` succeeds, every request
 * is an attempt. Failures are answered and counted, here (the third drops the socket) and by the
 * authenticator (per address, across connections).
 */
export class Handshake {
  #attempts = 0
  #parseErrors = 0
  readonly #info: AuthRequestInfo

  constructor (
    private readonly conn: WsConnection,
    private readonly authenticator: Authenticator,
    private readonly deadline: AuthDeadline | undefined,
    /** The largest message accepted once authenticated. */
    private readonly maxPayload: number,
    /** Called once authenticated, after the reply was sent (`hub.markAuthenticated`). */
    private readonly onAuthenticated: () => void,
  ) {
    this.#info = { remoteAddress: conn.remoteAddress }
  }

  /** What the authenticator is told about this connection (the same object every time). */
  get info (): AuthRequestInfo { return this.#info }

  /**
   * A parse error before authentication: never one of the 3 attempts (reference rule), but a
   * flood of them counts toward the per-address limit.
   */
  parseError (): void {
    if (++this.#parseErrors % PARSE_ERRORS_PER_FAILURE === 0) this.authenticator.recordFailure(this.#info)
  }

  /** Handles one request before authentication. */
  async request (id: unknown, method: string, params: unknown): Promise<void> {
    if (this.#attempts >= MAX_ATTEMPTS) return
    if (method !== 'authenticate') { this.#fail(id, -1, 'Must authenticate first'); return }
    const outcome = await this.#authenticate(params)
    if (!this.conn.isOpen) return
    if (!outcome.ok) { this.#fail(id, -2, `Authentication failed (${this.#attempts + 1}/${MAX_ATTEMPTS})`); return }
    this.deadline?.met()
    this.conn.raisePayloadLimit(this.maxPayload)
    this.conn.session = outcome.session
    // Debug: the authenticator writes the audit line (device name, how it authenticated).
    this.conn.log.debug({ sessionId: outcome.session.id, remoteAddress: this.conn.remoteAddress }, 'authenticated')
    this.conn.sendText(serializeReply(id, outcome.result))
    this.onAuthenticated()
  }

  async #authenticate (params: unknown): Promise<AuthOutcome> {
    try {
      return await this.authenticator.authenticate(params, this.#info)
    } catch (err) {
      this.conn.log.error({ err }, 'authenticate failed unexpectedly')
      return { ok: false }
    }
  }

  #fail (id: unknown, code: number, message: string): void {
    this.#attempts++
    if (this.#attempts >= MAX_ATTEMPTS) {
      this.conn.log.info({ remoteAddress: this.conn.remoteAddress }, 'authentication failed too often; dropping connection')
      // The reference drops the socket without a close frame after the third failure.
      this.conn.sendLast(serializeErrorReply(id, code, message))
    } else {
      this.conn.sendText(serializeErrorReply(id, code, message))
    }
    // After the reply: a lockout closes this connection too, and the reply goes out first.
    this.authenticator.recordFailure(this.#info)
  }
}
