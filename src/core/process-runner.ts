// Short-lived child processes (git and the like) run from a worker thread, not the main thread.
//
// Why: libuv's uv_spawn forks the whole process and blocks the calling thread until the child
// has exec'd. From the main thread of a server with ~200 MiB of heap, that is 10-100+ ms per
// spawn under load, and every RPC, terminal and agent stream waits for it. From a worker
// thread the fork blocks only the worker (measured: 600 `git --version` from the main thread,
// event-loop delay p99 25 ms / max 47 ms; the same from a worker, p99 6 ms / max 15 ms).
//
// One runner per server (CORE.ProcessRunner). The worker is started on first use, is ref()'d
// only while calls are in flight (like a child process handle: an idle runner never keeps the
// process alive) and is started with `execArgv: []` and inline CommonJS source, so it behaves
// the same from src/*.ts under a TS loader and from dist/. Long-lived streaming processes
// (agents, setup scripts, ptys) are not for this: they stay where they are.
import { Worker, type ResourceLimits } from 'node:worker_threads'
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

/** The worker thread died while the call was in flight; the next call starts a new worker. */
export class ProcessRunnerCrashedError extends AppError {
  readonly code = 'ERR_PROCESS_RUNNER_CRASHED'
  constructor (reason: string, options?: { cause?: unknown }) { super(`process runner worker exited unexpectedly: ${reason}`, options) }
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
  /**
   * The worker thread's V8 heap limits. Default: a 4 MiB young generation (V8's default lets an
   * idle-looking worker grow ~30 MiB of RSS under a steady stream of calls); old generation unlimited.
   */
  readonly resourceLimits?: ResourceLimits
  /** Told when the worker dies unexpectedly (the runner recovers by itself). */
  readonly onWorkerExit?: (err: Error) => void
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

// The worker: CommonJS, evaluated from this string (no file to locate, no TS loader needed).
// It runs execFile and posts back plain data; `kill` SIGKILLs every child it still has.
const WORKER_SOURCE = `'use strict'
const { parentPort } = require('node:worker_threads')
const { execFile } = require('node:child_process')
const children = new Set()
let env = process.env
parentPort.on('message', (m) => {
  if (m.type === 'kill') { for (const c of children) { try { c.kill('SIGKILL') } catch {} } return }
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
    parentPort.postMessage(out)
  }
  try {
    child = execFile(m.file, m.args, { cwd: m.cwd, env, maxBuffer: m.maxBuffer, encoding: 'utf8', windowsHide: true }, done)
    children.add(child)
    timer = setTimeout(() => { timedOut = true; try { child.kill(m.killSignal) } catch {} }, m.timeoutMs)
  } catch (err) { done(err, '', '') }
})
`

/**
 * Runs short-lived child processes (execFile semantics: no shell, buffered output) from a
 * worker thread owned by one server. See the file comment for why.
 *
 * Dispose: calls still queued are rejected at once with ProcessRunnerClosedError; children in
 * flight get `closeGraceMs` to finish (their callers get their results), then are SIGKILLed and
 * their calls rejected with ProcessRunnerClosedError; then the worker is terminated. Calls after
 * dispose reject with ProcessRunnerClosedError.
 */
export class ProcessRunner {
  readonly #maxConcurrent: number
  readonly #maxQueued: number
  readonly #defaultTimeoutMs: number
  readonly #defaultMaxBuffer: number
  readonly #closeGraceMs: number
  readonly #resourceLimits: ResourceLimits
  readonly #onWorkerExit: ((err: Error) => void) | undefined
  readonly #queue: Call[] = []
  readonly #inFlight = new Map<number, Call>()
  #worker: Worker | null = null
  #nextId = 1
  #closed = false
  #closing: Promise<void> | null = null
  #workersStarted = 0
  /** The environment (JSON) last posted to the current worker. */
  #lastEnv: string | null = null
  readonly #idleWaiters = new Set<() => void>()

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
    this.#resourceLimits = { maxYoungGenerationSizeMb: 4, ...opts.resourceLimits }
    this.#onWorkerExit = opts.onWorkerExit
  }

  /** Children running now. */
  get running (): number { return this.#inFlight.size }
  /** Calls waiting for a free slot. */
  get queued (): number { return this.#queue.length }
  /** Workers started so far (1 after first use; more only after a worker died). */
  get workersStarted (): number { return this.#workersStarted }
  get closed (): boolean { return this.#closed }

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
      const worker = this.#ensureWorker()
      this.#inFlight.set(call.id, call)
      if (this.#inFlight.size === 1) worker.ref()
      const o = call.opts
      // The environment is most of a message: send it only when it differs from the last one
      // this worker got (as JSON, which is cheaper to compare and to post than an object).
      const env = JSON.stringify(o.env ?? process.env)
      const sameEnv = env === this.#lastEnv
      this.#lastEnv = env
      worker.postMessage({
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

  #ensureWorker (): Worker {
    if (this.#worker) return this.#worker
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      resourceLimits: this.#resourceLimits,
    })
    worker.unref()
    this.#worker = worker
    this.#lastEnv = null
    this.#workersStarted++
    let failure: Error | null = null
    worker.on('message', (m: WireResult) => this.#settle(m))
    worker.on('error', err => { failure = err })
    worker.on('exit', code => {
      if (this.#worker !== worker) return // terminated by dispose()
      this.#worker = null
      const err = new ProcessRunnerCrashedError(failure ? failure.message : `exit code ${code}`, failure ? { cause: failure } : undefined)
      const lost = [...this.#inFlight.values()]
      this.#inFlight.clear()
      for (const call of lost) call.reject(err)
      for (const fn of [...this.#idleWaiters]) fn()
      this.#onWorkerExit?.(err)
      this.#pump()
    })
    return worker
  }

  #settle (m: WireResult): void {
    const call = this.#inFlight.get(m.id)
    if (!call) return
    this.#inFlight.delete(m.id)
    if (this.#inFlight.size === 0) {
      this.#worker?.unref()
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
    const closed = new ProcessRunnerClosedError()
    for (const call of this.#queue.splice(0)) call.reject(closed)
    const worker = this.#worker
    if (!worker) return
    if (this.#inFlight.size > 0 && this.#closeGraceMs > 0) await this.#whenIdle(this.#closeGraceMs)
    if (this.#inFlight.size > 0) {
      // Out of time: kill what is left, answer its callers now, and let the worker reap the
      // children (bounded) so none is left a zombie of this process.
      worker.postMessage({ type: 'kill' })
      for (const call of this.#inFlight.values()) call.reject(closed)
      const killed = [...this.#inFlight.values()]
      for (const call of killed) this.#inFlight.set(call.id, { ...call, resolve: () => {}, reject: () => {} })
      await this.#whenIdle(1_000)
    }
    this.#worker = null
    this.#inFlight.clear()
    await worker.terminate()
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
