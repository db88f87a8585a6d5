// Short-lived child processes (git and the like) are spawned by a small helper process, never
// by the server itself.
//
// Why: libuv's uv_spawn forks the calling process. Forking a server with ~200 MiB of heap copies
// its page tables and blocks the calling thread until the child has exec'd (10-100+ ms per spawn
// under load); and until the exec, every page the server writes is copied (copy-on-write), which
// slows its main thread even when the fork is issued from a worker thread. The helper is a bare
// Node process of a few MiB of heap: forking it is cheap and touches nothing of the server.
// Measured (a main thread busy writing memory in a 300 MiB process, 50 `git --version`/s):
// spawning from the main thread, event-loop delay p99 56-60 ms and 9k rounds of work; from a
// worker thread, p99 9-12 ms but still 7-10k rounds; from the helper, p99 2-3 ms and 68-70k.
//
// One runner per server (CORE.ProcessRunner). The helper is started on first use, talks over
// Node's IPC channel, is ref()'d only while calls are in flight (like a child process handle: an
// idle runner never keeps the process alive), exits when the server goes away (the channel
// closes, even on SIGKILL), and runs inline CommonJS source, so it behaves the same from
// src/*.ts under a TS loader and from dist/.
//
// Long-lived streaming children (agents) can be started by the helper too (spawnChild): the
// helper spawns them and hands their stdin/stdout/stderr pipes to this process over the IPC
// channel (file descriptor passing), so the server reads and writes them directly and only the
// start and the exit report go through the helper. Measured in the load suite: ten agent starts
// held the server's event loop for ~0.5 s together when spawned from the main thread.
// (ptys are forked by node-pty's own native code and stay where they are.)
//
// The helper is also the server's dead man's switch for process sessions (guardSession): it
// outlives a server that dies without cleaning up (SIGKILL, OOM kill, crash) by a moment, and
// hangs up every process of each session the server still had open (terminals), as a terminal
// emulator's hangup would. Without it, a shell busy in a foreground loop, or a background job,
// kept running forever after the server died (test/reliability/crash-terminals.test.ts).
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { AppError } from './errors.js'

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

/** The runner was disposed (server closing): the call was not run, or its child was killed. */
export class ProcessRunnerClosedError extends AppError {
  readonly code = 'ERR_PROCESS_RUNNER_CLOSED'
  override readonly statusCode = 503
  constructor () { super('process runner is closed (server shutting down)') }
}

/** The helper process died while the call was in flight; the next call starts a new helper. */
export class ProcessRunnerCrashedError extends AppError {
  readonly code = 'ERR_PROCESS_RUNNER_CRASHED'
  constructor (reason: string, options?: { cause?: unknown }) { super(`process runner helper exited unexpectedly: ${reason}`, options) }
}

/** More calls waiting than `maxQueued`. */
export class ProcessRunnerBusyError extends AppError {
  readonly code = 'ERR_PROCESS_RUNNER_BUSY'
  override readonly statusCode = 503
  constructor (limit: number) { super(`too many processes waiting to run (limit ${limit})`) }
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
/** Messages of spawnChild calls (they carry a `type`; run() results do not). */
type WireChildMessage =
  | { type: 'spawned', id: number, pid: number }
  | { type: 'stdio', id: number, fd: 0 | 1 | 2 }
  | { type: 'spawnError', id: number, error: Omit<WireError, 'killed' | 'signal' | 'timedOut'> }
  | { type: 'exited', id: number, code: number | null, signal: NodeJS.Signals | null }

export interface SpawnChildOptions {
  readonly cwd: string
  /** The child's whole environment; default: this process's environment at call time. */
  readonly env?: NodeJS.ProcessEnv
  /** Start the child in a new session and process group of its own (POSIX `detached`). */
  readonly detached?: boolean
}

/**
 * A long-lived child started by the helper (spawnChild). It behaves like the part of Node's
 * ChildProcess that streaming callers use: `'spawn'` once it runs (stdin, stdout and stderr are
 * set from then on: sockets of this process), or `'error'` if it could not start; then `'exit'`
 * (code, signal) and `'close'` (code, signal) once stdout and stderr have ended too. If the helper
 * dies, a running child is sent SIGKILL (its group, when detached) and reported as exited by
 * SIGKILL.
 */
export class HelperChild extends EventEmitter {
  pid: number | undefined = undefined
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  stdin!: Socket
  stdout!: Socket
  stderr!: Socket
  readonly #detached: boolean
  readonly #stdio: Array<Socket | undefined> = []
  #exited = false
  #openOutputs = 2

