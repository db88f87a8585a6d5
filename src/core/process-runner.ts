// Short-lived child processes (git and the like) are spawned by a small helper process, never
// by the server itself: libuv forks the calling process to spawn, and forking a server with a
// large heap stalls its main thread (page tables copied, copy-on-write faults until the exec);
// forking a bare Node helper touches nothing of the server. The figures are in
// docs/performance.md ("Git spawned by a helper process").
//
// One runner per server (CORE.ProcessRunner). The helper starts on first use, talks over Node's
// IPC channel, is ref()'d only while calls are in flight (an idle runner never keeps the process
// alive), exits when the server goes away (the channel closes, even on SIGKILL), and runs inline
// CommonJS source, so it behaves the same under a TS loader and from dist/. Long-lived streaming
// processes (agents, setup scripts, ptys) do not use it.
//
// The helper is also the server's dead man's switch for process sessions (guardSession): it
// outlives a server that dies without cleaning up (SIGKILL, OOM kill, crash) by a moment and
// hangs up every process of each session the server still had open, as a terminal emulator's
// hangup would, so a shell busy in a loop does not run on forever.
import { spawn, type ChildProcess } from 'node:child_process'
import { ProcessRunnerBusyError, ProcessRunnerClosedError, ProcessRunnerCrashedError } from './errors.js'

export { ProcessRunnerBusyError, ProcessRunnerClosedError, ProcessRunnerCrashedError }

export interface ProcessRunOptions {
  /** Working directory (required: the caller always knows where it runs). */
  readonly cwd: string
  /** The child's whole environment; default: this process's environment at call time. */
  readonly env?: NodeJS.ProcessEnv
  /** Killed with `killSignal` after this long; default the runner's `defaultTimeoutMs`. Always applied. */
  readonly timeoutMs?: number
  /** Largest stdout or stderr (bytes); more kills the child (ERR_CHILD_PROCESS_STDIO_MAXBUFFER). */
  readonly maxBuffer?: number
  /** Exit codes other than 0 that resolve instead of rejecting (e.g. 1 for `git diff --no-index`). */
  readonly okCodes?: readonly number[]
  /** Signal sent on timeout; default SIGTERM (as execFile). */
  readonly killSignal?: NodeJS.Signals
}

export interface ProcessResult {
  readonly stdout: string
  readonly stderr: string
  /** The exit code (0, or one of `okCodes`). */
  readonly code: number
  readonly signal: NodeJS.Signals | null
}

/**
 * The child failed: the same shape as execFile's error, so callers keep their checks.
 * `code` is the exit code (number), or a string: `ENOENT`/`ENOTDIR`/`EACCES` when the spawn
 * failed (missing binary or missing cwd alike), `ERR_CHILD_PROCESS_STDIO_MAXBUFFER`, or null
 * when the child was killed by a signal. `killed`/`signal` are set on timeout.
 */
export class ProcessError extends Error {
  readonly code: number | string | null
  readonly killed: boolean
  readonly signal: NodeJS.Signals | null
  /** True when the runner killed the child because `timeoutMs` passed. */
  readonly timedOut: boolean
  readonly stdout: string
  readonly stderr: string
  readonly errno?: number
  readonly syscall?: string
  readonly path?: string

  constructor (message: string, f: { code: number | string | null, killed: boolean, signal: NodeJS.Signals | null, timedOut: boolean, stdout: string, stderr: string, errno?: number, syscall?: string, path?: string }) {
    super(message)
    this.name = 'ProcessError'
    this.code = f.code
    this.killed = f.killed
    this.signal = f.signal
    this.timedOut = f.timedOut
    this.stdout = f.stdout
    this.stderr = f.stderr
    if (f.errno !== undefined) this.errno = f.errno
    if (f.syscall !== undefined) this.syscall = f.syscall
    if (f.path !== undefined) this.path = f.path
  }
}

export interface ProcessRunnerOptions {
  /** Children running at once; the rest wait in FIFO order. Default 16. */
  readonly maxConcurrent?: number
  /** Calls waiting beyond `maxConcurrent`; more are refused with ProcessRunnerBusyError. Default 10,000. */
  readonly maxQueued?: number
  /** Timeout of a call that names none. Default 60 s. */
  readonly defaultTimeoutMs?: number
  /** Default `maxBuffer`. Default 64 MiB. */
  readonly defaultMaxBuffer?: number
  /** On dispose, how long children in flight may finish before they are SIGKILLed. Default 2 s. */
  readonly closeGraceMs?: number
  /** Told when the helper dies unexpectedly (the runner recovers by itself). */
  readonly onHelperExit?: (err: Error) => void
}

