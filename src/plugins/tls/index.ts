import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { TLS, type TlsIdentity } from './types.js'

export interface TlsPluginOptions { identity: TlsIdentity }

/**
 * Exposes the TLS identity through DI. The identity itself is loaded before Fastify is
 * constructed (https options are fixed at construction), see loadOrCreateTlsIdentity.
 */
const tlsPlugin: FastifyPluginAsync<TlsPluginOptions> = async (app, opts) => {
  app.di.registerInstance(TLS.Identity, opts.identity)
  const days = (opts.identity.notAfter.getTime() - Date.now()) / 86_400_000
  if (days < 30) app.log.warn({ notAfter: opts.identity.notAfter.toISOString() }, 'tls certificate expires soon')
}

export default fp(tlsPlugin, { name: 'tls', fastify: '5.x', decorators: { fastify: ['di'] } })
export { loadOrCreateTlsIdentity, fingerprintOf } from './identity.js'
