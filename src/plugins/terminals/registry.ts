import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import { Emitter } from '../../core/lifecycle.js'
import type { AuthSession, Authenticator } from '../../core/rpc/auth.js'
import type { RpcConnection } from '../../core/rpc/hub.js'
import { CORE } from '../../core/tokens.js'
import {
  PtyExitedError, PtyInputTooLargeError, PtyLimitError, PtyNotFoundError, PtySpawnError, TerminalsClosedError,
} from './errors.js'
import { LivePty } from './live-pty.js'
import { TERM_OPTIONS, type TerminalsOptions } from './options.js'
import {
  TERM, TERM_PLACER, type PtyAttachment, type PtyClosed, type PtyEncoding, type PtyInfo, type PtyOpened, type PtyPlacer, type TerminalProvider,
  type TerminalRegistry, type TerminalSession,
} from './types.js'
import { encodingOf, viewerState, type ViewerState } from './viewers.js'

const MAX_PTY_ID = 0xffff_ffff
/** How often terminals of revoked device sessions are looked for. */
const REVOKED_SWEEP_MS = 10_000

/**
 * The map of one server's live terminals: ids, ownership by device session, limits, the sweep of
 * revoked sessions' terminals, and shutdown. Each terminal is a LivePty that owns its lifetime.
 */
@injectable()
export class PtyRegistry implements TerminalRegistry {
  readonly #ptys = new Map<number, LivePty>()
  #nextId = 1
  #closing = false
  #sweepTimer: NodeJS.Timeout | undefined
  readonly #log: FastifyBaseLogger
  readonly #onDidOpen = new Emitter<PtyOpened>()
  readonly #onDidClose = new Emitter<PtyClosed>()
  readonly onDidOpen = this.#onDidOpen.event
  readonly onDidClose = this.#onDidClose.event

  constructor (
    @inject(TERM_OPTIONS) private readonly opts: TerminalsOptions,
    @inject(TERM.Provider) private readonly provider: TerminalProvider,
    @inject(TERM_PLACER) private readonly placer: PtyPlacer,
    @inject(CORE.Authenticator) private readonly auth: Authenticator,
    @inject(CORE.Log) log: FastifyBaseLogger,
  ) {
    this.#log = log.child({ plugin: 'terminals' })
  }

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
    const pty = new LivePty(id, session.id, placement, req, term, this.opts, this.#log)
    let closeReason = 'exited'
    pty.onClose(reason => { closeReason = reason; this.#ptys.delete(id) })
    this.#ptys.set(id, pty)
    this.#sweepTimer ??= setInterval(() => { this.#sweepRevoked() }, REVOKED_SWEEP_MS).unref()
    const remoteAddress = conn?.remoteAddress ?? null
    const opened: PtyOpened = { ptyId: id, pid: term.pid, sessionId: session.id, device: session.name, workspaceId: placement.workspaceId, cwd: placement.cwd, remoteAddress }
    this.#log.info({ audit: 'terminal_opened', ...opened }, 'pty spawned')
    this.#onDidOpen.fire(opened)
    void pty.exited.then(() => {
      const closed: PtyClosed = { ptyId: id, sessionId: session.id, device: session.name, workspaceId: placement.workspaceId, exitCode: pty.exitCode, signal: pty.signal, reason: closeReason }
      this.#log.info({ audit: 'terminal_closed', ...closed }, 'pty ended')
      this.#onDidClose.fire(closed)
    })
    if (conn && conn.isOpen) pty.attach(conn, this.#viewerState(conn))
    else pty.detached()
    return { pty_id: id }
  }

  attach (session: AuthSession, conn: RpcConnection, ptyId: number, since = 0): PtyAttachment {
    const pty = this.#owned(session, ptyId)
    const { offset, bytes } = pty.scrollback.read(since)
    pty.attach(conn, this.#viewerState(conn))
    return { alive: pty.alive, exit_code: pty.exitCode, offset, replay: bytes, signal: pty.signal }
  }

  detach (session: AuthSession, conn: RpcConnection, ptyId: number): void {
    this.#owned(session, ptyId).detach(conn)
  }

  write (session: AuthSession, ptyId: number, data: Uint8Array): void {
    const pty = this.#owned(session, ptyId)
    if (data.length > this.opts.maxWriteBytes) throw new PtyInputTooLargeError(data.length, this.opts.maxWriteBytes)
    if (!pty.alive) throw new PtyExitedError(ptyId)
    pty.write(data)
  }

  resize (session: AuthSession, ptyId: number, cols: number, rows: number): void {
    this.#owned(session, ptyId).resize(cols, rows)
  }

  /** Called before a workspace is archived, since its worktree directory is about to be removed. */
  closeWorkspace (workspaceId: string): number {
    let n = 0
    for (const p of [...this.#ptys.values()]) {
      if (p.workspaceId === workspaceId) { p.close('workspace archived'); n++ }
    }
    return n
  }

  close (session: AuthSession, ptyId: number): void {
    const pty = this.#ptys.get(ptyId)
    if (!pty || pty.sessionId !== session.id) return
    pty.close('closed')
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
    this.#viewerState(conn).encoding = encoding
    return encoding
  }

  encodingOf (conn: RpcConnection): PtyEncoding { return encodingOf(conn) }

  beginClose (): void { this.#closing = true }

  /** Kills every terminal (SIGHUP, then SIGKILL) and waits for them to exit. Idempotent. */
  async dispose (): Promise<void> {
    this.#closing = true
    clearInterval(this.#sweepTimer)
    this.#sweepTimer = undefined
    const all = [...this.#ptys.values()]
    for (const p of all) p.close('server closing')
    // Bounded: a child that survives SIGKILL (uninterruptible sleep) must not hang close().
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(all.map(p => p.exited)),
      new Promise<void>(resolve => { timer = setTimeout(resolve, this.opts.killTimeoutMs + 2000).unref() }),
    ])
    clearTimeout(timer)
    for (const p of all) p.dispose()
    this.#onDidOpen.dispose()
    this.#onDidClose.dispose()
  }

  /** Kills every terminal of a device session that was revoked (its owner can never come back). */
  #sweepRevoked (): void {
    const checked = new Map<string, boolean>()
    for (const p of [...this.#ptys.values()]) {
      let ok = checked.get(p.sessionId)
      if (ok === undefined) { ok = this.auth.isValid(p.sessionId); checked.set(p.sessionId, ok) }
      if (!ok) p.close('session revoked')
    }
    if (this.#ptys.size === 0 && this.#sweepTimer) { clearInterval(this.#sweepTimer); this.#sweepTimer = undefined }
  }

  readonly #onConnectionClosed = (conn: RpcConnection): void => {
    // Closed because its session was revoked? Then its terminals go now, not at the sweep.
    if (conn.session && !this.auth.isValid(conn.session.id)) this.#sweepRevoked()
  }

  #viewerState (conn: RpcConnection): ViewerState {
    return viewerState(conn, this.#onConnectionClosed)
  }

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

  #owned (session: AuthSession, ptyId: number): LivePty {
    const pty = this.#ptys.get(ptyId)
    if (!pty || pty.sessionId !== session.id) throw new PtyNotFoundError(ptyId)
    return pty
  }
}