interface WireError {
  message: string, code: number | string | null, killed: boolean, signal: NodeJS.Signals | null,
  timedOut: boolean, errno?: number, syscall?: string, path?: string
}
interface WireResult { id: number, stdout: string, stderr: string, error?: WireError }
interface Call {
  readonly id: number
  readonly file: string
  readonly args: readonly string[]
  readonly opts: ProcessRunOptions
  readonly resolve: (r: ProcessResult) => void
  readonly reject: (e: Error) => void
}

/** A helper that died while sessions are guarded is replaced this much later. */
const HELPER_RESTART_MS = 200
/** After hanging up guarded sessions of a server that died, survivors get SIGKILL this much later. */
const SESSION_KILL_DELAY_MS = 1_000

// The helper: CommonJS, evaluated from this string (no file to locate, no TS loader needed).
// It runs execFile and sends back plain data; `kill` SIGKILLs every child it still has. It
// exits when the server closes the channel (server exit, crash or dispose); children still
// running are left to finish, as they would be if the server had spawned them itself.
const HELPER_SOURCE = `'use strict'
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const children = new Set()
const guarded = new Set()
let env = process.env
// Pids of every live process in session sid (Linux /proc; elsewhere just the leader's group).
const members = (sid) => {
  const out = []
  let entries = []
  try { entries = fs.readdirSync('/proc') } catch { return [-sid] }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue
    try {
      const stat = fs.readFileSync('/proc/' + e + '/stat', 'latin1')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (f[0] !== 'Z' && Number(f[3]) === sid) out.push(Number(e))
    } catch {}
  }
  return out
}
const signalAll = (sig) => {
  for (const sid of guarded) for (const pid of members(sid)) { try { process.kill(pid, sig) } catch {} }
}
process.on('disconnect', () => {
  if (guarded.size === 0) process.exit(0)
  // The server went away with sessions open: SIGHUP them, SIGKILL what is left after a moment.
  signalAll('SIGHUP')
  setTimeout(() => { signalAll('SIGKILL'); process.exit(0) }, ${SESSION_KILL_DELAY_MS})
})
process.on('message', (m) => {
  if (m.type === 'kill') { for (const c of children) { try { c.kill('SIGKILL') } catch {} } return }
  if (m.type === 'guard') { guarded.add(m.sid); return }
  if (m.type === 'unguard') { guarded.delete(m.sid); return }
  if (m.env !== null) env = JSON.parse(m.env)
  let child = null
  let timedOut = false
  let timer = null
  const done = (err, stdout, stderr) => {
    if (timer) clearTimeout(timer)
    if (child) children.delete(child)
    const out = { id: m.id, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') }
    if (err) {
      out.error = { message: String(err.message), code: err.code ?? null, killed: Boolean(err.killed) || timedOut, signal: err.signal ?? null,
        timedOut, errno: typeof err.errno === 'number' ? err.errno : undefined, syscall: err.syscall, path: err.path }
    }
    if (process.connected) process.send(out)
  }
  try {
    child = execFile(m.file, m.args, { cwd: m.cwd, env, maxBuffer: m.maxBuffer, encoding: 'utf8', windowsHide: true }, done)
    children.add(child)
    timer = setTimeout(() => { timedOut = true; try { child.kill(m.killSignal) } catch {} }, m.timeoutMs)
  } catch (err) { done(err, '', '') }
})
`

/** Short-lived child processes as plugins see them (what CORE.ProcessRunner is typed by). */
export interface ChildProcesses {
  /** Runs `file` with `args` (no shell) and resolves with its buffered output; see ProcessRunOptions. */
  run (file: string, args: readonly string[], opts: ProcessRunOptions): Promise<ProcessResult>
  /** Hangs up every process of session `sid` if this server dies without disposing the guard. */
  guardSession (sid: number): { dispose (): void }
}

/**
 * Runs short-lived child processes (execFile semantics: no shell, buffered output) through a
 * helper process owned by one server. See the file comment for why.
 *
 * Dispose: calls still queued are rejected at once with ProcessRunnerClosedError; children in
 * flight get `closeGraceMs` to finish (their callers get their results), then are SIGKILLed and
 * their calls rejected with ProcessRunnerClosedError; then the helper is disconnected (it exits). Calls after
 * dispose reject with ProcessRunnerClosedError.
 */
export class ProcessRunner implements ChildProcesses {
  readonly #maxConcurrent: number
  readonly #maxQueued: number
  readonly #defaultTimeoutMs: number
  readonly #defaultMaxBuffer: number
  readonly #closeGraceMs: number
  readonly #onHelperExit: ((err: Error) => void) | undefined
  readonly #queue: Call[] = []
  readonly #inFlight = new Map<number, Call>()
  readonly #idleWaiters = new Set<() => void>()
  #helper: ChildProcess | null = null
  #nextId = 1
  #closed = false
  #closing: Promise<void> | null = null
  #helpersStarted = 0
  /** The environment (JSON) last sent to the current helper. */
  #lastEnv: string | null = null
  /** Session ids the helper hangs up if this process dies (guardSession). */
  readonly #guarded = new Set<number>()

