import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { Token } from '../di.js'
import { DisposableStore, Emitter, toDisposable } from '../lifecycle.js'
import type { AuthSession } from './auth.js'
import type { OutboxScheduler } from './outbox.js'
import { serializeEvent } from './serialize.js'
import type { RpcConnection } from './types.js'
import { WireFrame } from './ws-frame.js'
import { rawSocketOf, setPayloadLimit, type RawSocket } from './ws-internals.js'

/** Most bytes of queued frames written at once by a flush slice (more go in the next slice). */
const FLUSH_MAX_BYTES = 64 * 1024
/** How long a peer gets to answer our close frame before the socket is terminated. */
const CLOSE_TIMEOUT_MS = 1000

interface QueuedFrame { readonly bytes: Buffer, readonly cb: ((err?: Error) => void) | undefined }

/**
 * One WebSocket connection: the RpcConnection services see. Owns its socket's writes (whole
 * frames, and the queue the outbox flushes), its per-connection state, the timers that end its
 * socket, and the disposables plugins attach; `closed()` (the socket's 'close') releases them all.
 */
export class WsConnection implements RpcConnection {
  session: AuthSession | null = null
  readonly disposables = new DisposableStore()
  readonly #onClose = new Emitter<void>()
  readonly #onDrain = new Emitter<void>()
  readonly onClose = this.#onClose.event
  readonly onDrain = this.#onDrain.event
  readonly #state = new Map<symbol, unknown>()
  readonly #closeTimers = new Set<NodeJS.Timeout>()
  /** Whether the peer showed a sign of life (a frame, a pong) since the last heartbeat ping. */
  alive = true

  /**
   * The TLS socket under the WebSocket, for writing whole frames (WireFrame) ourselves. Safe while
   * no extension is negotiated: `ws` then writes every frame synchronously and never queues (it
   * queues only to compress or to read a Blob), so our frames and its own (ping, close) never
   * interleave mid-frame. The server offers no extension; null falls back to `ws.send()`.
   */
  readonly #raw: RawSocket | null
  /** Frames queued by queueFrame (shared buffers, not copies), oldest first, and their total size. */
  #queue: QueuedFrame[] = []
  #queuedBytes = 0

