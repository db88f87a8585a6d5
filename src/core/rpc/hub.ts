import { Emitter } from '../lifecycle.js'
import { OutboxScheduler } from './outbox.js'
import { serializeEvent } from './serialize.js'
import type { ConnectionHub, RefusedConnection, RpcConnection } from './types.js'
import { WireFrame } from './ws-frame.js'

export type { ConnectionHub, RefusedConnection, RpcConnection } from './types.js'
export { serializeEvent } from './serialize.js'

/** Close codes the server uses (4000–4999 are application codes). */
export const CloseCode = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  TryAgainLater: 1013,
  SessionRevoked: 4001,
} as const

/** Every live connection of one server (the `ConnectionHub` behind `CORE.Hub`). */
export class LiveConnections implements ConnectionHub {
  readonly #connections = new Set<RpcConnection>()
  readonly #onOpened = new Emitter<RpcConnection>()
  readonly #onRefused = new Emitter<RefusedConnection>()
  readonly onOpened = this.#onOpened.event
  readonly onRefused = this.#onRefused.event
  readonly #onAuthenticated = new Emitter<RpcConnection>()
  readonly #onClosed = new Emitter<RpcConnection>()
  readonly onAuthenticated = this.#onAuthenticated.event
  readonly onClosed = this.#onClosed.event
  /** Writes connections' queued frames (queueFrame, broadcast) in slices. */
  readonly outbox = new OutboxScheduler()

  get size (): number { return this.#connections.size }
  countFrom (remoteAddress: string): number {
    let n = 0
    for (const c of this.#connections) if (c.remoteAddress === remoteAddress) n++
    return n
  }

  all (): RpcConnection[] { return [...this.#connections] }
  authenticated (): RpcConnection[] { return this.all().filter(c => c.session !== null && c.isOpen) }
  forSession (sessionId: string): RpcConnection[] { return this.authenticated().filter(c => c.session?.id === sessionId) }

  /**
   * Sends an event to every authenticated connection: serialized and framed once, queued on each
   * connection and written in time-bounded slices (outbox.ts), so a fan-out to hundreds of
   * connections does not hold up RPCs.
   */
  broadcast (event: string, payload: unknown, filter?: (c: RpcConnection) => boolean): void {
    const frame = WireFrame.text(serializeEvent(event, payload))
    for (const c of this.#connections) if (c.session !== null && c.isOpen && (!filter || filter(c))) c.queueFrame(frame)
  }

  /** Closes every connection of a session (after revocation). Returns how many were closed. */
  closeSession (sessionId: string, code: number, reason: string): number {
    const conns = this.forSession(sessionId)
    for (const c of conns) c.close(code, reason)
    return conns.length
  }

  /** @internal used by the endpoint */
  add (c: RpcConnection): void {
    this.#connections.add(c)
    this.#onOpened.fire(c)
  }
  /** @internal a connection refused at admission */
  refused (e: RefusedConnection): void { this.#onRefused.fire(e) }
  /** @internal */
  markAuthenticated (c: RpcConnection): void { this.#onAuthenticated.fire(c) }
  /** @internal */
  remove (c: RpcConnection): void {
    if (this.#connections.delete(c)) this.#onClosed.fire(c)
  }

  dispose (): void {
    this.outbox.dispose()
    this.#onOpened.dispose()
    this.#onRefused.dispose()
    this.#onAuthenticated.dispose()
    this.#onClosed.dispose()
  }
}
