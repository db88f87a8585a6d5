import type { Disposable, Event } from '../../core/lifecycle.js'
import type { AuthSession } from '../../core/rpc/auth.js'
import type { RpcConnection } from '../../core/rpc/hub.js'
import { token } from '../../core/tokens.js'
import type { PtyEncoding, PtyInfo } from '../../protocol/index.js'

/** What the registry asks a provider to start. `cwd` is already confined and resolved. */
export interface SpawnRequest {
  /** Absolute working directory (inside a registered repository or workspace). */
  readonly cwd: string
  readonly cols: number
  readonly rows: number
  /** The complete environment of the child (the server's, plus TERM and CLAUDETTE_WORKSPACE_*). */
  readonly env: Readonly<Record<string, string>>
  /** Program to run; the provider's default shell when absent. */
  readonly file?: string
  readonly args?: readonly string[]
}

/** How a terminal ended: `code` is null when a signal killed it, `signal` is its name (`SIGHUP`). */
export interface TerminalExit {
  readonly code: number | null
  readonly signal: string | null
}

/**
 * One running terminal as a provider exposes it. The plugin owns ids, ownership, scrollback,
 * fan-out and flow control (registry.ts, live-pty.ts); a provider only moves bytes.
 */
export interface TerminalSession extends Disposable {
  /** Process id of the child (or 0 when the provider has none). */
  readonly pid: number
  /** Output bytes, in order. Must not fire after onExit. */
  readonly onData: Event<Uint8Array>
  /** Fires once, after the last onData. */
  readonly onExit: Event<TerminalExit>
  /** Writes input (bytes, or a string as UTF-8). */
  write (data: Uint8Array | string): void
  resize (cols: number, rows: number): void
  /** Stop reading output (the child then blocks on a full pty buffer). Idempotent. */
  pause (): void
  /** Resume reading output. Idempotent. */
  resume (): void
  /** Sends a signal to the child (default SIGHUP). No-op after exit. */
  kill (signal?: string): void
}

/**
 * A terminal backend (node-pty by default). Embedders pass their own as
 * `createServer({ terminals: { provider } })`.
 */
export interface TerminalProvider {
  /** A short name for logs (`node-pty`). */
  readonly kind: string
  spawn (req: SpawnRequest): TerminalSession | Promise<TerminalSession>
}

// Wire shapes of this plugin's methods, defined in src/protocol (the client SDK uses them too).
export { PtyEncoding, PtyInfo } from '../../protocol/index.js'

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

/** What attach_pty answers: the pty's state and its scrollback from `offset` on. */
export interface PtyAttachment {
  readonly alive: boolean
  readonly exit_code: number | null
  readonly offset: number
  readonly replay: Buffer
  readonly signal: string | null
}

/** A terminal was started. */
export interface PtyOpened {
  readonly ptyId: number
  readonly pid: number
  /** The owning device session. */
  readonly sessionId: string
  readonly device: string
  readonly workspaceId: string | null
  readonly cwd: string
  /** The address of the connection that asked for it (null when none did). */
  readonly remoteAddress: string | null
}

/** A terminal's process ended. */
export interface PtyClosed {
  readonly ptyId: number
  readonly sessionId: string
  readonly device: string
  readonly workspaceId: string | null
  /** null when a signal ended it. */
  readonly exitCode: number | null
  readonly signal: string | null
  /** Why the server ended it (`closed`, `idle while detached`, `session revoked`, …), or `exited` when it ended by itself. */
  readonly reason: string
}

/**
 * Every terminal of one server, by id, owned by device sessions: what the RPC methods, the
 * binary input handler and other plugins (workspace archiving) use.
 */
export interface TerminalRegistry extends Disposable {
  readonly onDidOpen: Event<PtyOpened>
  readonly onDidClose: Event<PtyClosed>
  /** Number of live (not closed) terminals, for tests and metrics. */
  readonly size: number
  /** Starts a terminal owned by `session`; `conn` (when open) is attached to it. */
  spawn (session: AuthSession, conn: RpcConnection | null, req: { workspaceId?: string | undefined, cwd?: string | undefined, cols: number, rows: number }): Promise<{ pty_id: number }>
  /** Attaches the connection (idempotent) and returns the scrollback from `since` on. */
  attach (session: AuthSession, conn: RpcConnection, ptyId: number, since?: number): PtyAttachment
  /** Stops sending this pty's output to the connection; the pty keeps running. */
  detach (session: AuthSession, conn: RpcConnection, ptyId: number): void
  write (session: AuthSession, ptyId: number, data: Uint8Array): void
  resize (session: AuthSession, ptyId: number, cols: number, rows: number): void
  /** Kills and forgets a pty. Unknown or foreign ids are not an error (reference behaviour). */
  close (session: AuthSession, ptyId: number): void
  /** Closes every terminal placed in a workspace (of any device); returns how many. */
  closeWorkspace (workspaceId: string): number
  /** The session's terminals, by id. */
  list (session: AuthSession): PtyInfo[]
  setEncoding (conn: RpcConnection, encoding: PtyEncoding): PtyEncoding
  encodingOf (conn: RpcConnection): PtyEncoding
  /** No new terminals from now on (preClose). */
  beginClose (): void
}

/** Binary frame types of the terminal fast path (DESIGN.md §5). */
export const PtyFrame = {
  Output: 0x01,
  Input: 0x02,
} as const

export const TERM = {
  Registry: token<TerminalRegistry>('TerminalRegistry'),
  Provider: token<TerminalProvider>('TerminalProvider'),
} as const

/** The plugin's own placement rules (placement.ts), injected into the registry. */
export const TERM_PLACER = token<PtyPlacer>('PtyPlacer')
