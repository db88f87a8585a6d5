import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import type WebSocket from 'ws'
import { formatHostPort, normalizeFingerprint } from './connection-string.js'
import {
  changedCertificateHint, ConnectError, ConnectionClosedError, FingerprintMismatchError, PairingRefusedError, RemoteError,
  RequestTimeoutError, SessionRevokedError,
} from './errors.js'
import type { AttachResult, MethodMap, PtyExitPayload, ServerInfo } from '../protocol/index.js'
import { ReplayDeduper } from './replay.js'
import { openSocket } from './transport.js'
import type { TrustedServer, TrustStore } from './trust-store.js'

/** Connection state, in the order a client normally goes through it. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'

/** Capped exponential backoff with jitter. */
export interface BackoffOptions {
  /** First delay. Default 250 ms. */
  initialDelayMs: number
  /** Cap. Default 10 s. */
  maxDelayMs: number
  /** Growth per attempt. Default 2. */
  factor: number
  /** 0..1: the delay is drawn from [delay·(1−jitter), delay]. Default 0.5. */
  jitter: number
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts: number
}

export interface ClientOptions {
  host: string
  port: number
  /** Expected certificate fingerprint: 64 hex, or a prefix of 16+. Omitted: trust on first use. */
  fingerprint?: string
  /** Authenticate with this device session token. */
  sessionToken?: string
  /** Or pair with this pairing token (once; the session token is kept for reconnects). */
  pairingToken?: string
  /** Sent when pairing. Default: this machine's host name. */
  clientName?: string
  /** Name used in messages. Default host:port. */
  label?: string
  /** Default per-request timeout. Default 30 s. */
  requestTimeoutMs?: number
  /** TLS + WebSocket + authenticate deadline per attempt. Default 10 s. */
  connectTimeoutMs?: number
  /** Client-side liveness ping; a peer silent for two intervals is dropped. Default 15 s, 0 = off. */
  pingIntervalMs?: number
  /** Reconnect after a dropped connection (default on), or false. */
  reconnect?: boolean | Partial<BackoffOptions>
  /** Use the binary terminal fast path when the server offers it. Default true. */
  binaryTerminals?: boolean
  /** How to re-pin, put in a FingerprintMismatchError. */
  mismatchHint?: string
}

export interface StateChange {
  state: ClientState
  /** Failed attempts in a row (reconnecting). */
  attempt?: number
  /** Delay before the next attempt (reconnecting). */
  delayMs?: number
  /** Why the connection dropped, or why the client closed. */
  error?: Error
}

// The wire types are the protocol's (src/protocol), shared with the server.
export type { AttachResult, PtyInfo, ServerInfo, SessionInfo } from '../protocol/index.js'

/** A `pty-exit` as the client emits it; `lost`: the terminal could not be re-attached after a reconnect. */
export interface PtyExit extends PtyExitPayload { lost?: boolean }

/**
 * Methods with known shapes, from the protocol's method table (any other name is allowed and
 * typed `unknown`). An embedder may add its own methods by declaration merging.
 */
export interface ClaudetteMethods extends MethodMap {}

export interface RequestOptions { timeoutMs?: number }

export interface ClientEvent { event: string, payload: unknown }

interface Pending {
  method: string
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

/** What the client knows about a terminal it follows. */
class PtyTrack {
  /** Stream position after the last byte delivered (null: unknown, de-duplicate by content). */
  pos: number | null
  readonly dedupe = new ReplayDeduper()
  /** Live output that arrived while an attach was in flight (delivered after its replay). */
  held: Uint8Array[] | null = null
  /** A pty-exit that arrived while output was held. */
  heldExit: PtyExit | null = null
  constructor (pos: number | null) { this.pos = pos }
  delivered (bytes: Uint8Array): void {
    if (this.pos !== null) this.pos += bytes.length
    this.dedupe.remember(bytes)
  }
}

const PTY_OUTPUT = 0x01
const PTY_INPUT = 0x02
const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2, jitter: 0.5, maxAttempts: Infinity }

/** The delay before reconnect attempt `attempt` (1-based), with jitter. Exported for tests. */
export function backoffDelay (attempt: number, o: BackoffOptions, random = Math.random): number {
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.factor, Math.max(0, attempt - 1)))
  return Math.round(base * (1 - o.jitter * random()))
}

