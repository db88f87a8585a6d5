import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Registry } from 'prom-client'
import { parseOptions } from '../../core/options.js'
import { CORE, resolve, type Token } from '../../core/tokens.js'
import { AGENTS } from '../agents/types.js'
import { AUTH } from '../auth/types.js'
import { TERM } from '../terminals/types.js'
import { registerServerMetrics } from './collectors.js'
import { MetricsHttpEndpoint } from './endpoint.js'
import { MetricsOptions, parseMetricsBind } from './options.js'
import { METRICS } from './types.js'

/**
 * Prometheus metrics (prom-client) of one server: a registry of its own, fed by core's and the
 * plugins' events, served on a plain-HTTP listener of its own once the server listens.
 */
const metricsPlugin: FastifyPluginAsync<Partial<MetricsOptions>> = async (app, raw) => {
  const opts = parseOptions(MetricsOptions, raw, 'metrics')
  const bind = parseMetricsBind(opts.bind, opts.public)
  const optional = <T>(t: Token<T>): T | null => app.di.isRegistered(t, true) ? resolve(app.di, t) : null
  const registry = new Registry()
  const subscriptions = registerServerMetrics(registry, {
    rpc: resolve(app.di, CORE.Rpc),
    hub: resolve(app.di, CORE.Hub),
    auth: optional(AUTH.Service),
    terminals: optional(TERM.Registry),
    agents: optional(AGENTS.Registry),
  })
  const endpoint = new MetricsHttpEndpoint(registry, bind, resolve(app.di, CORE.Log).child({ plugin: 'metrics' }))
  app.di.registerInstance(METRICS.Endpoint, endpoint)
  app.addHook('onClose', async () => {
    await endpoint.dispose()
    await subscriptions.dispose()
    registry.clear()
  })
}

export default fp(metricsPlugin, { name: 'metrics', fastify: '5.x', dependencies: ['auth'], decorators: { fastify: ['di'] } })
export { MetricsOptions, parseMetricsBind } from './options.js'
