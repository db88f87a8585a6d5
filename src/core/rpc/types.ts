// The RPC layer as plugins and embedders see it: interfaces only (the DI tokens are typed by
// them), so nothing here imports an implementation and no module that implements them is
// needed to name them.
import type { FastifyBaseLogger } from 'fastify'
import type { Static, TSchema } from 'typebox'
import type { Token } from '../di.js'
import type { DisposableStore, Event } from '../lifecycle.js'
import type { AuthSession } from './auth.js'
import type { WireFrame } from './ws-frame.js'

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

/** A WebSocket connection that was refused before it could authenticate. */
export interface RefusedConnection {
  readonly remoteAddress: string
  /** `limit`: a connection cap; `authenticator`: the authenticator refused the address (a lockout). */
  readonly cause: 'limit' | 'authenticator'
  readonly reason: string
}

/** Every live connection of one server; the place to broadcast from (`CORE.Hub`). */
export interface ConnectionHub {
  /** A WebSocket connection was admitted (before it authenticates). */
  readonly onOpened: Event<RpcConnection>
  /** A WebSocket connection was refused at admission (caps, lockouts) and closed. */
  readonly onRefused: Event<RefusedConnection>
  readonly onAuthenticated: Event<RpcConnection>
  readonly onClosed: Event<RpcConnection>
  readonly size: number
  countFrom (remoteAddress: string): number
  all (): RpcConnection[]
  authenticated (): RpcConnection[]
  forSession (sessionId: string): RpcConnection[]
  /**
   * Sends an event to every authenticated connection (that `filter` accepts): serialized and
   * framed once, queued on each connection and written in time-bounded slices (outbox.ts).
   */
  broadcast (event: string, payload: unknown, filter?: (c: RpcConnection) => boolean): void
  /** Closes every connection of a session (after revocation). Returns how many were closed. */
  closeSession (sessionId: string, code: number, reason: string): number
}

/** What a handler gets besides its params. */
export interface RpcContext {
  /** The device session the connection authenticated as. */
  readonly session: AuthSession
  /** The connection the request came on (send events to it, keep per-connection state). */
  readonly connection: RpcConnection
  readonly log: FastifyBaseLogger
  /** Sends an event to the calling connection only. Use the ConnectionHub to broadcast. */
  notify (event: string, payload: unknown): void
}

export type RpcHandler<P> = (params: P, ctx: RpcContext) => unknown

/** A method contributed by a plugin: `params` is a TypeBox schema or plain JSON Schema. */
export interface RpcMethod<S extends TSchema = TSchema> {
  readonly name: string
  readonly params?: S
  readonly handler: RpcHandler<Static<S>>
}

/** A method with its params type erased, for method tables. */
export interface AnyRpcMethod {
  readonly name: string
  readonly params?: TSchema
  readonly handler: RpcHandler<any>
}

/**
 * One RPC request after authentication, answered: `method` is the registered name, or null when
 * no such method is registered (so observers never see names a client made up). `outcome`:
 * `ok`, `error` (an error meant for the client: bad params, not found, …) or `internal` (a bug
 * or an unexpected failure, answered `Internal error`).
 */
export interface RpcCall {
  readonly method: string | null
  readonly ms: number
  readonly outcome: 'ok' | 'error' | 'internal'
}

/** A binary frame handler for frames whose first byte is `type` (after authentication only). */
export type BinaryHandler = (frame: Buffer, connection: RpcConnection) => void

/** The per-server table of RPC methods (`CORE.Rpc`, `app.rpc`). */
export interface RpcRegistry {
  register<S extends TSchema> (method: RpcMethod<S>): void
  register (method: { name: string, params?: Record<string, unknown>, handler: RpcHandler<any> }): void
  /** Registers several methods at once (a plugin's method table). */
  registerAll (methods: readonly AnyRpcMethod[]): void
  has (name: string): boolean
  readonly names: string[]
  /** The params schema a method was registered with (for docs, clients and fuzzing). */
  schemaOf (name: string): TSchema | undefined
  registerBinary (type: number, handler: BinaryHandler): void
  /** Capabilities announced by `server_info` (e.g. "pty-binary"). */
  addCapability (name: string): void
  readonly capabilities: readonly string[]
  /** Fires when a request has been answered (for metrics; see RpcCall). */
  readonly onDidHandle: Event<RpcCall>
}
