// Broadcast frames are queued per connection and written by a scheduler in short, time-bounded
// slices, instead of all at once inside the broadcast.
//
// Why: one agent event goes to every authenticated connection. Written inline, each event cost
// ~20 µs of TLS write per connection (about 4 ms for 200 connections), and a few events in one
// event-loop turn kept an RPC that arrived meanwhile waiting for all of them (issue 10: the
// `server_info` p99 under load). Queued, a broadcast costs an array push per connection; the
// writes happen in slices of ~1 ms with I/O polled in between, and the frames that meet in one
// connection's queue leave in one corked write (a microbenchmark of 50 TLS WebSockets measured
// 5-7.5 µs of CPU per frame at 4 frames per write, 17-21 µs for a frame written alone).
//
// Order per connection is kept: a direct send to a connection with queued frames writes them
// first, in the same write. A connection whose socket is congested (a client that reads slowly)
// keeps its queue, which holds references to the shared frames rather than per-connection
// encrypted copies, until the socket drains.

/** What the scheduler flushes: a connection with frames queued. */
export interface OutboxOwner {
  /** Writes the queued frames (if the socket can take them). */
  flushQueued (): void
}

/** Flushes connections' queues in FIFO order, a slice at a time. One per server. */
export class OutboxScheduler {
  readonly #pending = new Set<OutboxOwner>()
  #immediate: NodeJS.Immediate | undefined
  #disposed = false

  /** @param sliceMs how long one slice may write before yielding to I/O. */
  constructor (private readonly sliceMs = 1) {}

  /** Number of connections waiting for a slice (diagnostics, tests). */
  get pending (): number { return this.#pending.size }

  /** Schedules `owner` for the next slice (once, however often it is marked). */
  mark (owner: OutboxOwner): void {
    if (this.#disposed) return
    this.#pending.add(owner)
    this.#immediate ??= setImmediate(this.#drain)
  }

  /** Forgets `owner` (it flushed by itself or closed). */
  unmark (owner: OutboxOwner): void { this.#pending.delete(owner) }

  readonly #drain = (): void => {
    this.#immediate = undefined
    const deadline = performance.now() + this.sliceMs
    for (const owner of this.#pending) {
      this.#pending.delete(owner)
      owner.flushQueued()
      if (performance.now() >= deadline) break
    }
    if (this.#pending.size > 0 && !this.#disposed) this.#immediate = setImmediate(this.#drain)
  }

  dispose (): void {
    this.#disposed = true
    if (this.#immediate) clearImmediate(this.#immediate)
    this.#immediate = undefined
    this.#pending.clear()
  }
}
