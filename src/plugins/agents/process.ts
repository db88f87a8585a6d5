// A child process speaking newline-delimited JSON on stdin/stdout (Claude Code's stream-json):
// the part every stream-json provider shares. No shell, no global lock: spawn() returns as soon
// as the OS has started the process, so a slow agent start never delays anyone else.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { Emitter } from '../../core/lifecycle.js'
import { AgentSpawnError, AgentStdinError } from './errors.js'
import type { AgentAnswer, AgentEvent, AgentInput, AgentSession, AgentSnapshot } from './types.js'

export interface StreamJsonSpawn {
  readonly kind: string
  readonly command: string
  readonly args: readonly string[]
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  /** Shell-quoted, redacted command line (for cli_invocation and logs). */
  readonly commandLine: string
  readonly stopTimeoutMs: number
  readonly maxLineBytes: number
  readonly log: FastifyBaseLogger
}

const NEWLINE = 0x0a
/** POSIX: each agent leads its own process group, so a stop reaches the tools it started too. */
const GROUPS = process.platform !== 'win32'
/** After the agent exited, how long its output pipes may stay open (held by a descendant). */
const STDIO_GRACE_MS = 2000

/** Splits a byte stream into lines without decoding partial UTF-8 sequences. */
class LineSplitter {
  #parts: Buffer[] = []
  #size = 0
  #dropping = false
  constructor (private readonly max: number, private readonly onLine: (line: string) => void, private readonly onOverflow: (bytes: number) => void) {}

