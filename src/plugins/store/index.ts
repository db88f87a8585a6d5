import { join } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { DB_FILE, openStore } from './database.js'
import { STORE, type ConfigFile } from './types.js'

export interface StorePluginOptions {
  home: string
  config: ConfigFile
}

/** Opens the database for this server and closes it last among the services. */
const storePlugin: FastifyPluginAsync<StorePluginOptions> = async (app, opts) => {
  const store = openStore(join(opts.home, DB_FILE), { synchronous: 'NORMAL' })
  app.di.registerInstance(STORE.Store, store)
  app.di.registerInstance(STORE.Config, opts.config)
  app.addHook('onClose', async () => store.close())
}

export default fp(storePlugin, { name: 'store', fastify: '5.x', decorators: { fastify: ['di'] } })
export { openStore, DB_FILE } from './database.js'
export {
  configFile, loadOrCreateConfig, fileSettings, configKey, configValueFromText, durationMs, parseConfigText, closestKnown,
  PairingTokenInvalidError, CONFIG_FILE, CONFIG_KEYS, DEFAULT_PORT, DEFAULT_BIND, ServerTomlSchema, type ConfigKey,
} from './config-file.js'
