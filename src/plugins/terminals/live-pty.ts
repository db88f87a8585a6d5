import type { FastifyBaseLogger } from 'fastify'
import { Emitter, type Disposable, type Event } from '../../core/lifecycle.js'
import type { RpcConnection } from '../../core/rpc/hub.js'
import type { TerminalsOptions } from './options.js'
import { OutputBufferer } from './output-bufferer.js'
import { Scrollback } from './scrollback.js'
import type { PtyPlacement, TerminalExit, TerminalSession } from './types.js'
import { PtyViewers, type ViewerState } from './viewers.js'

/** While paused, re-check the watermarks this often in case a drain event was missed. */
const PAUSE_POLL_MS = 250

type LivePtyOptions = Pick<TerminalsOptions, 'scrollbackBytes' | 'maxFrameBytes' | 'maxJsonFrameBytes' | 'highWaterMark' | 'lowWaterMark' | 'idleDetachedMs' | 'killTimeoutMs'>

/**
 * One running terminal and everything it owns: the provider's session, the output bufferer,
 * scrollback, flow control (paused while a viewer is slow), its viewers, the idle and kill
 * timers, and the exit barrier (`exited`). Its life: alive → (exit) → exited; close() takes it
 * out of service at any point (SIGHUP, then SIGKILL), and it disposes itself once closed and
 * exited. dispose() releases everything in one place.
 */
export class LivePty implements Disposable {
  readonly workspaceId: string | null
  readonly cwd: string
  readonly scrollback: Scrollback
  /** Resolves when the terminal has exited. */
  readonly exited: Promise<void>
  /** Fires once, when the pty is closed (by close() or its idle timeout). */
  readonly onClose: Event<string>

  readonly #term: TerminalSession
  readonly #viewers: PtyViewers
  readonly #output: OutputBufferer
  /** The provider session's subscriptions (disposed synchronously, before the session). */
  readonly #subs: Disposable[]
  readonly #onClose = new Emitter<string>()
  readonly #opts: LivePtyOptions
  readonly #log: FastifyBaseLogger
  #markExited!: () => void
  #cols: number
  #rows: number
  #alive = true
  #exitCode: number | null = null
  #signal: string | null = null
  #closed = false
  #disposed = false
  #paused = false
  #pausePoll: NodeJS.Timeout | undefined
  #idleTimer: NodeJS.Timeout | undefined
  #killTimer: NodeJS.Timeout | undefined

