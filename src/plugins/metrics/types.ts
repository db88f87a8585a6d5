import type { Registry } from 'prom-client'
import { token } from '../../core/tokens.js'
import type { MetricsAddress } from './options.js'

/** The metrics endpoint of one server: its own registry and its own plain-HTTP listener. */
export interface MetricsEndpoint {
  /** This server's prom-client registry (never the global default): add your own metrics to it. */
  readonly registry: Registry
  /** Where it listens once listen() resolved (the real port also with port 0), else null. */
  readonly address: MetricsAddress | null
  /** http://host:port/metrics once listening, else null. */
  readonly url: string | null
  listen (): Promise<void>
}

export const METRICS = {
  Endpoint: token<MetricsEndpoint>('MetricsEndpoint'),
} as const