  push (chunk: Buffer): void {
    let start = 0
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      this.#append(chunk.subarray(start, i))
      this.#flush()
      start = i + 1
    }
    if (start < chunk.length) this.#append(chunk.subarray(start))
  }

  end (): void { if (this.#size > 0 || this.#dropping) this.#flush() }

  #append (b: Buffer): void {
    if (this.#dropping) { this.#size += b.length; return }
    if (this.#size + b.length > this.max) {
      this.#dropping = true
      this.#parts = []
      this.#size += b.length
      return
    }
    this.#parts.push(b)
    this.#size += b.length
  }

  #flush (): void {
    if (this.#dropping) this.onOverflow(this.#size)
    else if (this.#size > 0) this.onLine((this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts)).toString('utf8'))
    this.#parts = []
    this.#size = 0
    this.#dropping = false
  }
}

/**
 * One stream-json agent process. Events fire in the order the process wrote them; `exit` comes
 * last, after stdout and stderr have been fully read.
 */
export class StreamJsonSession implements AgentSession {
  readonly id = randomUUID()
  readonly #emitter: Emitter<AgentEvent>
  readonly onEvent
  readonly #child: ChildProcessWithoutNullStreams
  readonly #opts: StreamJsonSpawn
  #exited = false
  #exitPromise: Promise<void>
  #killTimer: NodeJS.Timeout | null = null
  #disposing: Promise<void> | null = null

  private constructor (child: ChildProcessWithoutNullStreams, opts: StreamJsonSpawn) {
    this.#child = child
    this.#opts = opts
    this.#emitter = new Emitter<AgentEvent>(err => opts.log.error({ err }, 'agent event listener failed'))
    this.onEvent = this.#emitter.event
    const out = new LineSplitter(opts.maxLineBytes, line => this.#onStdoutLine(line),
      bytes => opts.log.warn({ kind: opts.kind, pid: child.pid, bytes }, 'agent output line too long, dropped'))
    const err = new LineSplitter(64 * 1024, line => { if (line.trim()) this.#emitter.fire({ type: 'stderr', line }) }, () => {})
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stdout.on('end', () => out.end())
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.stderr.on('end', () => err.end())
    // A write after the process died surfaces here (EPIPE); send() reports it to the caller.
    child.stdin.on('error', e => opts.log.debug({ err: e, pid: child.pid }, 'agent stdin closed'))
    this.#exitPromise = new Promise(resolve => {
      // 'close' fires after stdio ended, so every line is delivered before the exit event.
      // Tools the agent started (a shell command, an MCP server) must not outlive it; killing
      // them also closes any copy of the agent's stdout they hold, which 'close' waits for.
      child.once('exit', () => {
        this.#signalGroup('SIGKILL')
        // A process that left the group (setsid) may still hold the pipes: stop waiting for it.
        setTimeout(() => { child.stdout.destroy(); child.stderr.destroy() }, STDIO_GRACE_MS).unref()
      })
      child.once('close', (code, signal) => {
        this.#exited = true
        if (this.#killTimer) clearTimeout(this.#killTimer)
        this.#emitter.fire({ type: 'exit', code, signal })
        this.#emitter.dispose()
        resolve()
      })
    })
  }

  /** Starts the process; resolves once it runs, rejects with AgentSpawnError if it cannot. */
  static start (opts: StreamJsonSpawn): Promise<StreamJsonSession> {
    return new Promise((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams
      try {
        // detached = a new process group (not a daemon: stdio stays piped, the server waits for it).
        child = spawn(opts.command, [...opts.args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, detached: GROUPS })
      } catch (err) {
        reject(new AgentSpawnError(`Failed to start ${opts.kind} agent (${opts.command}): ${(err as Error).message}`, { cause: err }))
        return
      }
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'ENOENT' ? `${opts.command} not found (is it installed and in PATH?)` : err.message
        reject(new AgentSpawnError(`Failed to start ${opts.kind} agent: ${why}`, { cause: err }))
      }
      child.once('error', onError)
      child.once('spawn', () => {
        child.off('error', onError)
        child.on('error', err => opts.log.warn({ err, pid: child.pid }, 'agent process error'))
        resolve(new StreamJsonSession(child, opts))
      })
    })
  }

  get pid (): number | null { return this.#child.pid ?? null }
  get alive (): boolean { return !this.#exited }

  #onStdoutLine (line: string): void {
    if (!line.trim()) return
    let message: unknown
    try { message = JSON.parse(line) } catch {
      this.#opts.log.debug({ kind: this.#opts.kind, pid: this.pid }, 'agent printed a line that is not JSON')
      this.#emitter.fire({ type: 'stderr', line })
      return
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return
    this.#emitter.fire({ type: 'stream', message: message as Record<string, unknown> })
  }

  #write (obj: unknown): Promise<void> {
    if (this.#exited || this.#disposing || !this.#child.stdin.writable) {
      return Promise.reject(new AgentStdinError('Agent process is not running'))
    }
    return new Promise((resolve, reject) => {
      this.#child.stdin.write(JSON.stringify(obj) + '\n', err => {
        if (err) reject(new AgentStdinError(`Failed to write to the agent: ${err.message}`, { cause: err }))
        else resolve()
      })
    })
  }

  send (msg: AgentInput): Promise<void> {
    return this.#write({
      message: { content: [{ text: msg.content, type: 'text' }], role: 'user' },
      parent_tool_use_id: null,
      session_id: '',
      type: 'user',
      uuid: randomUUID(),
    })
  }

  answer (requestId: string, reply: AgentAnswer): Promise<void> {
    return this.#write({ response: { request_id: requestId, response: reply, subtype: 'success' }, type: 'control_response' })
  }

  snapshot (): AgentSnapshot {
    return { kind: this.#opts.kind, pid: this.pid, alive: this.alive, commandLine: this.#opts.commandLine }
  }

  /** Signals the agent's whole process group (the agent alone where there are no groups). */
  #signal (sig: NodeJS.Signals): void {
    if (!this.#signalGroup(sig)) { try { this.#child.kill(sig) } catch { /* already gone */ } }
  }

  #signalGroup (sig: NodeJS.Signals): boolean {
    if (!GROUPS || !this.#child.pid) return false
    try { process.kill(-this.#child.pid, sig); return true } catch { return false }
  }

  /**
   * Closes stdin, sends SIGTERM to the agent's process group, then SIGKILL after stopTimeoutMs;
   * resolves once it exited. What is left of the group is killed when the agent exits.
   */
  dispose (): Promise<void> {
    this.#disposing ??= (async () => {
      if (this.#exited) return
      try { this.#child.stdin.end() } catch { /* already closed */ }
      this.#signal('SIGTERM')
      this.#killTimer = setTimeout(() => { if (!this.#exited) this.#signal('SIGKILL') }, this.#opts.stopTimeoutMs)
      this.#killTimer.unref()
      await this.#exitPromise
    })()
    return this.#disposing
  }
}

const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/
/** POSIX shell quoting, for display only (processes are always spawned without a shell). */
export const shellQuote = (s: string): string => s === '' ? "''" : SAFE_ARG.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`

/** Flags whose value may be large or sensitive: shown as `<redacted>`. */
const REDACTED_FLAGS = new Set(['--mcp-config', '--settings', '--append-system-prompt', '--system-prompt', '--agents', '--betas', '--json-schema'])

export function redactedCommandLine (command: string, args: readonly string[]): string {
  const out = [shellQuote(command)]
  for (let i = 0; i < args.length; i++) {
    out.push(shellQuote(args[i]!))
    if (REDACTED_FLAGS.has(args[i]!) && i + 1 < args.length) { out.push('<redacted>'); i++ }
  }
  return out.join(' ')
}
