import type { Server as NetServer, Socket } from 'node:net'
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import { AppError, toWireError } from '../errors.js'
import { DisposableStore, Emitter, toDisposable } from '../lifecycle.js'
import type { Token } from '../tokens.js'
import type { AuthSession, Authenticator } from './auth.js'
import type { OutboxScheduler } from './outbox.js'
import { CloseCode, serializeEvent, type ConnectionHub, type RpcConnection } from './hub.js'
import type { RpcContext, RpcRegistry } from './registry.js'
import { WireFrame } from './ws-frame.js'

export interface EndpointOptions {
  registry: RpcRegistry
  hub: ConnectionHub
  authenticator: Authenticator
  /**
   * Wall-clock deadline from TCP accept to a successful `authenticate`; the socket is closed when
   * it passes, and counted as a failed attempt if the peer sent anything after the TLS handshake.
   */
  authTimeoutMs: number
  /** Largest message once authenticated (the WebSocket server's own limit applies before). */
  maxPayload: number
  /** Ping interval; a peer that misses one ping is dropped. 0 turns it off. */
  heartbeatMs: number
  maxConnections: number
  maxConnectionsPerIp: number
}

/** Per-connection failed attempts before the socket is dropped (reference rule). */
const MAX_ATTEMPTS = 3
/** Most bytes of queued frames written at once by a flush slice (more go in the next slice). */
const FLUSH_MAX_BYTES = 64 * 1024
/** Unauthenticated parse errors that count as one failure toward the per-address limit. */
const PARSE_ERRORS_PER_FAILURE = 5
/** Deepest params accepted (no real method nests this deep; deeper values are a stack-exhaustion attempt). */
export const MAX_PARAMS_DEPTH = 64
/** Raw sockets (TLS handshakes, requests before the upgrade) allowed above the WebSocket caps. */
const SOCKET_HEADROOM = 8
/** How long a WebSocket closed for the auth deadline gets to answer the close frame. */
const CLOSE_GRACE_MS = 250

/** The auth deadline of one TCP connection: from accept until `authenticate` succeeds. */
interface AuthDeadline {
  readonly raw: Socket
  tls: Socket | null
  conn: WsConnection | null
  authenticated: boolean
  timer: NodeJS.Timeout | undefined
}

/** The id as JSON; an id that cannot be serialized (nested too deeply) is echoed as null. */
const idJson = (id: unknown): string => {
  try { return JSON.stringify(id ?? null) ?? 'null' } catch { return 'null' }
}

const reply = (id: unknown, result: unknown): string =>
  `{"id":${idJson(id)},"result":${JSON.stringify(result ?? null)}}`

// Key order is alphabetical at every level, as the reference server prints it.
const replyError = (id: unknown, code: number, message: string, data?: unknown): string =>
  `{"error":${JSON.stringify(data === undefined ? { code, message } : { code, data, message })},"id":${idJson(id)}}`