  constructor (
    readonly id: number,
    readonly remoteAddress: string,
    readonly socket: WebSocket,
    readonly log: FastifyBaseLogger,
    private readonly outbox: OutboxScheduler,
  ) {
    const raw = rawSocketOf(socket)
    const onDrain = (): void => {
      if (this.#queue.length > 0) this.outbox.mark(this)
      this.#onDrain.fire()
    }
    raw?.on('drain', onDrain)
    this.disposables.add(toDisposable(() => { raw?.off('drain', onDrain) }))
    this.#raw = raw && socket.extensions === '' ? raw : null
    socket.on('error', (err) => log.debug({ err }, 'socket error'))
    socket.on('pong', () => { this.alive = true })
  }

  get isOpen (): boolean { return this.socket.readyState === this.socket.OPEN }
  /** Bytes not yet handed to the kernel: the socket's buffer plus frames still queued here. */
  get bufferedAmount (): number { return this.socket.bufferedAmount + this.#queuedBytes }

  sendText (text: string): void { if (this.isOpen) this.sendFrame(WireFrame.text(text)) }
  sendEvent (event: string, payload: unknown): void { this.sendText(serializeEvent(event, payload)) }
  sendBinary (data: Uint8Array, cb?: (err?: Error) => void): void { this.sendFrame(WireFrame.binary([data]), cb) }

  sendFrame (frame: WireFrame, cb?: (err?: Error) => void): void {
    // CLOSING counts as closed: nothing may follow our close frame.
    if (!this.isOpen) { cb?.(new Error('connection closed')); return }
    if (!this.#raw) { this.socket.send(frame.payload, { binary: frame.binary }, cb); return }
    if (this.#queue.length === 0) { this.#raw.write(frame.bytes, cb && (err => cb(err ?? undefined))); return }
    // Frames are queued: this one goes behind them (order per connection), and all of them go
    // now unless the socket is congested, in which case its 'drain' sends them, still in order.
    this.#enqueue(frame, cb)
    if (!this.#raw.writableNeedDrain) this.#write(Infinity)
  }

  queueFrame (frame: WireFrame): void {
    if (!this.isOpen) return
    // Without the raw socket (an extension was negotiated) frames go through ws.send at once.
    if (!this.#raw) { this.sendFrame(frame); return }
    this.#enqueue(frame)
    if (this.#queue.length === 1 && !this.#raw.writableNeedDrain) this.outbox.mark(this)
  }

  /** Sends `text` and then drops the socket without a close frame (the reference's third failed attempt). */
  sendLast (text: string): void {
    this.socket.send(text, () => this.socket.terminate())
  }

  #enqueue (frame: WireFrame, cb?: (err?: Error) => void): void {
    this.#queue.push({ bytes: frame.bytes, cb })
    this.#queuedBytes += frame.bytes.length
  }

  /**
   * Called by the outbox scheduler: writes queued frames, up to FLUSH_MAX_BYTES in one write. A
   * socket that needs to drain (its client reads slowly) keeps them queued here, shared with the
   * other connections, instead of an encrypted private copy in its write buffer; 'drain' brings
   * it back.
   */
  flushQueued (): void {
    if (this.#queue.length === 0 || !this.#raw) return
    if (!this.isOpen) { this.#dropQueue(); return }
    if (this.#raw.writableNeedDrain) return
    this.#write(FLUSH_MAX_BYTES)
    if (this.#queue.length > 0) {
      if (!this.#raw.writableNeedDrain) this.outbox.mark(this)
    } else if (!this.#raw.writableNeedDrain) {
      // Everything queued has reached the kernel: tell flow control (terminals), as 'drain' would.
      this.#onDrain.fire()
    }
  }

  /** Writes queued frames, oldest first, up to `maxBytes` (at least one frame), in one corked write. */
  #write (maxBytes: number): void {
    let n = 0
    let bytes = 0
    while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n]!.bytes.length <= maxBytes)) bytes += this.#queue[n++]!.bytes.length
    const batch = n === this.#queue.length ? this.#queue : this.#queue.slice(0, n)
    this.#queue = n === this.#queue.length ? [] : this.#queue.slice(n)
    this.#queuedBytes -= bytes
    if (this.#queue.length === 0) this.outbox.unmark(this)
    const raw = this.#raw!
    if (n === 1) { raw.write(batch[0]!.bytes, batch[0]!.cb && (err => batch[0]!.cb!(err ?? undefined))); return }
    // Corked: the socket takes the shared frames by reference and hands them to TLS in one
    // writev. (A Buffer.concat here would make a garbage copy per connection and flush.)
    raw.cork()
    for (const q of batch) raw.write(q.bytes, q.cb && (err => q.cb!(err ?? undefined)))
    raw.uncork()
  }

  #dropQueue (): void {
    const dropped = this.#queue
    this.#queue = []
    this.#queuedBytes = 0
    this.outbox.unmark(this)
    for (const q of dropped) q.cb?.(new Error('connection closed'))
  }

  /** Closes with a close frame; a peer that has not answered it within `timeoutMs` is cut off. */
  close (code: number, reason: string, timeoutMs = CLOSE_TIMEOUT_MS): void {
    if (this.socket.readyState === this.socket.CLOSED) return
    // What was queued before the close goes before the close frame.
    if (this.#queue.length > 0 && this.isOpen) this.#write(Infinity)
    this.socket.close(code, reason)
    const timer = setTimeout(() => { this.#closeTimers.delete(timer); this.socket.terminate() }, timeoutMs).unref()
    this.#closeTimers.add(timer)
  }

  /** One heartbeat: a peer silent since the last ping is cut off, any other is pinged again. */
  heartbeat (): void {
    if (!this.alive) { this.socket.terminate(); return }
    this.alive = false
    try { this.socket.ping() } catch { /* closing */ }
  }

  /**
   * Raises this connection's largest accepted message (after authentication). `ws` checks its
   * receiver's limit for every frame, so a new value applies from the next frame on.
   */
  raisePayloadLimit (bytes: number): void {
    if (!setPayloadLimit(this.socket, bytes)) this.log.warn('cannot raise the payload limit of this connection (ws internals changed)')
  }

  getState<T> (key: Token<T>): T | undefined { return this.#state.get(key) as T | undefined }
  setState<T> (key: Token<T>, value: T): void { this.#state.set(key, value) }

  /** The socket has closed: drops what is still queued, tells the listeners, releases everything. */
  closed (): void {
    this.#dropQueue()
    for (const timer of this.#closeTimers) clearTimeout(timer)
    this.#closeTimers.clear()
    this.#onClose.fire()
    this.#onClose.dispose()
    this.#onDrain.dispose()
    void this.disposables.dispose()
  }
}
