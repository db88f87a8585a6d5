import type { FastifyBaseLogger } from 'fastify'
import { AppError, toWireError } from '../errors.js'
import type { WsConnection } from './connection.js'
import type { Handshake } from './handshake.js'
import type { MethodRegistry } from './registry.js'
import { serializeErrorReply, serializeReply } from './serialize.js'
import type { RpcCall, RpcContext } from './types.js'

const outcomeOf = (err: unknown): RpcCall['outcome'] => err instanceof AppError && err.expose ? 'error' : 'internal'

/** Deepest params accepted (no real method nests this deep; deeper values are a stack-exhaustion attempt). */
export const MAX_PARAMS_DEPTH = 64

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

interface Request { readonly id: unknown, readonly method: string, readonly params: unknown }

/**
 * The frames of one connection, in arrival order. Before authentication they are handled one at
 * a time (the handshake awaits the authenticator). After it, each request is dispatched as it
 * arrives: handlers run synchronously up to their first `await`, so writes keep arrival order
 * while a slow request does not hold up fast ones.
 */
export class Dispatcher {
  /** Frames waiting behind one being handled (before authentication, or just after it). */
  #queue: Promise<void> | null = null
  #queued = 0
  #ctx: RpcContext | null = null

  constructor (
    private readonly conn: WsConnection,
    private readonly registry: MethodRegistry,
    private readonly handshake: Handshake,
  ) {}

  get #log (): FastifyBaseLogger { return this.conn.log }

  /** One WebSocket message. */
  receive (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    // The hot path after authentication, nothing queued: synchronous, no promise per frame.
    if (this.conn.session && this.#queue === null) {
      try {
        if (isBinary) this.#binary(buf)
        else this.#authenticatedText(buf.toString('utf8'))
      } catch (err) { this.#log.error({ err }, 'frame handling failed') }
      return
    }
    const run = (): void | Promise<void> => isBinary ? this.#binary(buf) : this.#text(buf.toString('utf8'))
    this.#queued++
    this.#queue = (this.#queue ?? Promise.resolve()).then(run).catch(err => { this.#log.error({ err }, 'frame handling failed') }).finally(() => {
      if (--this.#queued === 0) this.#queue = null
    })
  }

  #authenticatedText (text: string): void {
    const req = this.#parse(text)
    if (req) this.#dispatch(req)
  }

  async #text (text: string): Promise<void> {
    const req = this.#parse(text)
    if (!req) return
    if (this.conn.session) this.#dispatch(req)
    else await this.handshake.request(req.id, req.method, req.params)
  }

  #binary (data: Buffer): void {
    if (!this.conn.session || data.length === 0) return // before authenticate: ignored, as the reference does
    const h = this.registry.binaryHandler(data[0]!)
    if (!h) { this.#log.debug({ type: data[0] }, 'unknown binary frame type ignored'); return }
    try { h(data, this.conn) } catch (err) { this.#log.error({ err }, 'binary frame handler failed') }
  }

  /** Parses a text frame into the request triple, or answers the parse error and returns null. */
  #parse (text: string): Request | null {
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch (err) {
      this.conn.sendText(serializeErrorReply(null, -32700, `Parse error: ${(err as Error).message}`))
      if (!this.conn.session) this.handshake.parseError()
      return null
    }
    const obj = msg !== null && typeof msg === 'object' && !Array.isArray(msg) ? msg as Record<string, unknown> : null
    return {
      id: obj && 'id' in obj ? obj.id : null,
      method: obj && typeof obj.method === 'string' ? obj.method : '',
      params: obj ? obj.params : undefined,
    }
  }

  /** Checks the params' depth, runs the method and answers with its result or its error. */
  #dispatch ({ id, method, params }: Request): void {
    const { conn } = this
    if (nestedDeeperThan(params, MAX_PARAMS_DEPTH)) {
      conn.sendText(serializeErrorReply(id, -1, `Invalid parameter 'params': nested deeper than ${MAX_PARAMS_DEPTH} levels`))
      return
    }
    const { registry } = this
    // Timed only while someone observes calls (metrics): otherwise no clock read per request.
    const start = registry.observed ? performance.now() : -1
    const done = (outcome: RpcCall['outcome']): void => { if (start >= 0) registry.handled(method, performance.now() - start, outcome) }
    let out: unknown
    try {
      out = registry.invoke(method, params, this.#context())
    } catch (err) {
      conn.sendText(errorFrame(id, err, method, this.#log))
      done(outcomeOf(err))
      return
    }
    if (out instanceof Promise) {
      out.then(
        result => { conn.sendText(resultFrame(id, result, method, this.#log)); done('ok') },
        err => { conn.sendText(errorFrame(id, err, method, this.#log)); done(outcomeOf(err)) },
      )
    } else {
      conn.sendText(resultFrame(id, out, method, this.#log))
      done('ok')
    }
  }

  #context (): RpcContext {
    const conn = this.conn
    return this.#ctx ??= {
      session: conn.session!,
      connection: conn,
      log: conn.log,
      notify: (event, payload) => conn.sendEvent(event, payload),
    }
  }
}

/** A result that cannot be serialized (a handler bug) becomes an error reply, never a dropped request. */
function resultFrame (id: unknown, result: unknown, method: string, log: FastifyBaseLogger): string {
  try { return serializeReply(id, result) } catch (err) { return errorFrame(id, err, method, log) }
}

/**
 * The one mapping from an error a method threw to the wire's error reply: an exposed AppError
 * goes out with its own code, message and data; anything else is logged and answered
 * `Internal error`.
 */
export function errorFrame (id: unknown, err: unknown, method: string, log: FastifyBaseLogger): string {
  if (err instanceof AppError && err.expose) log.debug({ method, code: err.code }, 'rpc error')
  else log.error({ err, method }, 'rpc handler failed')
  const wire = toWireError(err)
  return serializeErrorReply(id, wire.code, wire.message, wire.data)
}
