// The terminals' side of the wire: a pty's output and exit, as frames and events to the
// connections attached to it. Everything the plugin sends about a pty goes out here.
import type { Disposable } from '../../core/lifecycle.js'
import type { RpcConnection } from '../../core/rpc/hub.js'
import { WireFrame } from '../../core/rpc/ws-frame.js'
import { token } from '../../core/tokens.js'
import { ptyOutputJsonFrame } from './json-encoding.js'
import { PtyFrame, type PtyEncoding, type TerminalExit } from './types.js'

/** What a connection that uses terminals carries: its output encoding and the ptys it views. */
export interface ViewerState {
  encoding: PtyEncoding
  readonly viewing: Set<PtyViewers>
}

const VIEWER_STATE = token<ViewerState>('TerminalConnState')

/** The connection's output encoding (`set_pty_encoding`; JSON until set). */
export const encodingOf = (conn: RpcConnection): PtyEncoding => conn.getState(VIEWER_STATE)?.encoding ?? 'json'

/**
 * The connection's viewer state, made on first use. When the connection closes it leaves every
 * pty it viewed, then `onClosed` runs; when its socket drains, those ptys hear of it.
 */
export function viewerState (conn: RpcConnection, onClosed: (conn: RpcConnection) => void): ViewerState {
  let st = conn.getState(VIEWER_STATE)
  if (!st) {
    const state: ViewerState = { encoding: 'json', viewing: new Set() }
    st = state
    conn.setState(VIEWER_STATE, state)
    conn.disposables.add(conn.onClose(() => {
      for (const v of [...state.viewing]) v.delete(conn)
      onClosed(conn)
    }))
    conn.disposables.add(conn.onDrain(() => {
      for (const v of state.viewing) v.drained()
    }))
  }
  return st
}

/** What a pty hears from its viewers (flow control and idle detection). */
export interface ViewersListener {
  /** A connection stopped viewing. */
  removed (): void
  /** A viewer's socket drained. */
  drained (): void
  /** A viewer has more than the high-water mark queued after a send. */
  congested (): void
}

/**
 * The connections attached to one pty, each in its own encoding, and the fan-out to them. Each
 * batch of output becomes one binary frame (built once, as its final wire bytes, written to every
 * binary viewer) and at most one JSON `pty-output` frame (built from a view of the same bytes).
 */
export class PtyViewers implements Disposable {
  readonly #conns = new Set<RpcConnection>()
  /** The 5 bytes before a pty's output in a binary frame: 0x01, pty id (u32 BE). */
  readonly head: Buffer

  constructor (
    readonly ptyId: number,
    private readonly highWaterMark: number,
    /** Most output bytes per JSON `pty-output` frame (a batch may need several). */
    private readonly maxJsonBytes: number,
    private readonly listener: ViewersListener,
  ) {
    this.head = Buffer.allocUnsafe(5)
    this.head[0] = PtyFrame.Output
    this.head.writeUInt32BE(ptyId, 1)
  }

  get size (): number { return this.#conns.size }

  /** Adds a connection (whose state came from viewerState); false if it was there already. */
  add (conn: RpcConnection, state: ViewerState): boolean {
    if (this.#conns.has(conn)) return false
    this.#conns.add(conn)
    state.viewing.add(this)
    return true
  }

  delete (conn: RpcConnection): boolean {
    if (!this.#conns.delete(conn)) return false
    conn.getState(VIEWER_STATE)?.viewing.delete(this)
    this.listener.removed()
    return true
  }

  /**
   * Sends one batch (`head`, then the output) to every open viewer and returns the output bytes
   * (a view of the binary frame, which the caller may keep). With `watch`, the listener hears
   * of the first viewer above the high-water mark.
   */
  output (parts: readonly Uint8Array[], watch: boolean): Buffer {
    const frame = WireFrame.binary(parts)
    const data = frame.payload.subarray(5)
    let json: WireFrame[] | undefined
    for (const conn of this.#conns) {
      if (!conn.isOpen) continue
      if (conn.getState(VIEWER_STATE)?.encoding === 'binary') conn.sendFrame(frame)
      else for (const f of (json ??= this.#jsonFrames(data))) conn.sendFrame(f)
      if (watch && conn.bufferedAmount > this.highWaterMark) { watch = false; this.listener.congested() }
    }
    return data
  }

  /** The batch as `pty-output` events of at most maxJsonBytes of output each, built once for all JSON viewers. */
  #jsonFrames (data: Buffer): WireFrame[] {
    const max = this.maxJsonBytes
    if (data.length <= max) return [ptyOutputJsonFrame(this.ptyId, data)]
    const frames: WireFrame[] = []
    for (let at = 0; at < data.length; at += max) frames.push(ptyOutputJsonFrame(this.ptyId, data.subarray(at, at + max)))
    return frames
  }

  /** A viewer's socket drained. */
  drained (): void { this.listener.drained() }

  /** `pty-exit`, after the last output, to every viewer. */
  exit (e: TerminalExit): void {
    // Keys in alphabetical order, as every other server message.
    const payload = { exit_code: e.code, pty_id: this.ptyId, signal: e.signal }
    for (const conn of this.#conns) conn.sendEvent('pty-exit', payload)
  }

  /** Whether every open viewer has at most `bytes` queued. */
  allBelow (bytes: number): boolean {
    for (const c of this.#conns) if (c.isOpen && c.bufferedAmount > bytes) return false
    return true
  }

  /** Forgets every viewer (no `removed` calls). */
  dispose (): void {
    for (const conn of this.#conns) conn.getState(VIEWER_STATE)?.viewing.delete(this)
    this.#conns.clear()
  }
}
