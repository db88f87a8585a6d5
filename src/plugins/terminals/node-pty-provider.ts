import { constants } from 'node:os'
import * as pty from 'node-pty'
import { Emitter } from '../../core/lifecycle.js'
import type { SpawnRequest, TerminalExit, TerminalProvider, TerminalSession } from './types.js'

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]))

/** A signal number as its name (`9` → `SIGKILL`); null for 0. */
export const signalName = (n: number | undefined): string | null =>
  n ? SIGNAL_NAMES.get(n) ?? `SIG${n}` : null

/** The default provider: a real pseudo-terminal through node-pty, bytes in and out (no decoding). */
export class NodePtyProvider implements TerminalProvider {
  readonly kind = 'node-pty'
  constructor (private readonly defaultShell: string, private readonly defaultArgs: readonly string[] = []) {}

  spawn (req: SpawnRequest): TerminalSession {
    const proc = pty.spawn(req.file ?? this.defaultShell, [...(req.args ?? this.defaultArgs)], {
      name: req.env.TERM ?? 'xterm-256color',
      cols: req.cols,
      rows: req.rows,
      cwd: req.cwd,
      env: { ...req.env },
      // Raw bytes: no UTF-8 decoding in node-pty, so a split multi-byte character is not mangled.
      encoding: null,
    })
    return new NodePtySession(proc)
  }
}

class NodePtySession implements TerminalSession {
  readonly #onData = new Emitter<Uint8Array>()
  readonly #onExit = new Emitter<TerminalExit>()
  readonly onData = this.#onData.event
  readonly onExit = this.#onExit.event
  #exited = false
  #paused = false
  readonly #subs: Array<{ dispose (): void }>

  constructor (private readonly proc: pty.IPty) {
    this.#subs = [
      // With encoding null node-pty hands out Buffers, although its typings say string.
      proc.onData(d => { this.#onData.fire(d as unknown as Buffer) }),
      // node-pty reports exit only after the output stream closed, so no data follows it.
      proc.onExit(({ exitCode, signal }) => {
        this.#exited = true
        this.#onExit.fire({ code: signal ? null : exitCode, signal: signalName(signal) })
        this.dispose()
      }),
    ]
  }

  get pid (): number { return this.proc.pid }

  write (data: Uint8Array | string): void {
    if (this.#exited) return
    this.proc.write(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength) as never)
  }

  resize (cols: number, rows: number): void {
    if (!this.#exited) this.proc.resize(cols, rows)
  }

  pause (): void { if (!this.#paused && !this.#exited) { this.#paused = true; this.proc.pause() } }
  resume (): void { if (this.#paused) { this.#paused = false; this.proc.resume() } }

  kill (signal = 'SIGHUP'): void {
    if (this.#exited) return
    try { this.proc.kill(signal) } catch { /* already gone */ }
    if (signal === 'SIGKILL') {
      // The shell's jobs live in the same session: take down its process group too.
      try { process.kill(-this.proc.pid, 'SIGKILL') } catch { /* no such group */ }
    }
  }

  dispose (): void {
    for (const s of this.#subs) s.dispose()
    this.#onData.dispose()
    this.#onExit.dispose()
  }
}
