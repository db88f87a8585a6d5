import { isIP } from 'node:net'
import { Type, type Static } from 'typebox'
import { MetricsBindError } from './errors.js'

/** Options of the metrics plugin (`createServer({ metrics: { bind, public } })`; absent: no metrics). */
export const MetricsOptions = Type.Object({
  /** `host:port` of the plain-HTTP listener serving `GET /metrics` (`127.0.0.1:9464`, `[::1]:9464`; port 0: any free one). */
  bind: Type.String({ minLength: 1, maxLength: 300 }),
  /** Allow a `bind` host that is not loopback (the metrics are unauthenticated, over plain HTTP). */
  public: Type.Boolean({ default: false }),
}, { additionalProperties: false })
export type MetricsOptions = Static<typeof MetricsOptions>

export interface MetricsAddress { readonly host: string, readonly port: number }

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' ||
  (isIP(host) === 4 && host.startsWith('127.')) ||
  /^::ffff:127\./i.test(host)

/**
 * Parses `host:port` (an IPv6 host in brackets) and checks the loopback rule. The message names
 * the `--metrics-bind` flag and the option, so it reads right from the CLI and the library.
 */
export function parseMetricsBind (bind: string, allowPublic: boolean): MetricsAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(bind.trim())
  const host = m ? (m[1] ?? m[2])! : ''
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535 || (m[1] !== undefined && isIP(host) !== 6)) {
    throw new MetricsBindError(`--metrics-bind (metrics.bind) must be host:port, such as 127.0.0.1:9464 or [::1]:9464 (got '${bind}')`)
  }
  if (!allowPublic && !isLoopback(host)) {
    throw new MetricsBindError(`--metrics-bind ${bind} is not a loopback address: metrics are served without authentication over plain HTTP; add --metrics-bind-public (metrics.public) to serve them on ${host} anyway`)
  }
  return { host, port }
}
