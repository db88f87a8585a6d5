import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { parseOptions } from '../../core/options.js'
import { CORE, resolve } from '../../core/tokens.js'
import { STORE } from '../store/types.js'
import { authMethods } from './methods.js'
import { AuthOptions } from './options.js'
import { AUTH_OPTIONS, AuthService } from './service.js'
import { DeviceSessions, PairingTokens } from './sessions.js'
import { AUTH } from './types.js'

/** Pairing, device sessions, limits; provides core's Authenticator. */
const authPlugin: FastifyPluginAsync<Partial<AuthOptions>> = async (app, raw) => {
  const opts = parseOptions(AuthOptions, raw, 'auth')
  app.di.registerInstance(AUTH_OPTIONS, opts)
  const store = resolve(app.di, STORE.Store)
  const sessions = new DeviceSessions(store)
  app.di.registerInstance(AUTH.Sessions, sessions)
  app.di.registerInstance(AUTH.PairingTokens, new PairingTokens(store, sessions))
  const service = app.di.resolve(AuthService)
  app.di.registerInstance(AUTH.Service, service)
  app.di.registerInstance(CORE.Authenticator, service)
  await service.start()
  resolve(app.di, CORE.Rpc).registerAll(authMethods(service, resolve(app.di, AUTH.Sessions)))
  app.addHook('onClose', async () => service.dispose())
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['store'], decorators: { fastify: ['di'] } })
export { AuthOptions } from './options.js'
export { DeviceSessions, PairingTokens } from './sessions.js'