/** True when `value` nests deeper than `max` levels (iterative: deep input cannot exhaust the stack). */
export function nestedDeeperThan (value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (depth > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
  return false
}

interface QueuedFrame { readonly bytes: Buffer, readonly cb: ((err?: Error) => void) | undefined }

class WsConnection implements RpcConnection {
  session: AuthSession | null = null
  readonly disposables = new DisposableStore()
  readonly #onClose = new Emitter<void>()
  readonly #onDrain = new Emitter<void>()
  readonly onClose = this.#onClose.event
  readonly onDrain = this.#onDrain.event
  readonly #state = new Map<symbol, unknown>()
  alive = true

  /**
   * The TLS socket under the WebSocket, for writing whole frames (WireFrame) ourselves. Safe while
   * no extension is negotiated: `ws` then writes every frame synchronously and never queues (it
   * queues only to compress or to read a Blob), so our frames and its own (ping, close) never
   * interleave mid-frame. The server offers no extension; null falls back to `ws.send()`.
   */
  readonly #raw: (NodeJS.WritableStream & { readonly writableNeedDrain: boolean, cork (): void, uncork (): void }) | null
  /** Frames queued by queueFrame (shared buffers, not copies), oldest first, and their total size. */
  #queue: QueuedFrame[] = []
  #queuedBytes = 0

  constructor (readonly id: number, readonly remoteAddress: string, readonly socket: WebSocket, log: FastifyBaseLogger, private readonly outbox: OutboxScheduler) {
    const raw = (socket as unknown as { _socket?: NodeJS.WritableStream & NodeJS.EventEmitter & { readonly writableNeedDrain: boolean, cork (): void, uncork (): void } })._socket
    const onDrain = (): void => {
      if (this.#queue.length > 0) this.outbox.mark(this)
      this.#onDrain.fire()
    }
    raw?.on('drain', onDrain)
    this.disposables.add(toDisposable(() => { raw?.off('drain', onDrain) }))
    this.#raw = raw && socket.extensions === '' ? raw : null
    this.#log = log
  }

  readonly #log: FastifyBaseLogger
  get log (): FastifyBaseLogger { return this.#log }

  get isOpen (): boolean { return this.socket.readyState === this.socket.OPEN }
  /** Bytes not yet handed to the kernel: the socket's buffer plus frames still queued here. */
  get bufferedAmount (): number { return this.socket.bufferedAmount + this.#queuedBytes }

  sendText (text: string): void { if (this.isOpen) this.sendFrame(WireFrame.text(text)) }
  sendEvent (event: string, payload: unknown): void { this.sendText(serializeEvent(event, payload)) }
  sendBinary (data: Uint8Array, cb?: (err?: Error) => void): void { this.sendFrame(WireFrame.binary([data]), cb) }

  sendFrame (frame: WireFrame, cb?: (err?: Error) => void): void {
    // CLOSING counts as closed: nothing may follow our close frame.
    if (!this.isOpen) { cb?.(new Error('connection closed')); return }
    if (!this.#raw) { this.socket.send(frame.payload, { binary: frame.binary }, cb); return }
    if (this.#queue.length === 0) { this.#raw.write(frame.bytes, cb && (err => cb(err ?? undefined))); return }
    // Frames are queued: this one goes behind them (order per connection), and all of them go
    // now unless the socket is congested, in which case its 'drain' sends them, still in order.
    this.#enqueue(frame, cb)
    if (!this.#raw.writableNeedDrain) this.#write(Infinity)
  }

  queueFrame (frame: WireFrame): void {
    if (!this.isOpen) return
    // Without the raw socket (an extension was negotiated) frames go through ws.send at once.
    if (!this.#raw) { this.sendFrame(frame); return }
    this.#enqueue(frame)
    if (this.#queue.length === 1 && !this.#raw.writableNeedDrain) this.outbox.mark(this)
  }

  #enqueue (frame: WireFrame, cb?: (err?: Error) => void): void {
    this.#queue.push({ bytes: frame.bytes, cb })
    this.#queuedBytes += frame.bytes.length
  }

  /**
   * Called by the outbox scheduler: writes queued frames, up to FLUSH_MAX_BYTES in one write. A
   * socket that needs to drain (its client reads slowly) keeps them queued here, shared with the
   * other connections, instead of an encrypted private copy in its write buffer; 'drain' brings
   * it back.
   */
  flushQueued (): void {
    if (this.#queue.length === 0 || !this.#raw) return
    if (!this.isOpen) { this.#dropQueue(); return }
    if (this.#raw.writableNeedDrain) return
    this.#write(FLUSH_MAX_BYTES)
    if (this.#queue.length > 0) {
      if (!this.#raw.writableNeedDrain) this.outbox.mark(this)
    } else if (!this.#raw.writableNeedDrain) {
      // Everything queued has reached the kernel: tell flow control (terminals), as 'drain' would.
      this.#onDrain.fire()
    }
  }

  /** Writes queued frames, oldest first, up to `maxBytes` (at least one frame), in one corked write. */
  #write (maxBytes: number): void {
    let n = 0
    let bytes = 0
    while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n]!.bytes.length <= maxBytes)) bytes += this.#queue[n++]!.bytes.length
    const batch = n === this.#queue.length ? this.#queue : this.#queue.slice(0, n)
    this.#queue = n === this.#queue.length ? [] : this.#queue.slice(n)
    this.#queuedBytes -= bytes
    if (this.#queue.length === 0) this.outbox.unmark(this)
    const raw = this.#raw!
    if (n === 1) { raw.write(batch[0]!.bytes, batch[0]!.cb && (err => batch[0]!.cb!(err ?? undefined))); return }
    // Corked: the socket takes the shared frames by reference and hands them to TLS in one
    // writev. (A Buffer.concat here would make a garbage copy per connection and flush.)
    raw.cork()
    for (const q of batch) raw.write(q.bytes, q.cb && (err => q.cb!(err ?? undefined)))
    raw.uncork()
  }

  #dropQueue (): void {
    const dropped = this.#queue
    this.#queue = []
    this.#queuedBytes = 0
    this.outbox.unmark(this)
    for (const q of dropped) q.cb?.(new Error('connection closed'))
  }

  close (code: number, reason: string): void {
    if (this.socket.readyState === this.socket.CLOSED) return
    // What was queued before the close goes before the close frame.
    if (this.#queue.length > 0 && this.isOpen) this.#write(Infinity)
    this.socket.close(code, reason)
    // A peer that never answers the close handshake must not keep the socket alive.
    setTimeout(() => this.socket.terminate(), 1000).unref()
  }

  /**
   * Raises this connection's largest accepted message (after authentication). `ws` checks its
   * receiver's limit for every frame, so a new value applies from the next frame on.
   */
  raisePayloadLimit (bytes: number): void {
    const receiver = (this.socket as unknown as { _receiver?: { _maxPayload?: number } })._receiver
    if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes
    else this.#log.warn('cannot raise the payload limit of this connection (ws internals changed)')
  }

  getState<T> (key: Token<T>): T | undefined { return this.#state.get(key) as T | undefined }
  setState<T> (key: Token<T>, value: T): void { this.#state.set(key, value) }

  closed (): void {
    this.#dropQueue()
    this.#onClose.fire()
    this.#onClose.dispose()
    this.#onDrain.dispose()
    void this.disposables.dispose()
  }
}

/**
 * The WSS endpoint: framing, ids, the in-band `authenticate` handshake, dispatch and error
 * mapping. Any path upgrades (the Claudette clients dial `/`).
 */
export const rpcEndpoint: FastifyPluginAsync<EndpointOptions> = async (app: FastifyInstance, opts) => {
  const { registry, hub, authenticator } = opts
  let nextId = 1
  // Each limit is logged once when it starts refusing, not once per refused socket.
  const limitLogged = new Set<string>()
  const logLimitOnce = (key: string, fields: Record<string, unknown>, msg: string): void => {
    if (limitLogged.has(key)) return
    limitLogged.add(key)
    app.log.warn(fields, msg)
  }

  // One wall-clock deadline per TCP connection, from accept to a successful `authenticate`,
  // whatever the peer sends or does not send (a TLS handshake, a request trickled byte by byte,
  // plain HTTP requests on a kept-alive socket, an upgrade followed by silence). An expiry counts
  // against the address's failure budget when the peer sent anything after the TLS handshake (a
  // partial request, an upgrade): a socket that sent nothing is closed but not counted, since
  // browsers open idle sockets ahead of need and must never lock their own user out.
  const server = app.server as unknown as NetServer
  server.maxConnections = opts.maxConnections + SOCKET_HEADROOM
  const socketsPerIp = new Map<string, number>()
  let tcpTotal = 0
  /** Deadline state per raw TCP socket, and the same object by its TLS socket once the handshake is done. */
  const deadlines = new WeakMap<object, AuthDeadline>()
  const onTcp = (socket: Socket): void => {
    const ip = socket.remoteAddress ?? 'unknown'
    const n = (socketsPerIp.get(ip) ?? 0) + 1
    if (n > opts.maxConnectionsPerIp + SOCKET_HEADROOM) {
      logLimitOnce(`tcp:${ip}`, { remoteAddress: ip, limit: opts.maxConnectionsPerIp }, 'too many sockets from one address; dropping new ones')
      socket.destroy()
      return
    }
    socketsPerIp.set(ip, n)
    tcpTotal++
    const deadline: AuthDeadline = { raw: socket, tls: null, conn: null, authenticated: false, timer: undefined }
    deadline.timer = setTimeout(() => expire(deadline, ip), opts.authTimeoutMs).unref()
    deadlines.set(socket, deadline)
    socket.once('close', () => {
      clearTimeout(deadline.timer)
      const left = (socketsPerIp.get(ip) ?? 1) - 1
      if (left <= 0) { socketsPerIp.delete(ip); limitLogged.delete(`tcp:${ip}`) } else socketsPerIp.set(ip, left)
      // Re-armed only well below the limit, so a flood at the limit logs once, not per socket.
      if (--tcpTotal < opts.maxConnections) limitLogged.delete('tcp:max')
    })
  }
  const expire = (d: AuthDeadline, remoteAddress: string): void => {
    if (d.authenticated) return
    // bytesRead of the TLS socket counts decrypted application data only (not the handshake).
    const counted = d.conn !== null || (d.tls?.bytesRead ?? 0) > 0
    // Debug, not info: idle sockets are cheap to open, and the lockout they lead to is logged once.
    app.log.debug({ remoteAddress, upgraded: d.conn !== null, counted }, 'closing connection that did not authenticate in time')
    if (d.conn) {
      d.conn.close(CloseCode.PolicyViolation, 'authentication timeout')
      // The close frame is a courtesy: the socket goes shortly after, answered or not.
      setTimeout(() => d.conn!.socket.terminate(), CLOSE_GRACE_MS).unref()
    } else {
      (d.tls ?? d.raw).destroy()
    }
    if (counted) authenticator.recordFailure({ remoteAddress })
  }
  const onSecure = (socket: Socket): void => {
    const d = deadlines.get((socket as Socket & { _parent?: object })._parent ?? socket)
    if (!d) return
    d.tls = socket
    deadlines.set(socket, d)
  }
  // Plain HTTP (anything but an upgrade) gets its answer and then the connection is closed, so
  // an HTTP client cannot keep a socket by asking again and again.
  const onRequest = (_req: unknown, res: { shouldKeepAlive: boolean }): void => { res.shouldKeepAlive = false }
  const onDrop = (): void => logLimitOnce('tcp:max', { limit: server.maxConnections }, 'socket limit reached; dropping new sockets')
  server.on('connection', onTcp)
  server.on('secureConnection', onSecure)
  server.prependListener('request', onRequest)
  server.on('drop', onDrop)
  app.addHook('onClose', async () => {
    server.off('connection', onTcp)
    server.off('secureConnection', onSecure)
    server.off('request', onRequest)
    server.off('drop', onDrop)
  })

  const heartbeat = opts.heartbeatMs > 0
    ? setInterval(() => {
      for (const c of hub.all() as WsConnection[]) {
        if (!c.alive) { c.socket.terminate(); continue }
        c.alive = false
        try { c.socket.ping() } catch { /* closing */ }
      }
    }, opts.heartbeatMs).unref()
    : undefined
  app.addHook('onClose', async () => { if (heartbeat) clearInterval(heartbeat) })

  const handler = (socket: WebSocket, req: { socket: Socket, log: FastifyBaseLogger }): void => {
    const remoteAddress = req.socket.remoteAddress ?? 'unknown'
    const log = app.log.child({ conn: nextId })
    const conn = new WsConnection(nextId++, remoteAddress, socket, log, hub.outbox)
    const info = { remoteAddress }

    // Handlers are attached synchronously (before any await), so no frame is missed.
    socket.on('error', (err) => log.debug({ err }, 'socket error'))
    socket.on('pong', () => { conn.alive = true })

    let refusal: string | null = null
    let limit = ''
    if (hub.size >= opts.maxConnections) { refusal = 'too many connections'; limit = 'ws:max' } else if (hub.countFrom(remoteAddress) >= opts.maxConnectionsPerIp) {
      refusal = 'too many connections from this address'
      limit = `ws:${remoteAddress}`
    } else refusal = authenticator.admit(info)
    if (refusal !== null) {
      if (limit !== '') logLimitOnce(limit, { remoteAddress, reason: refusal }, 'connection limit reached; refusing new connections')
      else log.debug({ remoteAddress, reason: refusal }, 'connection refused')
      socket.close(CloseCode.TryAgainLater, refusal)
      setTimeout(() => socket.terminate(), 1000).unref()
      return
    }

    hub.add(conn)
    log.debug({ remoteAddress }, 'connection opened')
    // The socket's deadline (from TCP accept) now closes this WebSocket, and counts it as a failure.
    const deadline = deadlines.get(req.socket)
    if (deadline) deadline.conn = conn

    let attempts = 0
    let parseErrors = 0
    let queue: Promise<void> | null = null
    let queued = 0

    const ctxFor = (session: AuthSession): RpcContext => ({
      session,
      connection: conn,
      log,
      notify: (event, payload) => conn.sendEvent(event, payload),
    })
    let ctx: RpcContext | null = null

    const dispatch = (id: unknown, method: string, params: unknown): void => {
      if (nestedDeeperThan(params, MAX_PARAMS_DEPTH)) {
        conn.sendText(replyError(id, -1, `Invalid parameter 'params': nested deeper than ${MAX_PARAMS_DEPTH} levels`))
        return
      }
      let out: unknown
      try {
        out = registry.invoke(method, params, ctx!)
      } catch (err) {
        conn.sendText(errorFrame(id, err, method, log))
        return
      }
      if (out instanceof Promise) {
        out.then(
          result => conn.sendText(resultFrame(id, result, method, log)),
          err => conn.sendText(errorFrame(id, err, method, log)),
        )
      } else {
        conn.sendText(resultFrame(id, out, method, log))
      }
    }

    const fail = (id: unknown, code: number, message: string): void => {
      attempts++
      if (attempts >= MAX_ATTEMPTS) {
        log.info({ remoteAddress }, 'authentication failed too often; dropping connection')
        // The reference drops the socket without a close frame after the third failure.
        socket.send(replyError(id, code, message), () => socket.terminate())
      } else {
        conn.sendText(replyError(id, code, message))
      }
      // After the reply: a lockout closes this connection too, and the reply goes out first.
      authenticator.recordFailure(info)
    }

    /** Parses a text frame into the request triple, or answers the parse error and returns null. */
    const parseFrame = (text: string): { id: unknown, method: string, params: unknown } | null => {
      let msg: unknown
      try {
        msg = JSON.parse(text)
      } catch (err) {
        // Parse errors never count toward the 3 attempts (reference rule), but a flood of
        // them before authenticating counts toward the per-address limit.
        conn.sendText(replyError(null, -32700, `Parse error: ${(err as Error).message}`))
        if (!conn.session && ++parseErrors % PARSE_ERRORS_PER_FAILURE === 0) authenticator.recordFailure(info)
        return null
      }
      const obj = msg !== null && typeof msg === 'object' && !Array.isArray(msg) ? msg as Record<string, unknown> : null
      return {
        id: obj && 'id' in obj ? obj.id : null,
        method: obj && typeof obj.method === 'string' ? obj.method : '',
        params: obj ? obj.params : undefined,
      }
    }

    // The hot path after authentication: synchronous, no promise per frame.
    const handleAuthedText = (text: string): void => {
      const req = parseFrame(text)
      if (req) dispatch(req.id, req.method, req.params)
    }

    const handleText = async (text: string): Promise<void> => {
      const req = parseFrame(text)
      if (!req) return
      const { id, method, params } = req
      if (conn.session && ctx) { dispatch(id, method, params); return }
      if (attempts >= MAX_ATTEMPTS) return
      if (method !== 'authenticate') { fail(id, -1, 'Must authenticate first'); return }
      let outcome
      try {
        outcome = await authenticator.authenticate(params, info)
      } catch (err) {
        log.error({ err }, 'authenticate failed unexpectedly')
        outcome = { ok: false as const }
      }
      if (!conn.isOpen) return
      if (!outcome.ok) { fail(id, -2, `Authentication failed (${attempts + 1}/${MAX_ATTEMPTS})`); return }
      if (deadline) { deadline.authenticated = true; clearTimeout(deadline.timer) }
      conn.raisePayloadLimit(opts.maxPayload)
      conn.session = outcome.session
      ctx = ctxFor(outcome.session)
      log.info({ sessionId: outcome.session.id, remoteAddress }, 'authenticated')
      conn.sendText(reply(id, outcome.result))
      hub.markAuthenticated(conn)
    }

    const handleBinary = (data: Buffer): void => {
      if (!conn.session || data.length === 0) return // before authenticate: ignored, as the reference does
      const h = registry.binaryHandler(data[0]!)
      if (!h) { log.debug({ type: data[0] }, 'unknown binary frame type ignored'); return }
      try { h(data, conn) } catch (err) { log.error({ err }, 'binary frame handler failed') }
    }

    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      conn.alive = true
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      // After auth with nothing queued, dispatch at once (requests run concurrently and
      // writes keep their arrival order). Before auth, frames are handled one at a time.
      if (conn.session && queue === null) {
        try {
          if (isBinary) handleBinary(buf)
          else handleAuthedText(buf.toString('utf8'))
        } catch (err) { log.error({ err }, 'frame handling failed') }
        return
      }
      const run = (): void | Promise<void> => isBinary ? handleBinary(buf) : handleText(buf.toString('utf8'))
      queued++
      queue = (queue ?? Promise.resolve()).then(run).catch(err => { log.error({ err }, 'frame handling failed') }).finally(() => {
        if (--queued === 0) queue = null
      })
    })

    socket.on('close', () => {
      hub.remove(conn)
      // Below a cap again: the next time it is reached is a new event, logged again.
      if (hub.size < opts.maxConnections) limitLogged.delete('ws:max')
      if (hub.countFrom(remoteAddress) < opts.maxConnectionsPerIp) limitLogged.delete(`ws:${remoteAddress}`)
      conn.closed()
      if (!conn.session) log.debug({ remoteAddress }, 'connection closed during auth')
      else log.debug({ remoteAddress, sessionId: conn.session.id }, 'disconnected')
    })
  }

  // Any path upgrades; a plain HTTPS GET gets a short hint instead of an error page.
  app.route({
    method: 'GET',
    url: '/*',
    handler: async (_req, res) => res.type('text/plain').send('claudette-server: connect with a WebSocket client\n'),
    wsHandler: handler as never,
  })
}

/** A result that cannot be serialized (a handler bug) becomes an error reply, never a dropped request. */
function resultFrame (id: unknown, result: unknown, method: string, log: FastifyBaseLogger): string {
  try { return reply(id, result) } catch (err) { return errorFrame(id, err, method, log) }
}

function errorFrame (id: unknown, err: unknown, method: string, log: FastifyBaseLogger): string {
  if (err instanceof AppError && err.expose) log.debug({ method, code: err.code }, 'rpc error')
  else log.error({ err, method }, 'rpc handler failed')
  const wire = toWireError(err)
  return replyError(id, wire.code, wire.message, wire.data)
}
