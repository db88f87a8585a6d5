import { Emitter, type DisposableStore, type Event } from '../lifecycle.js'
import type { Token } from '../tokens.js'
import type { AuthSession } from './auth.js'
import { OutboxScheduler } from './outbox.js'
import { WireFrame } from './ws-frame.js'

/** Close codes the server uses (4000–4999 are application codes). */
export const CloseCode = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  TryAgainLater: 1013,
  SessionRevoked: 4001,
} as const

/** One WebSocket connection as services see it (no `ws` types leak out). */
export interface RpcConnection {
  readonly id: number
  readonly remoteAddress: string
  /** null until `authenticate` succeeds. */
  readonly session: AuthSession | null
  readonly isOpen: boolean
  /** Bytes queued in the socket but not yet written (for flow control). */
  readonly bufferedAmount: number
  /** Fires when the socket's write buffer drains. */
  readonly onDrain: Event<void>
  readonly onClose: Event<void>
  /** Disposed when the connection closes: put per-connection subscriptions here. */
  readonly disposables: DisposableStore
  sendEvent (event: string, payload: unknown): void
  /** Sends an already-serialized JSON text frame (serialize once, send to many). */
  sendText (text: string): void
  sendBinary (data: Uint8Array, cb?: (err?: Error) => void): void
  /** Sends a frame built once with WireFrame.text/binary (build once, send to many, one write each). */
  sendFrame (frame: WireFrame, cb?: (err?: Error) => void): void
  /**
   * Queues a frame to be written soon, in a time-bounded slice, together with whatever else is
   * queued for this connection (see outbox.ts). For fan-out that is not latency-critical; order
   * with sendFrame is kept. Dropped if the connection closes first.
   */
  queueFrame (frame: WireFrame): void
  close (code: number, reason: string): void
  /** Per-connection state owned by plugins, keyed by their own tokens. */
  getState<T> (key: Token<T>): T | undefined
  setState<T> (key: Token<T>, value: T): void
}

export const serializeEvent = (event: string, payload: unknown): string =>
  `{"event":${JSON.stringify(event)},"payload":${JSON.stringify(payload ?? null)}}`

/** Every live connection of one server; the place to broadcast from. */
export class ConnectionHub {
  readonly #connections = new Set<RpcConnection>()
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
  add (c: RpcConnection): void { this.#connections.add(c) }
  /** @internal */
  markAuthenticated (c: RpcConnection): void { this.#onAuthenticated.fire(c) }
  /** @internal */
  remove (c: RpcConnection): void {
    if (this.#connections.delete(c)) this.#onClosed.fire(c)
  }

  dispose (): void {
    this.outbox.dispose()
    this.#onAuthenticated.dispose()
    this.#onClosed.dispose()
  }
}
