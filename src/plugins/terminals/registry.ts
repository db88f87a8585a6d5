import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import type { Disposable } from '../../core/lifecycle.js'
import type { AuthSession, Authenticator } from '../../core/rpc/auth.js'
import type { RpcConnection } from '../../core/rpc/hub.js'
import { WireFrame } from '../../core/rpc/ws-frame.js'
import { CORE, token } from '../../core/tokens.js'
import {
  PtyExitedError, PtyInputTooLargeError, PtyLimitError, PtyNotFoundError, PtySpawnError, TerminalsClosedError,
} from './errors.js'
import { ptyOutputJsonFrame } from './json-encoding.js'
import type { TerminalsOptions } from './options.js'
import { Scrollback } from './scrollback.js'
import { PtyFrame, TERM, type PtyEncoding, type PtyInfo, type TerminalExit, type TerminalProvider, type TerminalSession } from './types.js'

/** Where a new terminal runs: resolved and confined by the repos plugin. */
export interface PtyPlacement {
  readonly cwd: string
  readonly workspaceId: string | null
  /** CLAUDETTE_WORKSPACE_* and friends. */
  readonly env: Readonly<Record<string, string>>
}

/** Turns spawn_pty's `workspace_id`/`cwd` into a confined placement (throws a ClientError otherwise). */
export interface PtyPlacer {
  place (req: { workspaceId?: string | undefined, cwd?: string | undefined }): Promise<PtyPlacement>
}

export const TERM_OPTIONS = token<TerminalsOptions>('TerminalsOptions')
export const TERM_PLACER = token<PtyPlacer>('PtyPlacer')

const MAX_PTY_ID = 0xffff_ffff
/** While paused, re-check the watermarks this often in case a drain event was missed. */
const PAUSE_POLL_MS = 250
/** Output after this long without any is flushed at once instead of coalesced. */
const IDLE_FLUSH_MS = 2
/** A read this small with nothing pending is sent at once (echo), whatever came before. */
const SMALL_CHUNK = 512
/** How long streaming output is gathered into one frame. */
const COALESCE_MS = 1
/** How often terminals of revoked device sessions are looked for. */
const REVOKED_SWEEP_MS = 10_000

interface Pty {
  readonly id: number
  readonly sessionId: string
  readonly workspaceId: string | null
  readonly cwd: string
  cols: number
  rows: number
  readonly term: TerminalSession
  readonly scrollback: Scrollback
  readonly attached: Set<RpcConnection>
  pending: Buffer[]
  pendingBytes: number
  /** performance.now() of the last flush. */
  lastFlushAt: number
  flushHandle: NodeJS.Timeout | undefined
  alive: boolean
  exitCode: number | null
  signal: string | null
  /** close_pty was called (or it idled out): no longer listed, killed. */
  closed: boolean
  paused: boolean
  pausePoll: NodeJS.Timeout | undefined
  idleTimer: NodeJS.Timeout | undefined
  killTimer: NodeJS.Timeout | undefined
  readonly exited: Promise<void>
  markExited: () => void
  readonly subs: Disposable[]
}

/** What the registry keeps on each connection that uses terminals. */
interface ConnState {
  encoding: PtyEncoding
  readonly ptys: Set<Pty>
}

const CONN_STATE = token<ConnState>('TerminalConnState')

/** The 5 bytes before a pty's output in a binary frame: 0x01, pty id (u32 BE). */
function ptyHeader (ptyId: number): Buffer {
  const h = Buffer.allocUnsafe(5)
  h[0] = PtyFrame.Output
  h.writeUInt32BE(ptyId, 1)
  return h
}

/**
 * Owns every terminal of one server: ids, ownership by device session, scrollback,
 * fan-out to attached connections (each in its own encoding), flow control, lifetimes.
 */
@injectable()
export class TerminalRegistry implements Disposable {
  readonly #ptys = new Map<number, Pty>()
  #nextId = 1
  #closing = false
  readonly #log: FastifyBaseLogger

