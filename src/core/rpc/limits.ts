import { Emitter, type Event } from '../lifecycle.js'

export interface ConnectionLimitValues {
  /** Deadline from TCP accept to a successful `authenticate` (applies to connections accepted after a change). */
  authTimeoutMs: number
  maxConnections: number
  maxConnectionsPerIp: number
}

/**
 * The endpoint's connection limits, one object per server that the admission and the auth
 * deadlines read at each use, so a reload (SIGHUP) changes them without touching live connections.
 */
export class ConnectionLimits {
  #values: ConnectionLimitValues
  readonly #changed = new Emitter<ConnectionLimitValues>()
  readonly onDidChange: Event<ConnectionLimitValues> = this.#changed.event

  constructor (initial: ConnectionLimitValues) { this.#values = { ...initial } }

  get authTimeoutMs (): number { return this.#values.authTimeoutMs }
  get maxConnections (): number { return this.#values.maxConnections }
  get maxConnectionsPerIp (): number { return this.#values.maxConnectionsPerIp }

  /** Changes some limits; existing connections are kept even when they are now over a cap. */
  update (patch: Partial<ConnectionLimitValues>): void {
    this.#values = { ...this.#values, ...patch }
    this.#changed.fire({ ...this.#values })
  }
}