  constructor (
    readonly id: number,
    /** The device session that owns it. */
    readonly sessionId: string,
    placement: PtyPlacement,
    size: { cols: number, rows: number },
    term: TerminalSession,
    opts: LivePtyOptions,
    log: FastifyBaseLogger,
  ) {
    this.workspaceId = placement.workspaceId
    this.cwd = placement.cwd
    this.#cols = size.cols
    this.#rows = size.rows
    this.#term = term
    this.#opts = opts
    this.#log = log
    this.scrollback = new Scrollback(opts.scrollbackBytes)
    this.exited = new Promise<void>(resolve => { this.#markExited = resolve })
    this.onClose = this.#onClose.event
    this.#viewers = new PtyViewers(id, opts.highWaterMark, opts.maxJsonFrameBytes, {
      removed: () => {
        this.#maybeResume()
        if (this.#viewers.size === 0 && !this.#closed) this.#startIdle()
      },
      drained: () => { this.#maybeResume() },
      congested: () => { this.#pause() },
    })
    this.#output = new OutputBufferer(this.#viewers.head, opts.maxFrameBytes, parts => {
      this.scrollback.append(this.#viewers.output(parts, !this.#paused))
    })
    this.#subs = [
      term.onData(chunk => { this.#output.push(chunk) }),
      term.onExit(e => { this.#onExit(e) }),
    ]
  }

  get pid (): number { return this.#term.pid }
  get alive (): boolean { return this.#alive }

  get cols (): number { return this.#cols }
  get rows (): number { return this.#rows }
  get exitCode (): number | null { return this.#exitCode }
  get signal (): string | null { return this.#signal }

  /** Starts sending output to `conn` (idempotent); `state` is the connection's viewer state. */
  attach (conn: RpcConnection, state: ViewerState): void {
    if (!this.#viewers.add(conn, state)) return
    if (this.#idleTimer) { clearTimeout(this.#idleTimer); this.#idleTimer = undefined }
  }

  detach (conn: RpcConnection): void { this.#viewers.delete(conn) }

  /** Starts the idle timeout when no connection views it (a pty spawned with no connection). */
  detached (): void { if (this.#viewers.size === 0) this.#startIdle() }

  write (data: Uint8Array): void {
    if (data.length > 0) this.#term.write(data)
  }

  resize (cols: number, rows: number): void {
    this.#cols = cols
    this.#rows = rows
    if (this.#alive) this.#term.resize(cols, rows)
  }

  /** Takes the pty out of service and kills it: SIGHUP now, SIGKILL after killTimeoutMs. Idempotent. */
  close (reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#onClose.fire(reason)
    if (this.#idleTimer) { clearTimeout(this.#idleTimer); this.#idleTimer = undefined }
    this.#log.info({ ptyId: this.id, reason }, 'pty closing')
    if (!this.#alive) { this.dispose(); return }
    // A paused reader would keep the child blocked on its output: let it drain to exit.
    this.#paused = false
    clearInterval(this.#pausePoll)
    this.#pausePoll = undefined
    this.#term.resume()
    this.#term.kill('SIGHUP')
    this.#killTimer = setTimeout(() => {
      this.#killTimer = undefined
      this.#log.warn({ ptyId: this.id }, 'pty ignored SIGHUP; sending SIGKILL')
      this.#term.kill('SIGKILL')
    }, this.#opts.killTimeoutMs).unref()
  }

  /** Drops every timer, buffer, viewer and subscription, and the provider's session. Idempotent. */
  dispose (): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#output.dispose()
    if (this.#killTimer) { clearTimeout(this.#killTimer); this.#killTimer = undefined }
    if (this.#idleTimer) { clearTimeout(this.#idleTimer); this.#idleTimer = undefined }
    clearInterval(this.#pausePoll)
    this.#pausePoll = undefined
    this.#viewers.dispose()
    for (const s of this.#subs) void s.dispose()
    this.#subs.length = 0
    this.#onClose.dispose()
    void this.#term.dispose()
  }

  #startIdle (): void {
    if (this.#opts.idleDetachedMs === 0 || this.#idleTimer) return
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined
      if (this.#viewers.size === 0) this.close('idle while detached')
    }, this.#opts.idleDetachedMs).unref()
  }

  #pause (): void {
    if (this.#paused || !this.#alive) return
    this.#paused = true
    this.#term.pause()
    this.#pausePoll = setInterval(() => { this.#maybeResume() }, PAUSE_POLL_MS).unref()
  }

  #maybeResume (): void {
    if (!this.#paused || !this.#viewers.allBelow(this.#opts.lowWaterMark)) return
    this.#paused = false
    clearInterval(this.#pausePoll)
    this.#pausePoll = undefined
    this.#term.resume()
  }

  #onExit (e: TerminalExit): void {
    this.#output.flush()
    this.#alive = false
    this.#exitCode = e.code
    this.#signal = e.signal
    if (this.#paused) { this.#paused = false; clearInterval(this.#pausePoll); this.#pausePoll = undefined }
    this.#log.debug({ ptyId: this.id, exitCode: e.code, signal: e.signal }, 'pty exited')
    this.#viewers.exit(e)
    if (this.#killTimer) {
      // Killed by us: anything of its session that outlived it (ignored SIGHUP) gets SIGKILL now.
      clearTimeout(this.#killTimer)
      this.#killTimer = undefined
      this.#term.kill('SIGKILL')
    }
    if (this.#closed) this.dispose()
    else if (this.#viewers.size === 0) this.#startIdle()
    this.#markExited()
  }
}
