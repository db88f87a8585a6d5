import type { Server as TlsServer } from 'node:tls'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { TLS_PROTOCOL_OPTIONS } from './ciphers.js'
import { TLS, type TlsIdentity } from './types.js'
import { TlsIdentityWatcher } from './watcher.js'

export interface TlsPluginOptions {
  identity: TlsIdentity
  /** How often key.pem/cert.pem are checked for a rotation (`rotate-certificate`). Default 1000. */
  watchIntervalMs?: number
}

/**
 * Exposes the TLS identity through DI. The identity itself is loaded before Fastify is
 * constructed (https options are fixed at construction), see loadOrCreateTlsIdentity.
 */
const tlsPlugin: FastifyPluginAsync<TlsPluginOptions> = async (app, opts) => {
  // Our own copy, updated in place on rotation, so holders always see the current identity.
  const identity = { ...opts.identity }
  app.di.registerInstance(TLS.Identity, identity)
  const watcher = new TlsIdentityWatcher(identity, next => {
    (app.server as unknown as TlsServer).setSecureContext({ key: next.keyPem, cert: next.certPem, ...TLS_PROTOCOL_OPTIONS })
  }, app.log)
  app.di.registerInstance(TLS.Watcher, watcher)
  await watcher.start(opts.watchIntervalMs ?? 1000)
  app.addHook('onClose', async () => watcher.dispose())
  const days = (opts.identity.notAfter.getTime() - Date.now()) / 86_400_000
  if (days < 30) app.log.warn({ notAfter: opts.identity.notAfter.toISOString() }, 'tls certificate expires soon')
}

export default fp(tlsPlugin, { name: 'tls', fastify: '5.x', decorators: { fastify: ['di'] } })
export { loadOrCreateTlsIdentity, rotateTlsIdentity, fingerprintOf } from './identity.js'
export { TLS_PROTOCOL_OPTIONS } from './ciphers.js'