/**
 * A connection to one Claudette server that stays connected: typed requests with timeouts,
 * events (emitter and async iterator), automatic reconnect with capped exponential backoff and
 * jitter, re-authentication with the session token, and re-attach of terminals.
 *
 * Events (EventEmitter):
 * - `state` (StateChange): connecting / open / reconnecting / closed.
 * - `event` (name, payload): every server event.
 * - `pty-output` (ptyId, Uint8Array): terminal output, from JSON events or binary frames, with
 *   the replay of a re-attach de-duplicated against what was already delivered.
 * - `pty-exit` (PtyExit).
 * - `pty-gap` (ptyId, bytes): output older than the server's scrollback was lost while disconnected.
 * - `session-token` (token): a new session token after pairing (store it).
 * - `fingerprint` (hex): the certificate fingerprint seen in the first handshake.
 *
 * ```ts
 * const client = new ClaudetteClient({ host, port, fingerprint, sessionToken })
 * await client.connect()
 * const info = await client.request('server_info')
 * for await (const ev of client.events()) console.log(ev.event)
 * ```
 */
export class ClaudetteClient extends EventEmitter {
  readonly host: string
  readonly port: number
  readonly label: string
  #state: ClientState = 'idle'
  #ws: WebSocket | null = null
  #sessionToken: string | undefined
  #pairingToken: string | undefined
  #expected: string | undefined
  #fingerprint: string | undefined
  #serverName: string | undefined
  #serverInfo: ServerInfo | undefined
  #binary = false
  #nextId = 1
  #pending = new Map<number, Pending>()
  #attached = new Map<number, PtyTrack>()
  #untracked = new Map<number, PtyTrack>()
  #spawning = 0
  #openWaiters = new Set<{ resolve: () => void, reject: (e: Error) => void }>()
  #reconnectTimer: NodeJS.Timeout | undefined
  #pingTimer: NodeJS.Timeout | undefined
  #alive = true
  #attempt = 0
  #closedError: Error | undefined
  readonly #opts: Required<Pick<ClientOptions, 'requestTimeoutMs' | 'connectTimeoutMs' | 'pingIntervalMs' | 'binaryTerminals'>> & { clientName: string, mismatchHint?: string }
  readonly #backoff: BackoffOptions | null