  /** @internal */
  constructor (detached: boolean) {
    super()
    this.#detached = detached
  }

  /** Sends `signal` to the child (not to its group: callers that want the group use -pid). */
  kill (signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.pid === undefined || this.#exited) return false
    try { process.kill(this.pid, signal); return true } catch { return false }
  }

  /** @internal */ started (pid: number): void { this.pid = pid }

  /** @internal */ attach (fd: 0 | 1 | 2, socket: Socket): void {
    this.#stdio[fd] = socket
    if (fd > 0) socket.once('close', () => { if (--this.#openOutputs === 0) this.#maybeClose() })
    if (this.#stdio[0] && this.#stdio[1] && this.#stdio[2]) {
      this.stdin = this.#stdio[0]
      this.stdout = this.#stdio[1]
      this.stderr = this.#stdio[2]
      this.emit('spawn')
    }
  }

  /** @internal */ failed (err: Error): void {
    for (const s of this.#stdio) s?.destroy()
    this.emit('error', err)
  }

  /** @internal */ exited (code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return
    this.#exited = true
    this.exitCode = code
    this.signalCode = signal
    // As Node's ChildProcess: the child's stdin is gone with it.
    this.#stdio[0]?.destroy()
    this.emit('exit', code, signal)
    this.#maybeClose()
  }

  /** @internal The helper died: the child is killed (it cannot report any more). */
  orphaned (): void {
    if (this.#exited) return
    if (this.pid === undefined) { this.failed(new ProcessRunnerCrashedError('the helper exited before the child started')); return }
    try { process.kill(this.#detached ? -this.pid : this.pid, 'SIGKILL') } catch { /* already gone */ }
    this.exited(null, 'SIGKILL')
  }

  #maybeClose (): void {
    if (this.#exited && this.#openOutputs === 0) this.emit('close', this.exitCode, this.signalCode)
  }
}
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
const { execFile, spawn } = require('node:child_process')
const fs = require('node:fs')
const children = new Set()
const guarded = new Set()
// Long-lived children started with spawnChild, by call id: { child, detached }.
const streaming = new Map()
const signalStreaming = (sig) => {
  for (const { child, detached } of streaming.values()) {
    try { if (detached) process.kill(-child.pid, sig); else child.kill(sig) } catch {}
  }
}
const wireError = (err) => ({ message: String(err.message), code: err.code ?? null, errno: typeof err.errno === 'number' ? err.errno : undefined, syscall: err.syscall, path: err.path })
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
  if (guarded.size === 0 && streaming.size === 0) process.exit(0)
  // The server went away with sessions or streaming children open: SIGHUP the sessions, SIGTERM
  // the children (an orderly close stops them first), SIGKILL what is left after a moment.
  signalAll('SIGHUP')
  signalStreaming('SIGTERM')
  setTimeout(() => { signalAll('SIGKILL'); signalStreaming('SIGKILL'); process.exit(0) }, ${SESSION_KILL_DELAY_MS})
})
process.on('message', (m) => {
  if (m.type === 'kill') { for (const c of children) { try { c.kill('SIGKILL') } catch {} } return }
  if (m.type === 'guard') { guarded.add(m.sid); return }
  if (m.type === 'unguard') { guarded.delete(m.sid); return }
  if (m.type === 'spawn') {
    let child
    try {
      child = spawn(m.file, m.args, { cwd: m.cwd, env: JSON.parse(m.env), stdio: ['pipe', 'pipe', 'pipe'], detached: m.detached, windowsHide: true })
    } catch (err) { process.send({ type: 'spawnError', id: m.id, error: wireError(err) }); return }
    // Node starts reading a child's stdout and stderr at once, and destroys its stdin when it
    // exits. Neither may happen here: the server is the reader, and the pipes leave one at a time
    // (each handle waits for the previous one's acknowledgement), possibly after the exit. So the
    // reads are stopped before any I/O runs (same tick), and ChildProcess forgets its stdin.
    const stdio = [child.stdin, child.stdout, child.stderr]
    for (const s of stdio.slice(1)) { try { s._handle.readStop() } catch {} }
    child.stdin = null
    child.once('error', (err) => { if (!streaming.has(m.id) && process.connected) process.send({ type: 'spawnError', id: m.id, error: wireError(err) }) })
    child.once('spawn', () => {
      streaming.set(m.id, { child, detached: m.detached })
      process.send({ type: 'spawned', id: m.id, pid: child.pid })
      // Each pipe goes to the server and is closed here once sent: the server holds the only copy.
      process.send({ type: 'stdio', id: m.id, fd: 0 }, stdio[0])
      process.send({ type: 'stdio', id: m.id, fd: 1 }, stdio[1])
      process.send({ type: 'stdio', id: m.id, fd: 2 }, stdio[2])
    })
    child.once('exit', (code, signal) => {
      if (!streaming.delete(m.id)) return
      if (process.connected) process.send({ type: 'exited', id: m.id, code, signal })
      else if (guarded.size === 0 && streaming.size === 0) process.exit(0)
    })
    return
  }
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

/**
 * Runs short-lived child processes (execFile semantics: no shell, buffered output) through a
 * helper process owned by one server. See the file comment for why.
 *
 * Dispose: calls still queued are rejected at once with ProcessRunnerClosedError; spawnChild
 * children still running are SIGKILLed; run() children in
 * flight get `closeGraceMs` to finish (their callers get their results), then are SIGKILLed and
 * their calls rejected with ProcessRunnerClosedError; then the helper is disconnected (it exits). Calls after
 * dispose reject with ProcessRunnerClosedError.
 */
export class ProcessRunner {
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
  /** spawnChild children by call id, from the spawn request until their exit report. */
  readonly #children = new Map<number, HelperChild>()

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

  /** spawnChild children not yet reported as exited (tests, diagnostics). */
  get children (): number { return this.#children.size }

  /**
   * Starts a long-lived child with piped stdio from the helper (no shell, no concurrency cap, no
   * timeout: the caller owns its lifetime). Returns at once; listen for `'spawn'` or `'error'`.
   * After dispose the child fails with ProcessRunnerClosedError.
   */
  spawnChild (file: string, args: readonly string[], opts: SpawnChildOptions): HelperChild {
    const child = new HelperChild(opts.detached === true)
    if (this.#closed) {
      setImmediate(() => child.failed(new ProcessRunnerClosedError()))
      return child
    }
    const id = this.#nextId++
    const helper = this.#ensureHelper()
    this.#children.set(id, child)
    this.#refresh()
    helper.send({ type: 'spawn', id, file, args: [...args], cwd: opts.cwd, env: JSON.stringify(opts.env ?? process.env), detached: opts.detached === true })
    return child
  }

  #onChildMessage (m: WireChildMessage, handle: unknown): void {
    const child = this.#children.get(m.id)
    if (!child) { if (m.type === 'stdio') (handle as Socket | undefined)?.destroy(); return }
    if (m.type === 'spawned') child.started(m.pid)
    else if (m.type === 'stdio') {
      if (handle) { child.attach(m.fd, handle as Socket); return }
      // The helper could not hand the pipe over: the child cannot be used, so it is stopped.
      this.#children.delete(m.id)
      this.#refresh()
      child.orphaned()
    }
    else if (m.type === 'spawnError') {
      this.#children.delete(m.id)
      this.#refresh()
      const e = m.error
      child.failed(Object.assign(new Error(e.message), { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path }))
    } else {
      this.#children.delete(m.id)
      this.#refresh()
      child.exited(m.code, m.signal)
    }
  }

  /** The helper keeps this process alive while calls are in flight or spawnChild children live. */
  #refresh (): void {
    if (this.#helper) this.#ref(this.#helper, this.#inFlight.size > 0 || this.#children.size > 0)
  }

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
      if (this.#inFlight.size === 1) this.#refresh()
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
    helper.on('message', (m: WireResult | WireChildMessage, handle: unknown) => {
      if ('type' in m) this.#onChildMessage(m, handle)
      else this.#settle(m)
    })
    helper.on('error', err => { failure = err })
    helper.on('exit', (code, signal) => {
      if (this.#helper !== helper) return // disconnected by dispose()
      this.#helper = null
      const reason = failure ? failure.message : signal ? `killed by ${signal}` : `exit code ${String(code)}`
      const err = new ProcessRunnerCrashedError(reason, failure ? { cause: failure } : undefined)
      const lost = [...this.#inFlight.values()]
      this.#inFlight.clear()
      for (const call of lost) call.reject(err)
      const orphans = [...this.#children.values()]
      this.#children.clear()
      for (const child of orphans) child.orphaned()
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
      this.#refresh()
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
    // spawnChild children are their owners' to stop before this (the agents plugin does, on
    // close); one still running now is killed and reported as exited by SIGKILL.
    const leftovers = [...this.#children.values()]
    this.#children.clear()
    for (const child of leftovers) child.orphaned()
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