  constructor (opts: ProcessRunnerOptions = {}) {
    const int = (v: number | undefined, d: number, name: string, min = 1): number => {
      const n = v ?? d
      if (!Number.isInteger(n) || n < min) throw new RangeError(`ProcessRunner option ${name} must be an integer >= ${min} (got ${String(v)})`)
      return n
    }
    this.#maxConcurrent = int(opts.maxConcurrent, 16, 'maxConcurrent')
    this.#maxQueued = int(opts.maxQueued, 10_000, 'maxQueued', 0)
    this.#defaultTimeoutMs = int(opts.defaultTimeoutMs, 60_000, 'defaultTimeoutMs')
    this.#defaultMaxBuffer = int(opts.defaultMaxBuffer, 64 * 1024 * 1024, 'defaultMaxBuffer')
    this.#closeGraceMs = int(opts.closeGraceMs, 2_000, 'closeGraceMs', 0)
    this.#onHelperExit = opts.onHelperExit
  }

  /** Children running now. */
  get running (): number { return this.#inFlight.size }
  /** Calls waiting for a free slot. */
  get queued (): number { return this.#queue.length }
  /** Helper processes started so far (1 after first use; more only after a helper died). */
  get helpersStarted (): number { return this.#helpersStarted }
  /** The current helper's pid (null before first use, after dispose, or between helpers). */
  get helperPid (): number | null { return this.#helper?.pid ?? null }
  get closed (): boolean { return this.#closed }

  /**
   * Guards a process session (`sid`: the pid of its leader, which called setsid): if this process
   * dies without disposing the guard (SIGKILL, a crash), the helper sends SIGHUP to every process
   * of the session, then SIGKILL to what is left a second later. Dispose the guard once the
   * session is over, or once the owner has ended it itself. Starts the helper if needed; a helper
   * that dies is replaced and told every guard again. No-op after dispose.
   */
  guardSession (sid: number): { dispose (): void } {
    if (this.#closed || !Number.isInteger(sid) || sid <= 1) return { dispose () {} }
    this.#guarded.add(sid)
    this.#ensureHelper().send({ type: 'guard', sid })
    let disposed = false
    return {
      dispose: () => {
        if (disposed) return
        disposed = true
        this.#guarded.delete(sid)
        if (this.#helper?.connected) this.#helper.send({ type: 'unguard', sid })
      },
    }
  }

  /** Sessions guarded now (tests, diagnostics). */
  get guardedSessions (): number { return this.#guarded.size }

  /**
   * Runs `file args` in `opts.cwd` (no shell). Resolves on exit code 0 (or one of `okCodes`);
   * rejects with ProcessError (execFile's shape), ProcessRunnerClosedError,
   * ProcessRunnerCrashedError or ProcessRunnerBusyError.
   */
  run (file: string, args: readonly string[], opts: ProcessRunOptions): Promise<ProcessResult> {
    if (this.#closed) return Promise.reject(new ProcessRunnerClosedError())
    if (this.#inFlight.size >= this.#maxConcurrent && this.#queue.length >= this.#maxQueued) return Promise.reject(new ProcessRunnerBusyError(this.#maxQueued))
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, file, args: [...args], opts, resolve, reject })
      this.#pump()
    })
  }

  #pump (): void {
    while (!this.#closed && this.#inFlight.size < this.#maxConcurrent && this.#queue.length > 0) {
      const call = this.#queue.shift()!
      const helper = this.#ensureHelper()
      this.#inFlight.set(call.id, call)
      if (this.#inFlight.size === 1) this.#ref(helper, true)
      const o = call.opts
      // The environment is most of a message: send it only when it differs from the last one
      // this helper got (as JSON, which is cheap to compare).
      const env = JSON.stringify(o.env ?? process.env)
      const sameEnv = env === this.#lastEnv
      this.#lastEnv = env
      helper.send({
        id: call.id,
        file: call.file,
        args: call.args,
        cwd: o.cwd,
        env: sameEnv ? null : env,
        timeoutMs: o.timeoutMs ?? this.#defaultTimeoutMs,
        maxBuffer: o.maxBuffer ?? this.#defaultMaxBuffer,
        killSignal: o.killSignal ?? 'SIGTERM',
      })
    }
  }

  /** A helper (and its channel) keeps the process alive only while calls are in flight. */
  #ref (helper: ChildProcess, on: boolean): void {
    const channel = helper.channel as { ref (): void, unref (): void } | null | undefined
    if (on) { helper.ref(); channel?.ref() } else { helper.unref(); channel?.unref() }
  }

  #ensureHelper (): ChildProcess {
    if (this.#helper) return this.#helper
    // NODE_OPTIONS may name loaders or inspector flags meant for the server: not for the helper.
    const { NODE_OPTIONS: _ignored, ...env } = process.env
    const helper = spawn(process.execPath, ['-e', HELPER_SOURCE], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env,
      windowsHide: true,
    })
    this.#ref(helper, false)
    this.#helper = helper
    this.#lastEnv = null
    this.#helpersStarted++
    let failure: Error | null = null
    // A replacement helper must know the guards its predecessor had.
    for (const sid of this.#guarded) helper.send({ type: 'guard', sid })
    helper.on('message', (m: WireResult) => this.#settle(m))
    helper.on('error', err => { failure = err })
    helper.on('exit', (code, signal) => {
      if (this.#helper !== helper) return // disconnected by dispose()
      this.#helper = null
      const reason = failure ? failure.message : signal ? `killed by ${signal}` : `exit code ${String(code)}`
      const err = new ProcessRunnerCrashedError(reason, failure ? { cause: failure } : undefined)
      const lost = [...this.#inFlight.values()]
      this.#inFlight.clear()
      for (const call of lost) call.reject(err)
      for (const fn of [...this.#idleWaiters]) fn()
      this.#onHelperExit?.(err)
      this.#pump()
      // Guards need a live helper even when no call is waiting (after a pause, so a helper that
      // cannot start does not make a tight loop).
      if (this.#guarded.size > 0 && !this.#closed) {
        setTimeout(() => { if (this.#guarded.size > 0 && !this.#closed) this.#ensureHelper() }, HELPER_RESTART_MS).unref()
      }
    })
    return helper
  }

  #settle (m: WireResult): void {
    const call = this.#inFlight.get(m.id)
    if (!call) return
    this.#inFlight.delete(m.id)
    if (this.#inFlight.size === 0) {
      if (this.#helper) this.#ref(this.#helper, false)
      for (const fn of [...this.#idleWaiters]) fn()
    }
    const e = m.error
    if (!e) call.resolve({ stdout: m.stdout, stderr: m.stderr, code: 0, signal: null })
    else if (typeof e.code === 'number' && !e.killed && call.opts.okCodes?.includes(e.code)) call.resolve({ stdout: m.stdout, stderr: m.stderr, code: e.code, signal: null })
    else call.reject(new ProcessError(e.message, { ...e, stdout: m.stdout, stderr: m.stderr }))
    this.#pump()
  }

  /** Idempotent; see the class comment for what happens to calls in flight. */
  dispose (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    this.#closed = true
    // An orderly close: whoever guarded sessions ends them (the terminals plugin kills its ptys on
    // close); the helper must not hang them up behind its back as it exits.
    for (const sid of this.#guarded) if (this.#helper?.connected) this.#helper.send({ type: 'unguard', sid })
    this.#guarded.clear()
    const closed = new ProcessRunnerClosedError()
    for (const call of this.#queue.splice(0)) call.reject(closed)
    const helper = this.#helper
    if (!helper) return
    if (this.#inFlight.size > 0 && this.#closeGraceMs > 0) await this.#whenIdle(this.#closeGraceMs)
    if (this.#inFlight.size > 0) {
      // Out of time: kill what is left and answer its callers now; the helper reaps the children.
      // Their results still arrive (and empty #inFlight), but a settled promise ignores them.
      helper.send({ type: 'kill' })
      for (const call of this.#inFlight.values()) call.reject(closed)
      await this.#whenIdle(1_000)
    }
    this.#helper = null
    this.#inFlight.clear()
    // Closing the channel makes the helper exit; wait for it (bounded), so nothing outlives close().
    const exited = helper.exitCode !== null || helper.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>(resolve => helper.once('exit', () => resolve()))
    helper.ref() // the caller awaits this: keep the loop alive until the helper is gone
    if (helper.connected) helper.disconnect()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([exited, new Promise<void>(resolve => { timer = setTimeout(() => { helper.kill('SIGKILL'); resolve() }, 2_000); timer.unref() })])
    clearTimeout(timer)
  }

  /** Resolves when no call is in flight, or after `ms`. */
  #whenIdle (ms: number): Promise<void> {
    return new Promise<void>(resolve => {
      const finish = (): void => { clearTimeout(timer); this.#idleWaiters.delete(finish); resolve() }
      const timer = setTimeout(finish, ms)
      timer.unref()
      this.#idleWaiters.add(finish)
    })
  }
}
