import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, writeSync } from 'node:fs'
import { constants } from 'node:os'
import type * as pty from '@lydell/node-pty'
import { Emitter } from '../../core/lifecycle.js'
import { loadNative, type NativePackage } from '../../core/native.js'
import { NODE_PTY_SHAPE_WARNING, ptyMaster, type PtyMaster } from './node-pty-internals.js'
import type { SpawnRequest, TerminalExit, TerminalProvider, TerminalSession } from './types.js'

/**
 * node-pty with prebuilt binaries (linux, darwin, win32 on x64 and arm64), each in an optional
 * dependency `@lydell/node-pty-<platform>-<arch>`: no install script, no compiler. Loaded on the
 * first spawn (src/core/native.ts), so a server whose binary is missing runs without terminals.
 */
const NODE_PTY: NativePackage<typeof pty> = {
  name: '@lydell/node-pty',
  impact: 'terminals are unavailable',
  fix: `reinstall claudette-server with its optional dependencies (not --omit=optional) so @lydell/node-pty-${process.platform}-${process.arch} is installed ` +
    '(prebuilt for linux, darwin and win32 on x64 and arm64)',
}

/** node-pty's module; throws NativeModuleError (one line saying why and how to fix it) when it does not load. */
export const loadNodePty = (): typeof pty => loadNative(NODE_PTY)

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]))

/** A signal number as its name (`9` → `SIGKILL`); null for 0. */
export const signalName = (n: number | undefined): string | null =>
  n ? SIGNAL_NAMES.get(n) ?? `SIG${n}` : null

// When the session leader of a pty exits, Linux hangs the terminal up and throws away output
// still queued for the master, so `seq 1 30000; exit` loses its tail whenever the reader is a
// few milliseconds behind. The exit barrier runs the shell under a small /bin/sh that stays
// session leader: after the shell exits it prints an OSC marker (with a per-pty nonce) and
// waits for one line of input. The provider sees the marker after the last output byte (the
// pty is FIFO), writes the line, and the wrapper exits with the shell's status: nothing lost.
// The wrapper survives INT/QUIT typed at the terminal (a handler, not SIG_IGN, so the shell does
// not inherit it). It does not survive SIGHUP: when the server dies without closing the terminal,
// the kernel hangs the pty up and signals only the session leader, and the leader's exit is what
// makes the kernel send SIGHUP on to the shell (the foreground group). That alone misses a shell
// whose current command is in another process group, and background jobs: for those the server's
// helper hangs up the whole session (guardSession; test/reliability/crash-terminals.test.ts).
// kill() signals every process of the terminal's session, so the shell gets them directly.
const BARRIER = 'n=$1; shift; trap : INT QUIT; "$@"; rc=$?; trap "" TTOU TTIN; ' +
  'stty -echo icanon 2>/dev/null; printf "\\033]7770;%s\\007" "$n"; IFS= read -r _; exit $rc'

/**
 * Where the wrapper's children cannot be read (no /proc): how long a read's trailing
 * start-of-marker is kept back when no further output comes.
 */
const HELD_FALLBACK_MS = 250
const EMPTY = Buffer.alloc(0)

/**
 * Where the longest proper prefix of `marker` that ends `buf` starts (`buf.length` if none).
 * The marker begins with ESC, so only the last marker.length - 1 bytes need a look.
 */
export function markerPrefixAt (buf: Uint8Array, marker: Uint8Array): number {
  for (let j = Math.max(0, buf.length - marker.length + 1); j < buf.length; j++) {
    if (buf[j] !== marker[0]) continue
    let k = 1
    while (j + k < buf.length && buf[j + k] === marker[k]) k++
    if (j + k === buf.length) return j
  }
  return buf.length
}

export interface NodePtyProviderOptions {
  /** Program run when a request names none. */
  shell: string
  shellArgs?: readonly string[]
  /** Wrap the shell so no output is lost when it exits (default true). */
  exitBarrier?: boolean
  /**
   * Called with each terminal's session id (the child is a session leader); the returned guard
   * is disposed when the terminal exits. The plugin passes the ProcessRunner's guardSession, so
   * a server that dies without closing its terminals still has them hung up.
   */
  guardSession?: (sid: number) => { dispose (): void }
  /**
   * Called once if node-pty's internals are not what node-pty-internals.ts expects (checked on
   * each spawn); terminals then use node-pty's public API only. Default: process.emitWarning.
   */
  warn?: (message: string) => void
}

