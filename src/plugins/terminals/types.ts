import type { Disposable, Event } from '../../core/lifecycle.js'
import { token } from '../../core/tokens.js'
import type { TerminalRegistry } from './registry.js'

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
 * One running terminal as a provider exposes it. The registry owns ids, ownership, scrollback,
 * fan-out and flow control; a provider only moves bytes.
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

/** Binary frame types of the terminal fast path (DESIGN.md §5). */
export const PtyFrame = {
  Output: 0x01,
  Input: 0x02,
} as const

export const TERM = {
  Registry: token<TerminalRegistry>('TerminalRegistry'),
  Provider: token<TerminalProvider>('TerminalProvider'),
} as const