  constructor (opts: ClientOptions) {
    super()
    this.host = opts.host
    this.port = opts.port
    this.label = opts.label ?? formatHostPort(opts.host, opts.port)
    this.#expected = opts.fingerprint === undefined ? undefined : normalizeFingerprint(opts.fingerprint)
    this.#sessionToken = opts.sessionToken
    this.#pairingToken = opts.pairingToken
    this.#opts = {
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      pingIntervalMs: opts.pingIntervalMs ?? 15_000,
      binaryTerminals: opts.binaryTerminals ?? true,
      clientName: opts.clientName ?? hostname(),
      mismatchHint: opts.mismatchHint,
    }
    this.#backoff = opts.reconnect === false ? null : { ...DEFAULT_BACKOFF, ...(typeof opts.reconnect === 'object' ? opts.reconnect : {}) }
  }

  /** A client for a server in the trust store, pinned to its stored fingerprint; keeps `lastConnectedAt` current. */
  static fromTrusted (server: TrustedServer, opts: Omit<ClientOptions, 'host' | 'port' | 'fingerprint' | 'sessionToken' | 'pairingToken'> = {}, store?: TrustStore): ClaudetteClient {
    const client = new ClaudetteClient({
      label: `${server.name} (${formatHostPort(server.host, server.port)})`,
      mismatchHint: changedCertificateHint(server.name),
      ...opts,
      host: server.host,
      port: server.port,
      fingerprint: server.fingerprint,
      sessionToken: server.sessionToken,
    })
    if (store) client.on('state', (s: StateChange) => { if (s.state === 'open') void store.update(server.id, { lastConnectedAt: new Date().toISOString() }).catch(() => {}) })
    return client
  }

  get state (): ClientState { return this.#state }
  /** The fingerprint of the certificate of the current (or last) connection. */
  get fingerprint (): string | undefined { return this.#fingerprint }
  /** The server's name as it answered `authenticate`. */
  get serverName (): string | undefined { return this.#serverName }
  /** `server_info` of the current connection (undefined on old servers). */
  get serverInfo (): ServerInfo | undefined { return this.#serverInfo }
  /** The device session token (secret). */
  get sessionToken (): string | undefined { return this.#sessionToken }
  /** True when terminal output and input use binary frames on this connection. */
  get binaryTerminals (): boolean { return this.#binary }
  /** Why the client closed, when it closed because of an error. */
  get closedError (): Error | undefined { return this.#closedError }

  /**
   * Connects and authenticates. Rejects when this first attempt fails (unreachable, fingerprint
   * mismatch, refused token); after that, dropped connections are re-established automatically.
   */
  async connect (): Promise<void> {
    if (this.#state === 'open') return
    if (this.#state === 'connecting' || this.#state === 'reconnecting') return this.#waitOpen(this.#opts.connectTimeoutMs * 2)
    if (this.#state === 'closed') throw new ConnectionClosedError('Client is closed')
    this.#setState({ state: 'connecting' })
    try {
      await this.#attempt1()
    } catch (err) {
      this.#shutdown(err as Error)
      throw err
    }
  }

  /** Sends a request and resolves with its result; rejects with RemoteError, RequestTimeoutError or ConnectionClosedError. */
  request<M extends keyof ClaudetteMethods> (method: M, params?: ClaudetteMethods[M]['params'], opts?: RequestOptions): Promise<ClaudetteMethods[M]['result']>
  request (method: string, params?: unknown, opts?: RequestOptions): Promise<unknown>
  async request (method: string, params?: unknown, opts: RequestOptions = {}): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.#opts.requestTimeoutMs
    const started = Date.now()
    if (this.#state !== 'open') {
      if (this.#state === 'closed' || this.#state === 'idle') throw this.#closedError ?? new ConnectionClosedError(this.#state === 'idle' ? 'Not connected (call connect() first)' : 'Connection closed')
      await this.#waitOpen(timeoutMs, method)
    }
    return this.#send(method, params, Math.max(1, timeoutMs - (Date.now() - started)))
  }

  /** Every server event as an async iterator (ends when the client closes). Optionally only some names. */
  events (names?: string[]): AsyncIterableIterator<ClientEvent> {
    const queue: ClientEvent[] = []
    let wake: (() => void) | null = null
    let done = false
    const onEvent = (event: string, payload: unknown): void => {
      if (names && !names.includes(event)) return
      queue.push({ event, payload })
      wake?.()
    }
    const onState = (s: StateChange): void => { if (s.state === 'closed') { done = true; wake?.() } }
    const stop = (): void => { done = true; this.off('event', onEvent); this.off('state', onState); wake?.() }
    this.on('event', onEvent)
    this.on('state', onState)
    if (this.#state === 'closed') done = true
    const it: AsyncIterableIterator<ClientEvent> = {
      next: async () => {
        while (queue.length === 0 && !done) await new Promise<void>(resolve => { wake = resolve })
        wake = null
        if (queue.length > 0) return { value: queue.shift()!, done: false }
        stop()
        return { value: undefined, done: true }
      },
      return: async () => { stop(); return { value: undefined, done: true } },
      [Symbol.asyncIterator] () { return it },
    }
    return it
  }

  // ---- terminals -------------------------------------------------------------------------

  /** Starts a terminal and attaches to it (it is re-attached after reconnects). */
  async spawnPty (params: ClaudetteMethods['spawn_pty']['params'] = {}): Promise<number> {
    this.#spawning++
    try {
      const { pty_id: id } = await this.request('spawn_pty', params)
      // Output that arrived before this continuation ran was counted on an untracked entry.
      if (!this.#attached.has(id)) this.#attached.set(id, this.#untracked.get(id) ?? new PtyTrack(0))
      return id
    } finally {
      if (--this.#spawning === 0) this.#untracked.clear()
    }
  }

  /**
   * Attaches to an existing terminal of this device; resolves with its scrollback (the bytes to
   * draw first). It is re-attached after reconnects.
   */
  async attachPty (ptyId: number): Promise<Uint8Array> {
    const track = new PtyTrack(null)
    track.held = []
    this.#attached.set(ptyId, track)
    try {
      const res = await this.request('attach_pty', { pty_id: ptyId })
      const bytes = Uint8Array.from(res?.replay ?? [])
      track.dedupe.remember(bytes)
      if (typeof res?.offset === 'number') track.pos = res.offset + bytes.length
      // Live output that came with the reply is delivered after the caller has drawn the replay.
      setImmediate(() => {
        this.#release(ptyId, track)
        if (res?.alive === false && this.#attached.get(ptyId) === track) {
          this.#attached.delete(ptyId)
          this.emit('pty-exit', { pty_id: ptyId, exit_code: res.exit_code ?? null, signal: res.signal ?? null })
        }
      })
      return bytes
    } catch (err) {
      this.#attached.delete(ptyId)
      throw err
    }
  }

  /** Stops following a terminal here (it keeps running on the server until its idle timeout). */
  async detachPty (ptyId: number): Promise<void> {
    if (!this.#attached.delete(ptyId)) return
    if (this.#state === 'open') await this.request('detach_pty', { pty_id: ptyId }).catch(() => {})
  }

  /** Terminals this client follows. */
  get attachedPtys (): number[] { return [...this.#attached.keys()] }

  /** Writes input: a binary frame when the server supports it, else `write_pty`. Resolves once sent. */
  async writePty (ptyId: number, data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    if (this.#binary && this.#state === 'open' && this.#ws) {
      const frame = Buffer.allocUnsafe(5 + bytes.length)
      frame[0] = PTY_INPUT
      frame.writeUInt32BE(ptyId, 1)
      frame.set(bytes, 5)
      const ws = this.#ws
      await new Promise<void>((resolve, reject) => ws.send(frame, { binary: true }, err => err ? reject(new ConnectionClosedError()) : resolve()))
      return
    }
    await this.request('write_pty', { pty_id: ptyId, data: Array.from(bytes) })
  }

  async resizePty (ptyId: number, cols: number, rows: number): Promise<void> {
    await this.request('resize_pty', { pty_id: ptyId, cols, rows })
  }

  async closePty (ptyId: number): Promise<void> {
    this.#attached.delete(ptyId)
    await this.request('close_pty', { pty_id: ptyId })
  }

  /** Closes the connection for good; in-flight requests fail with ConnectionClosedError. */
  close (): void {
    this.#shutdown(undefined)
  }

  // ---- internals -------------------------------------------------------------------------

  async #attempt1 (): Promise<void> {
    const { ws, fingerprint } = await openSocket({
      host: this.host,
      port: this.port,
      expectedFingerprint: this.#expected,
      mismatchHint: this.#opts.mismatchHint,
      label: this.label,
      timeoutMs: this.#opts.connectTimeoutMs,
    })
    if (this.#state === 'closed') { ws.terminate(); throw this.#closedError ?? new ConnectionClosedError('Client is closed') }
    const first = this.#fingerprint === undefined
    this.#fingerprint = fingerprint
    // After the first handshake the pin is the full fingerprint seen (trust on first use).
    this.#expected = fingerprint
    if (first) this.emit('fingerprint', fingerprint)
    this.#ws = ws
    this.#alive = true
    let authenticated = false
    ws.on('message', (data: Buffer, isBinary: boolean) => { this.#alive = true; this.#onMessage(data, isBinary) })
    ws.on('pong', () => { this.#alive = true })
    ws.on('error', () => { /* surfaced by 'close' */ })
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.#ws !== ws) return
      this.#ws = null
      this.#onDrop(code, reason.toString(), authenticated)
    })

    let authTimer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      authTimer = setTimeout(() => reject(new ConnectError(this.label, 'no answer to authenticate')), this.#opts.connectTimeoutMs)
      authTimer.unref()
    })
    const dropped = new Promise<never>((_resolve, reject) => {
      ws.once('close', (code: number) => reject(code === 4001 ? new SessionRevokedError(this.label) : new ConnectError(this.label, `connection closed during authentication (code ${code})`)))
    })
    timeout.catch(() => {})
    dropped.catch(() => {})
    try {
      const result = await Promise.race([this.#authenticate(), timeout, dropped])
      authenticated = true
      this.#serverName = typeof result.server_name === 'string' ? result.server_name : 'Unknown'
      await Promise.race([this.#afterAuth(), dropped])
    } catch (err) {
      if (this.#ws === ws) this.#ws = null
      ws.terminate()
      throw err
    } finally {
      clearTimeout(authTimer)
    }
    this.#attempt = 0
    this.#startPing(ws)
    this.#setState({ state: 'open' })
    for (const w of this.#openWaiters) w.resolve()
    this.#openWaiters.clear()
  }

  async #authenticate (): Promise<{ server_name?: unknown, session_token?: unknown }> {
    const pairing = this.#sessionToken === undefined && this.#pairingToken !== undefined
    const params = pairing
      ? { client_name: this.#opts.clientName, pairing_token: this.#pairingToken }
      : { session_token: this.#sessionToken ?? '' }
    let result: { server_name?: unknown, session_token?: unknown }
    try {
      result = await this.#send('authenticate', params, this.#opts.connectTimeoutMs) as typeof result
    } catch (err) {
      if (err instanceof RemoteError) {
        if (pairing) throw new PairingRefusedError(this.label, err.message)
        throw new SessionRevokedError(this.label)
      }
      throw err
    }
    if (pairing) {
      if (typeof result?.session_token !== 'string' || result.session_token === '') {
        throw new PairingRefusedError(this.label, 'the server did not return a session token after pairing')
      }
      this.#sessionToken = result.session_token
      this.#pairingToken = undefined
      this.emit('session-token', result.session_token)
    }
    return result ?? {}
  }

  async #afterAuth (): Promise<void> {
    try {
      this.#serverInfo = await this.#send('server_info', {}, this.#opts.connectTimeoutMs) as ServerInfo
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err
      this.#serverInfo = undefined // a reference server: no server_info
    }
    this.#binary = false
    if (this.#opts.binaryTerminals && this.#serverInfo?.capabilities?.includes('pty-binary')) {
      await this.#send('set_pty_encoding', { encoding: 'binary' }, this.#opts.connectTimeoutMs)
      this.#binary = true
    }
    // Re-attach terminals: the replay is de-duplicated against what was already delivered.
    // With a known stream position the server sends exactly what we missed (`since`); without
    // one the replay is de-duplicated against what was already delivered.
    for (const [id, track] of [...this.#attached]) {
      let res: AttachResult
      track.held = []
      try {
        const params = track.pos === null ? { pty_id: id } : { pty_id: id, since: track.pos }
        res = await this.#send('attach_pty', params, this.#opts.connectTimeoutMs) as AttachResult
      } catch (err) {
        track.held = null
        if (!(err instanceof RemoteError)) throw err
        this.#attached.delete(id)
        this.emit('pty-exit', { pty_id: id, exit_code: null, signal: null, lost: true })
        continue
      }
      const replay = Uint8Array.from(res?.replay ?? [])
      let fresh: Uint8Array
      if (track.pos !== null && typeof res?.offset === 'number') {
        if (res.offset > track.pos) this.emit('pty-gap', id, res.offset - track.pos)
        fresh = replay.subarray(Math.max(0, track.pos - res.offset))
        track.dedupe.remember(fresh)
        track.pos = res.offset + replay.length
      } else {
        fresh = track.dedupe.fresh(replay)
      }
      if (fresh.length > 0) this.emit('pty-output', id, fresh)
      this.#release(id, track)
      if (res?.alive === false) {
        this.#attached.delete(id)
        this.emit('pty-exit', { pty_id: id, exit_code: res.exit_code ?? null, signal: res.signal ?? null })
      }
    }
  }

  #send (method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const ws = this.#ws
    if (!ws || ws.readyState !== ws.OPEN) return Promise.reject(new ConnectionClosedError())
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new RequestTimeoutError(method, timeoutMs))
      }, timeoutMs)
      timer.unref()
      this.#pending.set(id, { method, resolve, reject, timer })
      ws.send(JSON.stringify(params === undefined ? { id, method } : { id, method, params }), err => {
        if (!err) return
        const p = this.#pending.get(id)
        if (!p) return
        clearTimeout(p.timer)
        this.#pending.delete(id)
        p.reject(new ConnectionClosedError())
      })
    })
  }

  #onMessage (data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      if (data.length >= 5 && data[0] === PTY_OUTPUT) this.#ptyOutput(data.readUInt32BE(1), data.subarray(5))
      return
    }
    let msg: { id?: unknown, result?: unknown, error?: { code?: unknown, message?: unknown, data?: unknown }, event?: unknown, payload?: unknown }
    try { msg = JSON.parse(data.toString('utf8')) } catch { return }
    if (msg === null || typeof msg !== 'object') return
    if (typeof msg.id === 'number') {
      const p = this.#pending.get(msg.id)
      if (!p) return
      this.#pending.delete(msg.id)
      clearTimeout(p.timer)
      if (msg.error && typeof msg.error === 'object') p.reject(new RemoteError(p.method, msg.error))
      else p.resolve(msg.result ?? null)
      return
    }
    if ((msg.id === undefined || msg.id === null) && typeof msg.event === 'string') {
      const payload = msg.payload as Record<string, unknown> | undefined
      if (msg.event === 'pty-output' && payload && typeof payload.pty_id === 'number' && Array.isArray(payload.data)) {
        this.#ptyOutput(payload.pty_id, Uint8Array.from(payload.data as number[]))
      } else if (msg.event === 'pty-exit' && payload && typeof payload.pty_id === 'number') {
        const track = this.#attached.get(payload.pty_id)
        if (track?.held) track.heldExit = payload as unknown as PtyExit
        else {
          this.#attached.delete(payload.pty_id)
          this.emit('pty-exit', payload as unknown as PtyExit)
        }
      }
      this.emit('event', msg.event, msg.payload)
    }
  }

  #ptyOutput (id: number, bytes: Uint8Array): void {
    let track = this.#attached.get(id)
    if (!track && this.#spawning > 0) {
      track = this.#untracked.get(id) ?? new PtyTrack(0)
      this.#untracked.set(id, track)
    }
    if (track?.held) { track.held.push(bytes); return }
    track?.delivered(bytes)
    this.emit('pty-output', id, bytes)
  }

  /** Delivers output held back while an attach was in flight. */
  #release (id: number, track: PtyTrack): void {
    const held = track.held
    track.held = null
    for (const b of held ?? []) {
      track.delivered(b)
      this.emit('pty-output', id, b)
    }
    const exit = track.heldExit
    track.heldExit = null
    if (exit && this.#attached.get(id) === track) {
      this.#attached.delete(id)
      this.emit('pty-exit', exit)
    }
  }

  #onDrop (code: number, reason: string, wasAuthenticated: boolean): void {
    this.#stopPing()
    this.#failPending(new ConnectionClosedError())
    if (this.#state !== 'open') return // still inside an attempt: the attempt's own error handling decides
    if (code === 4001) { this.#shutdown(new SessionRevokedError(this.label)); return }
    const error = new ConnectError(this.label, `connection lost (code ${code}${reason ? `, ${reason}` : ''})`)
    if (!this.#backoff || !wasAuthenticated) { this.#shutdown(error); return }
    this.#scheduleReconnect(error)
  }

  #scheduleReconnect (error: Error): void {
    const b = this.#backoff!
    this.#attempt++
    if (this.#attempt > b.maxAttempts) { this.#shutdown(error); return }
    const delayMs = backoffDelay(this.#attempt, b)
    this.#setState({ state: 'reconnecting', attempt: this.#attempt, delayMs, error })
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      this.#attempt1().catch((err: Error) => {
        if (this.#state === 'closed') return
        if (err instanceof SessionRevokedError || err instanceof FingerprintMismatchError) { this.#shutdown(err); return }
        this.#scheduleReconnect(err)
      })
    }, delayMs)
    // While reconnecting the timer keeps the process alive, like an open socket would.
  }

  #startPing (ws: WebSocket): void {
    if (this.#opts.pingIntervalMs <= 0) return
    this.#pingTimer = setInterval(() => {
      if (!this.#alive) { ws.terminate(); return }
      this.#alive = false
      try { ws.ping() } catch { /* closing */ }
    }, this.#opts.pingIntervalMs)
    this.#pingTimer.unref()
  }

  #stopPing (): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer)
    this.#pingTimer = undefined
  }

  #waitOpen (timeoutMs: number, method = 'connect'): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => { clearTimeout(timer); resolve() },
        reject: (e: Error) => { clearTimeout(timer); reject(e) },
      }
      const timer = setTimeout(() => { this.#openWaiters.delete(w); reject(new RequestTimeoutError(method, timeoutMs)) }, timeoutMs)
      timer.unref()
      this.#openWaiters.add(w)
    })
  }

  #failPending (err: Error): void {
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(err) }
    this.#pending.clear()
  }

  #shutdown (error: Error | undefined): void {
    if (this.#state === 'closed') return
    this.#closedError = error
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = undefined
    this.#stopPing()
    const ws = this.#ws
    this.#ws = null
    if (ws) { ws.removeAllListeners('close'); ws.close(1000); setTimeout(() => ws.terminate(), 1000).unref() }
    this.#failPending(error ?? new ConnectionClosedError())
    for (const w of this.#openWaiters) w.reject(error ?? new ConnectionClosedError('Client is closed'))
    this.#openWaiters.clear()
    this.#setState({ state: 'closed', error })
  }

  #setState (change: StateChange): void {
    this.#state = change.state
    this.emit('state', change)
  }
}