/**
 * Pids of every live process in session `sid` (Linux /proc; empty elsewhere). Job control puts
 * a shell's jobs in their own process groups, so the session is what holds them all.
 */
export function sessionMembers (sid: number): number[] {
  const out: number[] = []
  let entries: string[]
  try { entries = readdirSync('/proc') } catch { return out }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // fields after "(comm)": state ppid pgrp session
      if (f[0] !== 'Z' && Number(f[3]) === sid) out.push(Number(e))
    } catch { /* gone meanwhile */ }
  }
  return out
}

/** The default provider: a real pseudo-terminal through node-pty, bytes in and out (no decoding). */
export class NodePtyProvider implements TerminalProvider {
  readonly kind = 'node-pty'
  readonly #opts: NodePtyProviderOptions
  #warned = false
  constructor (opts: NodePtyProviderOptions) { this.#opts = opts }

  spawn (req: SpawnRequest): TerminalSession {
    const file = req.file ?? this.#opts.shell
    const args = [...(req.args ?? this.#opts.shellArgs ?? [])]
    const nonce = this.#opts.exitBarrier === false ? null : randomBytes(12).toString('hex')
    const proc = loadNodePty().spawn(nonce ? '/bin/sh' : file, nonce ? ['-c', BARRIER, 'claudette-pty', nonce, file, ...args] : args, {
      name: req.env.TERM ?? 'xterm-256color',
      cols: req.cols,
      rows: req.rows,
      cwd: req.cwd,
      env: { ...req.env },
      // Raw bytes: no UTF-8 decoding in node-pty, so a split multi-byte character is not mangled.
      encoding: null,
    })
    const master = ptyMaster(proc)
    if (!master && !this.#warned) {
      this.#warned = true
      ;(this.#opts.warn ?? (msg => { process.emitWarning(msg) }))(NODE_PTY_SHAPE_WARNING)
    }
    return new NodePtySession(proc, master, nonce ? Buffer.from(`\x1b]7770;${nonce}\x07`, 'latin1') : null, this.#opts.guardSession?.(proc.pid))
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

  #released = false
  /** The end of the output so far that may be the start of the marker (see #data). */
  #carry: Buffer = EMPTY
  /** Whether #carry has been sent to the listeners already. */
  #carrySent = false
  #carryTimer: NodeJS.Timeout | undefined

  constructor (
    private readonly proc: pty.IPty,
    /** Direct access to the master fd; null: node-pty's public write path only. */
    private readonly master: PtyMaster | null,
    private readonly marker: Buffer | null,
    private readonly guard: { dispose (): void } | undefined,
  ) {
    this.#subs = [
      // With encoding null node-pty hands out Buffers, although its typings say string.
      proc.onData(d => { this.#data(d as unknown as Buffer) }),
      // node-pty reports exit only after the output stream closed, so no data follows it.
      proc.onExit(({ exitCode, signal }) => {
        this.#sendCarry()
        this.#exited = true
        let exit: TerminalExit = { code: signal ? null : exitCode, signal: signalName(signal) }
        // Behind the barrier the shell's status comes through sh: 128+n means signal n.
        if (this.#released && exitCode > 128 && SIGNAL_NAMES.has(exitCode - 128)) exit = { code: null, signal: SIGNAL_NAMES.get(exitCode - 128)! }
        this.guard?.dispose()
        this.#onExit.fire(exit)
        this.dispose()
      }),
    ]
  }

  #data (chunk: Buffer): void {
    const marker = this.marker
    if (!marker || this.#released) { this.#onData.fire(chunk); return }
    // A pty master hands out output in reads of at most 4095 bytes, so the marker can be split
    // across two reads, with the writer's wake-up in between (missed, the wrapper would wait
    // forever for its line). The end of a read that may be the start of the marker is carried
    // into the next search. Whether it is kept back from the clients depends on the wrapper: while the shell
    // still runs (the wrapper has a child) it cannot be the marker, which is printed only after
    // the shell was reaped, so it goes out at once; otherwise it is held until the next read or
    // the exit. Sending the marker's start would leave the client's terminal inside an
    // unterminated OSC string that swallows whatever it prints next.
    const carry = this.#carry
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk
    const sent = this.#carrySent ? carry.length : 0
    if (carry.length > 0 && !this.#carrySent) clearTimeout(this.#carryTimer)
    const i = buf.indexOf(marker)
    if (i >= 0) {
      // The shell has exited and everything before the marker has been read: let the wrapper go.
      this.#released = true
      this.#carry = EMPTY
      if (i > sent) this.#onData.fire(buf.subarray(sent, i))
      this.#releaseBarrier()
      return
    }
    const at = markerPrefixAt(buf, marker)
    this.#carry = at < buf.length ? Buffer.from(buf.subarray(at)) : EMPTY
    if (at < sent) {
      // Part of this possible marker has gone out already: nothing left to keep back.
      this.#carrySent = true
      if (buf.length > sent) this.#onData.fire(buf.subarray(sent))
      return
    }
    const shell = at < buf.length ? this.#shellRunning() : true
    this.#carrySent = shell === true
    const out = shell === true ? buf.subarray(sent) : buf.subarray(sent, at)
    if (out.length > 0) this.#onData.fire(out)
    if (shell === null) this.#carryTimer = setTimeout(() => this.#sendCarry(), HELD_FALLBACK_MS).unref()
  }

  /** Whether the wrapped shell is still running: true, false, or null when /proc cannot tell. */
  #shellRunning (): boolean | null {
    const pid = this.proc.pid
    try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim() !== '' } catch { return null }
  }

  /** Sends the kept-back end of the last read (no more output came); it stays in the search. */
  #sendCarry (): void {
    if (this.#carrySent || this.#carry.length === 0) return
    this.#carrySent = true
    clearTimeout(this.#carryTimer)
    this.#onData.fire(this.#carry)
  }

  /**
   * The line that releases the barrier is written straight to the master fd. Through node-pty's
   * queue (an fs.write on the thread pool) it can race the fd being closed after close_pty's
   * SIGHUP, and node-pty then prints "Unhandled pty write error EBADF" on stderr. Only EAGAIN
   * (or no access to the fd) falls back to the queue.
   */
  #releaseBarrier (): void {
    if (this.master) {
      try {
        writeSync(this.master.fd, '\n')
        return
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return
      }
    }
    try { this.proc.write('\n') } catch { /* already gone */ }
  }

  get pid (): number { return this.proc.pid }

  write (data: Uint8Array | string): void {
    if (this.#exited) return
    let buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    // Keystrokes go straight to the (non-blocking) master fd: node-pty's own write path is an
    // fs.write on the thread pool, a round trip that shows in echo latency on a busy machine.
    // Whatever does not fit, or anything while node-pty still has a queue, keeps its order there.
    const master = this.master
    if (master && master.writeQueue.length === 0) {
      try {
        const n = writeSync(master.fd, buf)
        if (n === buf.length) return
        buf = buf.subarray(n)
      } catch { /* EAGAIN and friends: the queued path retries */ }
    }
    this.proc.write(buf as never)
  }

  resize (cols: number, rows: number): void {
    if (!this.#exited) this.proc.resize(cols, rows)
  }

  pause (): void { if (!this.#paused && !this.#exited) { this.#paused = true; this.proc.pause() } }
  resume (): void { if (this.#paused) { this.#paused = false; this.proc.resume() } }

  kill (signal = 'SIGHUP'): void {
    // The child is a session leader (setsid), so its pid is the session id.
    const pids = new Set([...(this.#exited ? [] : [this.proc.pid]), ...sessionMembers(this.proc.pid)])
    for (const pid of pids) {
      try { process.kill(pid, signal) } catch { /* already gone */ }
    }
  }

  dispose (): void {
    clearTimeout(this.#carryTimer)
    this.guard?.dispose()
    for (const s of this.#subs) s.dispose()
    this.#onData.dispose()
    this.#onExit.dispose()
  }
}
