import type { Server as NetServer, Socket } from 'node:net'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { WebSocket } from 'ws'
import { Admission } from './admission.js'
import type { Authenticator } from './auth.js'
import { WsConnection } from './connection.js'
import { Dispatcher } from './dispatch.js'
import { AuthDeadlines, Handshake } from './handshake.js'
import { Heartbeat } from './heartbeat.js'
import { CloseCode, type LiveConnections } from './hub.js'
import type { ConnectionLimits } from './limits.js'
import type { MethodRegistry } from './registry.js'
import { VERSION } from '../version.js'
import { checkWsInternals } from './ws-internals.js'

/** The health check's path: a plain GET answers it; an upgrade there is a WebSocket like any other. */
export const HEALTH_PATH = '/healthz'

export interface EndpointOptions {
  registry: MethodRegistry
  hub: LiveConnections
  authenticator: Authenticator
  /**
   * The caps on connections and the auth deadline (wall-clock, from TCP accept to a successful
   * `authenticate`; the socket is closed when it passes, and counted as a failed attempt if the
   * peer sent anything after the TLS handshake). Read at each use, so they can change live.
   */
  limits: ConnectionLimits
  /** Largest message once authenticated (the WebSocket server's own limit applies before). */
  maxPayload: number
  /** Ping interval; a peer that misses one ping is dropped. 0 turns it off. */
  heartbeatMs: number
}

/**
 * The WSS endpoint: admission (caps, lockouts), the auth deadline and handshake, and dispatch,
 * wired to one Fastify route. Any path upgrades (the Claudette clients dial `/`).
 */
export const rpcEndpoint: FastifyPluginAsync<EndpointOptions> = async (app: FastifyInstance, opts) => {
  checkWsInternals()
  const { registry, hub, authenticator } = opts
  const server = app.server as unknown as NetServer
  const deadlines = new AuthDeadlines(server, opts.limits, authenticator, app.log)
  const admission = new Admission(server, {
    limits: opts.limits,
    authenticator,
    connections: hub,
    log: app.log,
    onSocket: socket => deadlines.start(socket),
  })
  const heartbeat = new Heartbeat(() => hub.all() as WsConnection[], opts.heartbeatMs)
  app.addHook('onClose', async () => {
    admission.dispose()
    deadlines.dispose()
    heartbeat.dispose()
  })

  let nextId = 1
  const onWebSocket = (socket: WebSocket, req: { socket: Socket }): void => {
    const id = nextId++
    const conn = new WsConnection(id, req.socket.remoteAddress ?? 'unknown', socket, app.log.child({ conn: id }), hub.outbox)
    const { remoteAddress, log } = conn
    const deadline = deadlines.of(req.socket)
    const handshake = new Handshake(conn, authenticator, deadline, opts.maxPayload, () => hub.markAuthenticated(conn))
    const refusal = admission.admitConnection(handshake.info, log)
    if (refusal !== null) {
      conn.close(CloseCode.TryAgainLater, refusal.reason)
      hub.refused(refusal)
      return
    }

    hub.add(conn)
    log.debug({ remoteAddress }, 'connection opened')
    deadline?.attach(conn)
    // Attached synchronously (before any await), so no frame is missed.
    const dispatcher = new Dispatcher(conn, registry, handshake)
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      conn.alive = true
      dispatcher.receive(data, isBinary)
    })
    socket.on('close', () => {
      hub.remove(conn)
      admission.connectionClosed(remoteAddress)
      conn.closed()
      if (!conn.session) log.debug({ remoteAddress }, 'connection closed during auth')
      else log.debug({ remoteAddress, sessionId: conn.session.id }, 'disconnected')
    })
  }

  // Any path upgrades; a plain HTTPS GET gets a short hint instead of an error page, except the
  // health check. That one needs no authentication and says nothing but "up" and the version.
  // It is answered inside this route (not a route of its own) so that every path still upgrades.
  // Like every plain HTTP answer, its socket is closed after it (admission.ts), so a monitor's
  // kept-alive socket never reaches the auth deadline and never counts against its address.
  const health = JSON.stringify({ status: 'ok', version: VERSION })
  app.route({
    method: 'GET',
    url: '/*',
    handler: async (req, res) => {
      if (req.url.split('?')[0] === HEALTH_PATH) {
        return res.header('cache-control', 'no-store').type('application/json').send(health)
      }
      return res.type('text/plain').send('claudette-server: connect with a WebSocket client\n')
    },
    wsHandler: onWebSocket as never,
  })
}
