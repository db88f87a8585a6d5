import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { formatConnectionString } from '../../core/connect-host.js'
import { CORE, resolve } from '../../core/tokens.js'
import { AGENTS } from '../agents/types.js'
import { AUTH } from '../auth/types.js'
import { TERM } from '../terminals/types.js'
import { TLS } from '../tls/types.js'
import { ControlSocket } from './channel.js'
import { CONTROL, type ServedConnection, type ServerStatus } from './types.js'

/**
 * The local control channel: what `claudette-server status`, `show-connection-string` and `qr`
 * ask the running server of a home. The socket is claimed when the server is about to listen
 * (`CONTROL.Channel.claim()`, called by createServer's listen()) and removed on close; until the
 * main listener is bound, requests are answered 503. The
 * figures come from the live objects at each request; terminals and agents count 0 when their
 * plugin is not registered.
 */
const controlPlugin: FastifyPluginAsync = async app => {
  const facts = resolve(app.di, CORE.Facts)
  // Updated in place by a certificate rotation.
  const identity = resolve(app.di, TLS.Identity)
  const hub = resolve(app.di, CORE.Hub)
  const auth = resolve(app.di, AUTH.Service)
  const terminals = app.di.isRegistered(TERM.Registry, true) ? resolve(app.di, TERM.Registry) : null
  const agents = app.di.isRegistered(AGENTS.Registry, true) ? resolve(app.di, AGENTS.Registry) : null
  let listeningSince = Date.now()
  app.addHook('onListen', async () => { listeningSince = Date.now() })

  const listen = (): { address: string, port: number } | null => {
    const addr = app.server.listening ? app.server.address() : null
    return addr !== null && typeof addr === 'object' ? { address: addr.address, port: addr.port } : null
  }
  const channel = new ControlSocket(facts.home, {
    status: (): ServerStatus | null => {
      const bound = listen()
      return bound && {
        version: facts.version,
        pid: process.pid,
        uptime_s: Math.floor((Date.now() - listeningSince) / 1000),
        listen: bound,
        fingerprint: identity.fingerprint,
        devices_online: new Set(hub.authenticated().map(c => c.session!.id)).size,
        connections: hub.size,
        terminals: terminals?.size ?? 0,
        agents_running: agents?.size ?? 0,
        rss_bytes: process.memoryUsage.rss(),
      }
    },
    connection: (): ServedConnection | null => {
      const bound = listen()
      return bound && { connection_string: formatConnectionString(facts.connectHost, bound.port, auth.pairingToken), host: facts.connectHost, port: bound.port }
    },
  }, resolve(app.di, CORE.Log).child({ plugin: 'control' }))
  app.di.registerInstance(CONTROL.Channel, channel)
  app.addHook('onClose', async () => { await channel.dispose() })
}

export default fp(controlPlugin, { name: 'control', fastify: '5.x', dependencies: ['tls', 'auth'], decorators: { fastify: ['di'] } })
export { CONTROL, type ControlChannel, type ServedConnection, type ServerStatus } from './types.js'
export { askServer, type ControlAnswers } from './client.js'
export { controlLocation, type ControlLocation } from './paths.js'
export { ControlHomeInUseError, ControlNoAnswerError, ControlSocketError } from './errors.js'
