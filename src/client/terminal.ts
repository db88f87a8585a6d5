import { constants } from 'node:os'
import type { Readable, Writable } from 'node:stream'
import type { ClaudetteClient, PtyExit, StateChange } from './client.js'

/** How an interactive terminal session ended. */
export type TerminalOutcome =
  | { kind: 'exit', ptyId: number, exitCode: number, signal: string | null }
  | { kind: 'detached', ptyId: number }
  | { kind: 'lost', ptyId: number, error: Error }

export interface TerminalOptions {
  client: ClaudetteClient
  /** Keyboard bytes (a TTY in raw mode, or any stream). */
  input: Readable
  /** Where terminal output goes. */
  output: Writable
  /** Status lines (connection lost, reconnected, detached). */
  status: (line: string) => void
  /** Attach to this terminal; otherwise spawn a new one with `spawn`. */
  ptyId?: number
  spawn?: { workspace_id?: string, cwd?: string }
  /** The byte that detaches (default 0x1d, Ctrl-]); null: no detach key. */
  detachKey?: number | null
  /** Current size of the local terminal. */
  size: () => { cols: number, rows: number }
  /** Subscribes to local size changes (SIGWINCH); returns the unsubscribe function. */
  onResize?: (listener: () => void) => () => void
}

export const DEFAULT_DETACH_KEY = 0x1d

/** Parses `ctrl-]`, `ctrl-a`…`ctrl-z`, `ctrl-\`, `ctrl-^`, `ctrl-_`, or `none`. */
export function parseDetachKey (text: string): number | null {
  const t = text.trim().toLowerCase()
  if (t === 'none') return null
  const m = /^(?:ctrl-|\^|c-)(.)$/.exec(t)
  if (!m) throw new Error(`invalid detach key '${text}' (use ctrl-<letter>, ctrl-], ctrl-\\, or none)`)
  const c = m[1]!
  if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96
  const special: Record<string, number> = { '[': 0x1b, '\\': 0x1c, ']': 0x1d, '^': 0x1e, '_': 0x1f, '@': 0 }
  if (c in special) return special[c]!
  throw new Error(`invalid detach key '${text}' (use ctrl-<letter>, ctrl-], ctrl-\\, or none)`)
}

/** The shell's exit code, or 128 + signal number as shells report it. */
export function exitCodeOf (e: { exit_code: number | null, signal?: string | number | null }): number {
  if (typeof e.exit_code === 'number') return e.exit_code
  if (typeof e.signal === 'number') return 128 + e.signal
  if (typeof e.signal === 'string') {
    const n = (constants.signals as Record<string, number>)[e.signal.toUpperCase()]
    if (n) return 128 + n
  }
  return 1
}

/**
 * Runs an interactive terminal over a connected client: spawns (or attaches to) a pty, draws
 * its scrollback, pipes keys in and output out, follows resizes, keeps going across reconnects
 * (the client re-attaches and delivers exactly the output that was missed), and resolves when
 * the shell exits, the user presses the detach key, or the connection is lost for good.
 */
export async function runTerminal (opts: TerminalOptions): Promise<TerminalOutcome> {
  const { client, input, output, status } = opts
  const detachKey = opts.detachKey === undefined ? DEFAULT_DETACH_KEY : opts.detachKey
  let ptyId = opts.ptyId
  let settle!: (o: TerminalOutcome) => void
  const done = new Promise<TerminalOutcome>(resolve => { settle = resolve })
  let finished = false
  const finish = (o: TerminalOutcome): void => { if (!finished) { finished = true; settle(o) } }

  // Output and exits can arrive before we know our id (reference servers); hold them until then.
  const early: Array<[number, Uint8Array]> = []
  let earlyExit: PtyExit | null = null
  const onOutput = (id: number, bytes: Uint8Array): void => {
    if (ptyId === undefined) { early.push([id, bytes]); return }
    if (id === ptyId) output.write(bytes)
  }
  const onExit = (e: PtyExit & { lost?: boolean }): void => {
    if (ptyId === undefined) { earlyExit = e; return }
    if (e.pty_id !== ptyId) return
    if (e.lost) finish({ kind: 'lost', ptyId, error: new Error(`terminal ${ptyId} no longer exists on the server (it ended while the connection was down, e.g. the server restarted)`) })
    else finish({ kind: 'exit', ptyId, exitCode: exitCodeOf(e), signal: typeof e.signal === 'string' ? e.signal : null })
  }
  let wasDown = false
  const onState = (s: StateChange): void => {
    if (s.state === 'reconnecting') {
      const why = (s.error as { detail?: unknown } | undefined)?.detail
      if (!wasDown) status(`${typeof why === 'string' ? why : `connection lost (${s.error?.message ?? 'unknown error'})`}; reconnecting…`)
      wasDown = true
    } else if (s.state === 'open' && wasDown) {
      wasDown = false
      status('reconnected')
      sendSize()
    } else if (s.state === 'closed') {
      finish({ kind: 'lost', ptyId: ptyId ?? 0, error: s.error ?? new Error('connection closed') })
    }
  }
  const onGap = (id: number, bytes: number): void => {
    if (id === ptyId) status(`${bytes} bytes of output were lost while disconnected (more than the server's scrollback keeps); showing the rest`)
  }
  client.on('pty-output', onOutput)
  client.on('pty-exit', onExit)
  client.on('pty-gap', onGap)
  client.on('state', onState)

  const sendSize = (): void => {
    if (ptyId === undefined || client.state !== 'open') return
    const { cols, rows } = opts.size()
    client.resizePty(ptyId, cols, rows).catch(() => { /* resent after the next reconnect */ })
  }
  const offResize = opts.onResize?.(() => sendSize())

  let chain: Promise<void> = Promise.resolve()
  const onData = (chunk: Buffer | string): void => {
    if (ptyId === undefined || finished) return
    let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    const at = detachKey === null ? -1 : bytes.indexOf(detachKey)
    if (at >= 0) bytes = bytes.subarray(0, at)
    if (bytes.length > 0) {
      const id = ptyId
      const data = Buffer.from(bytes)
      chain = chain.then(() => client.writePty(id, data)).catch(() => { /* reported by the state change */ })
    }
    if (at >= 0) void chain.then(() => finish({ kind: 'detached', ptyId: id() }))
  }
  const id = (): number => ptyId!
  const onEnd = (): void => { void chain.then(() => finish({ kind: 'detached', ptyId: id() })) }

  try {
    const { cols, rows } = opts.size()
    if (ptyId !== undefined) {
      const replay = await client.attachPty(ptyId)
      if (replay.length > 0) output.write(replay)
      sendSize()
    } else {
      ptyId = await client.spawnPty({ ...opts.spawn, cols, rows })
      for (const [i, b] of early.splice(0)) if (i === ptyId) output.write(b)
      if (earlyExit) onExit(earlyExit)
    }
    input.on('data', onData)
    input.once('end', onEnd)
    input.resume()
    return await done
  } finally {
    input.off('data', onData)
    input.off('end', onEnd)
    input.pause()
    offResize?.()
    client.off('pty-output', onOutput)
    client.off('pty-exit', onExit)
    client.off('pty-gap', onGap)
    client.off('state', onState)
  }
}
