import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigError } from '../../core/errors.js'
import { parseOptions } from '../../core/options.js'
import { MDNS_OPTIONS, MdnsAdvertiser } from './advertiser.js'
import { MdnsOptions } from './options.js'
import { MDNS } from './types.js'

/**
 * LAN discovery: advertises `_claudette._tcp` once the server listens and says goodbye before
 * it closes. Advertising never stops the server: failures are logged and kept in the status.
 */
const mdnsPlugin: FastifyPluginAsync<Partial<MdnsOptions>> = async (app, raw) => {
  const opts = parseOptions(MdnsOptions, raw, 'mdns')
  app.di.registerInstance(MDNS_OPTIONS, opts)
  const advertiser = app.di.resolve(MdnsAdvertiser)
  app.di.registerInstance(MDNS.Advertiser, advertiser)
  await advertiser.prepare()
  app.addHook('onListen', async function () {
    const addr = app.server.address()
    if (addr === null || typeof addr !== 'object') return
    // Not awaited: probing takes about a second and must not hold up listen().
    void advertiser.start(addr.port, addr.address)
  })
  // Goodbye while the network is still up and before clients are dropped.
  app.addHook('preClose', async () => { await advertiser.stop() })
  app.addHook('onClose', async () => { await advertiser.dispose() })
}

/**
 * Reads createServer's `mdns` option: `false` → null (plugin not registered); `true` or
 * undefined → defaults; an object → the plugin's options (validated by the plugin).
 */
export function mdnsPluginOptions (value: unknown): Partial<MdnsOptions> | null {
  if (value === false) return null
  if (value === true || value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('invalid server option mdns: expected true, false or an object of mdns options')
  }
  return value as Partial<MdnsOptions>
}

export default fp(mdnsPlugin, { name: 'mdns', fastify: '5.x', dependencies: ['tls'], decorators: { fastify: ['di'] } })
export { MdnsOptions } from './options.js'
export { MdnsAdvertiseError } from './errors.js'
export { MDNS, type MdnsAdvertisement, type MdnsState, type MdnsStatus } from './types.js'
export { MdnsAdvertiser, instanceName, shortHostname, txtRecord } from './advertiser.js'
