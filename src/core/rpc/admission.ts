import type { Server as NetServer, Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Disposable } from '../lifecycle.js'
import type { AuthRequestInfo, Authenticator } from './auth.js'
import type { ConnectionLimits } from './limits.js'
import type { RefusedConnection } from './types.js'

/** Raw sockets (TLS handshakes, requests before the upgrade) allowed above the WebSocket caps. */
const SOCKET_HEADROOM = 8

export interface AdmissionOptions {
  /** Read at each use: a reload changes them for the next socket and connection. */
  readonly limits: ConnectionLimits
  readonly authenticator: Authenticator
  /** The live WebSocket connections, counted for the caps. */
  readonly connections: { readonly size: number, countFrom (remoteAddress: string): number }
  readonly log: FastifyBaseLogger
  /** Called for every TCP socket let in (the auth deadline starts here). */
  readonly onSocket: (socket: Socket) => void
}

/**
 * Who may hold a socket or a connection: the caps on TCP sockets (in total and per address),
 * on WebSocket connections, and the authenticator's lockouts. Each cap is logged once when it
 * starts refusing, not once per refused socket, and again only after it was left.
 */
export class Admission implements Disposable {
  readonly #server: NetServer
  readonly #opts: AdmissionOptions
  readonly #socketsPerIp = new Map<string, number>()
  #sockets = 0
  readonly #limitLogged = new Set<string>()
  readonly #limitsChanged: Disposable

  constructor (server: NetServer, opts: AdmissionOptions) {
    this.#server = server
    this.#opts = opts
    server.maxConnections = opts.limits.maxConnections + SOCKET_HEADROOM
    this.#limitsChanged = opts.limits.onDidChange(l => {
      server.maxConnections = l.maxConnections + SOCKET_HEADROOM
      this.#limitLogged.clear()
    })
    server.on('connection', this.#onTcp)
    server.prependListener('request', this.#onRequest)
    server.on('drop', this.#onDrop)
  }

  /**
   * May a WebSocket from `remoteAddress` stay? Returns the refusal, or null. `info` is what the
   * authenticator sees for this connection.
   */
  admitConnection (info: AuthRequestInfo, log: FastifyBaseLogger): RefusedConnection | null {
    const { connections, limits: { maxConnections, maxConnectionsPerIp } } = this.#opts
    const { remoteAddress } = info
    let refusal: string | null = null
    let limit = ''
    if (connections.size >= maxConnections) {
      refusal = 'too many connections'
      limit = 'ws:max'
    } else if (connections.countFrom(remoteAddress) >= maxConnectionsPerIp) {
      refusal = 'too many connections from this address'
      limit = `ws:${remoteAddress}`
    } else refusal = this.#opts.authenticator.admit(info)
    if (refusal === null) return null
    if (limit !== '') this.#logLimitOnce(limit, { remoteAddress, reason: refusal }, 'connection limit reached; refusing new connections')
    else log.debug({ remoteAddress, reason: refusal }, 'connection refused')
    return { remoteAddress, cause: limit !== '' ? 'limit' : 'authenticator', reason: refusal }
  }

  /** A WebSocket connection closed: below a cap again, the next time it is reached is logged again. */
  connectionClosed (remoteAddress: string): void {
    const { connections, limits: { maxConnections, maxConnectionsPerIp } } = this.#opts
    if (connections.size < maxConnections) this.#limitLogged.delete('ws:max')
    if (connections.countFrom(remoteAddress) < maxConnectionsPerIp) this.#limitLogged.delete(`ws:${remoteAddress}`)
  }

  dispose (): void {
    this.#limitsChanged.dispose()
    this.#server.off('connection', this.#onTcp)
    this.#server.off('request', this.#onRequest)
    this.#server.off('drop', this.#onDrop)
  }

  readonly #onTcp = (socket: Socket): void => {
    const { maxConnectionsPerIp } = this.#opts.limits
    const ip = socket.remoteAddress ?? 'unknown'
    const n = (this.#socketsPerIp.get(ip) ?? 0) + 1
    if (n > maxConnectionsPerIp + SOCKET_HEADROOM) {
      this.#logLimitOnce(`tcp:${ip}`, { remoteAddress: ip, limit: maxConnectionsPerIp }, 'too many sockets from one address; dropping new ones')
      socket.destroy()
      return
    }
    this.#socketsPerIp.set(ip, n)
    this.#sockets++
    this.#opts.onSocket(socket)
    socket.once('close', () => {
      const left = (this.#socketsPerIp.get(ip) ?? 1) - 1
      if (left <= 0) { this.#socketsPerIp.delete(ip); this.#limitLogged.delete(`tcp:${ip}`) } else this.#socketsPerIp.set(ip, left)
      // Re-armed only well below the limit, so a flood at the limit logs once, not per socket.
      if (--this.#sockets < this.#opts.limits.maxConnections) this.#limitLogged.delete('tcp:max')
    })
  }

  // Plain HTTP (anything but an upgrade) gets its answer and then the connection is closed, so
  // an HTTP client cannot keep a socket by asking again and again.
  readonly #onRequest = (_req: unknown, res: { shouldKeepAlive: boolean }): void => { res.shouldKeepAlive = false }

  readonly #onDrop = (): void => {
    this.#logLimitOnce('tcp:max', { limit: this.#server.maxConnections }, 'socket limit reached; dropping new sockets')
  }

  #logLimitOnce (key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#limitLogged.has(key)) return
    this.#limitLogged.add(key)
    this.#opts.log.warn(fields, msg)
  }
}