  constructor (
    @inject(TERM_OPTIONS) private readonly opts: TerminalsOptions,
    @inject(TERM.Provider) private readonly provider: TerminalProvider,
    @inject(TERM_PLACER) private readonly placer: PtyPlacer,
    @inject(CORE.Authenticator) private readonly auth: Authenticator,
    @inject(CORE.Log) log: FastifyBaseLogger,
  ) {
    this.#log = log.child({ plugin: 'terminals' })
  }

  #sweepTimer: NodeJS.Timeout | undefined

  /** Kills every terminal of a device session that was revoked (its owner can never come back). */
  #sweepRevoked (): void {
    const checked = new Map<string, boolean>()
    for (const p of [...this.#ptys.values()]) {
      let ok = checked.get(p.sessionId)
      if (ok === undefined) { ok = this.auth.isValid(p.sessionId); checked.set(p.sessionId, ok) }
      if (!ok) this.#close(p, 'session revoked')
    }
    if (this.#ptys.size === 0 && this.#sweepTimer) { clearInterval(this.#sweepTimer); this.#sweepTimer = undefined }
  }

  /** Number of live (not closed) terminals, for tests and metrics. */
  get size (): number { return this.#ptys.size }

  async spawn (session: AuthSession, conn: RpcConnection | null, req: { workspaceId?: string | undefined, cwd?: string | undefined, cols: number, rows: number }): Promise<{ pty_id: number }> {
    if (this.#closing) throw new TerminalsClosedError()
    this.#checkLimit(session.id)
    const placement = await this.placer.place({ workspaceId: req.workspaceId, cwd: req.cwd })
    if (this.#closing) throw new TerminalsClosedError()
    this.#checkLimit(session.id)
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
    Object.assign(env, placement.env, { TERM: this.opts.term })
    let term: TerminalSession
    try {
      term = await this.provider.spawn({ cwd: placement.cwd, cols: req.cols, rows: req.rows, env })
    } catch (err) {
      this.#log.warn({ err, cwd: placement.cwd }, 'pty spawn failed')
      throw new PtySpawnError((err as Error)?.message ?? String(err), { cause: err })
    }
    if (this.#closing) { term.kill('SIGKILL'); term.dispose(); throw new TerminalsClosedError() }
    const id = this.#allocateId()
    let markExited!: () => void
    const exited = new Promise<void>(resolve => { markExited = resolve })
    const pty: Pty = {
      id,
      sessionId: session.id,
      workspaceId: placement.workspaceId,
      cwd: placement.cwd,
      cols: req.cols,
      rows: req.rows,
      term,
      scrollback: new Scrollback(this.opts.scrollbackBytes),
      attached: new Set(),
      pending: [],
      pendingBytes: 0,
      lastFlushAt: 0,
      flushHandle: undefined,
      alive: true,
      exitCode: null,
      signal: null,
      closed: false,
      paused: false,
      pausePoll: undefined,
      idleTimer: undefined,
      killTimer: undefined,
      exited,
      markExited,
      subs: [],
    }
    pty.subs.push(term.onData(chunk => this.#onData(pty, chunk)))
    pty.subs.push(term.onExit(e => this.#onExit(pty, e)))
    this.#ptys.set(id, pty)
    this.#sweepTimer ??= setInterval(() => this.#sweepRevoked(), REVOKED_SWEEP_MS).unref()
    this.#log.info({ ptyId: id, pid: term.pid, sessionId: session.id, cwd: placement.cwd }, 'pty spawned')
    if (conn && conn.isOpen) this.#attach(pty, conn)
    else this.#startIdle(pty)
    return { pty_id: id }
  }

  /** Attaches the connection (idempotent) and returns the scrollback from `since` on. */
  attach (session: AuthSession, conn: RpcConnection, ptyId: number, since = 0): { alive: boolean, exit_code: number | null, offset: number, replay: Buffer, signal: string | null } {
    const pty = this.#owned(session, ptyId)
    const { offset, bytes } = pty.scrollback.read(since)
    this.#attach(pty, conn)
    return { alive: pty.alive, exit_code: pty.exitCode, offset, replay: bytes, signal: pty.signal }
  }

  /** Stops sending this pty's output to the connection; the pty keeps running. */
  detach (session: AuthSession, conn: RpcConnection, ptyId: number): void {
    this.#detach(this.#owned(session, ptyId), conn)
  }

  write (session: AuthSession, ptyId: number, data: Uint8Array): void {
    const pty = this.#owned(session, ptyId)
    if (data.length > this.opts.maxWriteBytes) throw new PtyInputTooLargeError(data.length, this.opts.maxWriteBytes)
    if (!pty.alive) throw new PtyExitedError(ptyId)
    if (data.length > 0) pty.term.write(data)
  }

  resize (session: AuthSession, ptyId: number, cols: number, rows: number): void {
    const pty = this.#owned(session, ptyId)
    pty.cols = cols
    pty.rows = rows
    if (pty.alive) pty.term.resize(cols, rows)
  }

  /**
   * Closes every terminal placed in a workspace (of any device): called before the workspace is
   * archived, since its worktree directory is about to be removed. Returns how many were closed.
   */
  closeWorkspace (workspaceId: string): number {
    let n = 0
    for (const p of [...this.#ptys.values()]) {
      if (p.workspaceId === workspaceId) { this.#close(p, 'workspace archived'); n++ }
    }
    return n
  }

  /** Kills and forgets a pty. Unknown or foreign ids are not an error (reference behaviour). */
  close (session: AuthSession, ptyId: number): void {
    const pty = this.#ptys.get(ptyId)
    if (!pty || pty.sessionId !== session.id) return
    this.#close(pty, 'closed')
  }

  list (session: AuthSession): PtyInfo[] {
    const out: PtyInfo[] = []
    for (const p of this.#ptys.values()) {
      if (p.sessionId !== session.id) continue
      out.push({
        alive: p.alive,
        cols: p.cols,
        cwd: p.cwd,
        exit_code: p.exitCode,
        output_bytes: p.scrollback.end,
        pty_id: p.id,
        rows: p.rows,
        signal: p.signal,
        workspace_id: p.workspaceId,
      })
    }
    return out.sort((a, b) => a.pty_id - b.pty_id)
  }

  setEncoding (conn: RpcConnection, encoding: PtyEncoding): PtyEncoding {
    this.#state(conn).encoding = encoding
    return encoding
  }

  encodingOf (conn: RpcConnection): PtyEncoding {
    return conn.getState(CONN_STATE)?.encoding ?? 'json'
  }

  /** No new terminals from now on (preClose). */
  beginClose (): void { this.#closing = true }

  /** Kills every terminal (SIGHUP, then SIGKILL) and waits for them to exit. Idempotent. */
  async dispose (): Promise<void> {
    this.#closing = true
    clearInterval(this.#sweepTimer)
    this.#sweepTimer = undefined
    const all = [...this.#ptys.values()]
    for (const p of all) this.#close(p, 'server closing')
    // Bounded: a child that survives SIGKILL (uninterruptible sleep) must not hang close().
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(all.map(p => p.exited)),
      new Promise<void>(resolve => { timer = setTimeout(resolve, this.opts.killTimeoutMs + 2000).unref() }),
    ])
    clearTimeout(timer)
    for (const p of all) this.#release(p)
  }

  // ---------------------------------------------------------------- internals

  #checkLimit (sessionId: string): void {
    let n = 0
    for (const p of this.#ptys.values()) if (p.sessionId === sessionId) n++
    if (n >= this.opts.maxPtysPerSession) throw new PtyLimitError(this.opts.maxPtysPerSession)
  }

  #allocateId (): number {
    for (;;) {
      const id = this.#nextId
      this.#nextId = id >= MAX_PTY_ID ? 1 : id + 1
      if (!this.#ptys.has(id)) return id
    }
  }

  #owned (session: AuthSession, ptyId: number): Pty {
    const pty = this.#ptys.get(ptyId)
    if (!pty || pty.sessionId !== session.id) throw new PtyNotFoundError(ptyId)
    return pty
  }

  #state (conn: RpcConnection): ConnState {
    let st = conn.getState(CONN_STATE)
    if (!st) {
      const state: ConnState = { encoding: 'json', ptys: new Set() }
      st = state
      conn.setState(CONN_STATE, state)
      conn.disposables.add(conn.onClose(() => {
        for (const p of [...state.ptys]) this.#detach(p, conn)
        // Closed because its session was revoked? Then its terminals go now, not at the sweep.
        if (conn.session && !this.auth.isValid(conn.session.id)) this.#sweepRevoked()
      }))
      conn.disposables.add(conn.onDrain(() => {
        for (const p of state.ptys) this.#maybeResume(p)
      }))
    }
    return st
  }

  #attach (pty: Pty, conn: RpcConnection): void {
    if (pty.attached.has(conn)) return
    pty.attached.add(conn)
    this.#state(conn).ptys.add(pty)
    if (pty.idleTimer) { clearTimeout(pty.idleTimer); pty.idleTimer = undefined }
  }

  #detach (pty: Pty, conn: RpcConnection): void {
    if (!pty.attached.delete(conn)) return
    conn.getState(CONN_STATE)?.ptys.delete(pty)
    this.#maybeResume(pty)
    if (pty.attached.size === 0 && !pty.closed) this.#startIdle(pty)
  }

  #startIdle (pty: Pty): void {
    if (this.opts.idleDetachedMs === 0 || pty.idleTimer) return
    pty.idleTimer = setTimeout(() => {
      pty.idleTimer = undefined
      if (pty.attached.size === 0) this.#close(pty, 'idle while detached')
    }, this.opts.idleDetachedMs).unref()
  }

  #onData (pty: Pty, chunk: Uint8Array): void {
    pty.pending.push(chunk as Buffer)
    pty.pendingBytes += chunk.length
    if (pty.pendingBytes >= this.opts.maxFrameBytes) {
      this.#flush(pty)
    } else if (!pty.flushHandle) {
      if (chunk.length <= SMALL_CHUNK || performance.now() - pty.lastFlushAt > IDLE_FLUSH_MS) {
        // A small read (a keystroke echo) or the first output after a quiet spell goes out at once...
        this.#flush(pty)
      } else {
        // ...while output that keeps coming is merged for up to ~1 ms: a pty master gives at
        // most ~4 KiB per read, and one frame per read costs a WebSocket frame, a TLS record
        // and a syscall on each side. A 1 ms delay is invisible in streaming output.
        pty.flushHandle = setTimeout(() => { pty.flushHandle = undefined; this.#flush(pty) }, COALESCE_MS).unref()
      }
    }
  }

  /** Sends everything pending: one frame per maxFrameBytes, each encoded once per mode. */
  #flush (pty: Pty): void {
    if (pty.flushHandle) { clearTimeout(pty.flushHandle); pty.flushHandle = undefined }
    const max = this.opts.maxFrameBytes
    pty.lastFlushAt = performance.now()
    while (pty.pendingBytes > 0) {
      const n = Math.min(pty.pendingBytes, max)
      const parts: Uint8Array[] = [ptyHeader(pty.id)]
      let left = n
      while (left > 0) {
        const c = pty.pending[0]!
        if (c.length <= left) { parts.push(c); pty.pending.shift(); left -= c.length } else {
          parts.push(c.subarray(0, left))
          pty.pending[0] = c.subarray(left)
          left = 0
        }
      }
      pty.pendingBytes -= n
      // The binary WebSocket frame is built once, as its final wire bytes (WS header, 0x01, pty
      // id, output): the one copy of the output. Every binary connection gets that same buffer;
      // the scrollback and the JSON encoder use a view of it.
      const frame = WireFrame.binary(parts)
      const data = frame.payload.subarray(5)
      pty.scrollback.append(data)
      let json: WireFrame | undefined
      for (const conn of pty.attached) {
        if (!conn.isOpen) continue
        if (conn.getState(CONN_STATE)?.encoding === 'binary') conn.sendFrame(frame)
        else conn.sendFrame(json ??= ptyOutputJsonFrame(pty.id, data))
        if (!pty.paused && conn.bufferedAmount > this.opts.highWaterMark) this.#pause(pty)
      }
    }
  }

  #pause (pty: Pty): void {
    if (pty.paused || !pty.alive) return
    pty.paused = true
    pty.term.pause()
    pty.pausePoll = setInterval(() => this.#maybeResume(pty), PAUSE_POLL_MS).unref()
  }

  #maybeResume (pty: Pty): void {
    if (!pty.paused) return
    for (const c of pty.attached) if (c.isOpen && c.bufferedAmount > this.opts.lowWaterMark) return
    pty.paused = false
    clearInterval(pty.pausePoll)
    pty.pausePoll = undefined
    pty.term.resume()
  }

  #onExit (pty: Pty, e: TerminalExit): void {
    this.#flush(pty)
    pty.alive = false
    pty.exitCode = e.code
    pty.signal = e.signal
    if (pty.paused) { pty.paused = false; clearInterval(pty.pausePoll); pty.pausePoll = undefined }
    this.#log.info({ ptyId: pty.id, exitCode: e.code, signal: e.signal }, 'pty exited')
    // Keys in alphabetical order, as every other server message.
    const payload = { exit_code: e.code, pty_id: pty.id, signal: e.signal }
    for (const conn of pty.attached) conn.sendEvent('pty-exit', payload)
    if (pty.killTimer) {
      // Killed by us: anything of its session that outlived it (ignored SIGHUP) gets SIGKILL now.
      clearTimeout(pty.killTimer)
      pty.killTimer = undefined
      pty.term.kill('SIGKILL')
    }
    if (pty.closed) this.#release(pty)
    else if (pty.attached.size === 0) this.#startIdle(pty)
    pty.markExited()
  }

  /** Forget the pty and kill it: SIGHUP now, SIGKILL after killTimeoutMs. */
  #close (pty: Pty, reason: string): void {
    if (pty.closed) return
    pty.closed = true
    this.#ptys.delete(pty.id)
    if (pty.idleTimer) { clearTimeout(pty.idleTimer); pty.idleTimer = undefined }
    this.#log.info({ ptyId: pty.id, reason }, 'pty closing')
    if (!pty.alive) { this.#release(pty); return }
    // A paused reader would keep the child blocked on its output: let it drain to exit.
    pty.paused = false
    clearInterval(pty.pausePoll)
    pty.term.resume()
    pty.term.kill('SIGHUP')
    pty.killTimer = setTimeout(() => {
      pty.killTimer = undefined
      this.#log.warn({ ptyId: pty.id }, 'pty ignored SIGHUP; sending SIGKILL')
      pty.term.kill('SIGKILL')
    }, this.opts.killTimeoutMs).unref()
  }

  /** Drops every reference and timer of a closed, exited pty. Idempotent. */
  #release (pty: Pty): void {
    if (pty.flushHandle) { clearTimeout(pty.flushHandle); pty.flushHandle = undefined }
    if (pty.killTimer) { clearTimeout(pty.killTimer); pty.killTimer = undefined }
    if (pty.idleTimer) { clearTimeout(pty.idleTimer); pty.idleTimer = undefined }
    clearInterval(pty.pausePoll)
    pty.pausePoll = undefined
    for (const conn of pty.attached) conn.getState(CONN_STATE)?.ptys.delete(pty)
    pty.attached.clear()
    for (const s of pty.subs) void s.dispose()
    pty.subs.length = 0
    pty.pending = []
    pty.pendingBytes = 0
    void pty.term.dispose()
  }
}
