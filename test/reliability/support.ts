// Shared pieces of the reliability suites (test/reliability/*.test.ts and bench/{load,soak,fuzz}):
// the real server CLI run as a child process, /proc sampling of that process (RSS, CPU, open
// file descriptors), and a lean WebSocket client that keeps no frame history (so it can stay
// connected for minutes under streaming output without growing).
// The CLI is the built one: `npm test` builds dist/ first; run `npm run build` before running
// one of these files alone.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { waitFor } from '../helpers/wait.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI = join(ROOT, 'dist/bin/claudette-server.js')
export const FAKE_CLAUDE_DIR = join(ROOT, 'test/fixtures/fake-claude')

/** A free loopback port (so a restarted server can come back on the same one). */
export async function freePort (): Promise<number> {
  const s = createNetServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  await new Promise(resolve => s.close(resolve))
  return port
}

export interface StartOptions {
  /** Fixed port (default 0: any free one). */
  port?: number
  /** Extra environment for the server (merged over process.env). */
  env?: NodeJS.ProcessEnv
  /** Extra CLI arguments (before `run`). */
  args?: string[]
  logLevel?: string
  /** Give up waiting for the banner after this long. */
  timeoutMs?: number
  /** Options for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[]
}

/** The server CLI (`node dist/bin/claudette-server.js run`) as a child process. */
export class ServerProcess {
  stdout = ''
  stderr = ''
  port = 0
  pairingToken = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>

  private constructor (readonly child: ChildProcess, readonly home: string) {
    this.exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
    child.stdout!.on('data', (d: Buffer) => { this.stdout += d.toString() })
    // Logs are kept bounded: only the tail matters for a failure message.
    child.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-20_000) })
  }

  get pid (): number { return this.child.pid! }
  get running (): boolean { return this.child.exitCode === null && this.child.signalCode === null }
  get ca (): Buffer { return readFileSync(join(this.home, 'cert.pem')) }

  static async start (home: string, opts: StartOptions = {}): Promise<ServerProcess> {
    const args = [...(opts.nodeArgs ?? []), CLI, '--home', home, '--bind', '127.0.0.1', '--port', String(opts.port ?? 0), '--no-mdns',
      '--log-level', opts.logLevel ?? 'warn', ...(opts.args ?? []), 'run']
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } })
    const proc = new ServerProcess(child, home)
    try {
      await waitFor(() => {
        if (!proc.running) throw new Error(`server exited before it was ready (${child.exitCode ?? child.signalCode}): ${proc.stderr.slice(-2000)}`)
        return proc.stdout.includes('Ready for connections.')
      }, { timeout: opts.timeoutMs ?? 20_000, interval: 10, what: () => `the server to be ready: ${proc.stderr.slice(-2000)}` })
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    proc.port = Number(/listening on wss:\/\/[^\s]+:(\d+)/.exec(proc.stdout)![1])
    proc.pairingToken = /claudette:\/\/\S+\/(\S+)/.exec(proc.stdout)![1]!
    return proc
  }

  /** Sends a signal and waits for the exit. */
  async kill (signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal)
    return this.exited
  }

  stats (): ProcStats { return procStats(this.pid) }
}

export interface ProcStats {
  /** Resident set size, bytes (VmRSS). */
  rss: number
  /** User + system CPU time, seconds. */
  cpu: number
  /** Open file descriptors. */
  fds: number
  /** OS threads. */
  threads: number
}

// USER_HZ: 100 on every Linux we run on (sysconf(_SC_CLK_TCK)).
const CLK_TCK = 100

/** Reads /proc/<pid>/status, /proc/<pid>/stat and /proc/<pid>/fd. */
export function procStats (pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may contain spaces) start at field 3 (state).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  return {
    rss: kb('VmRSS') * 1024,
    cpu: (utime + stime) / CLK_TCK,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: kb('Threads'),
  }
}

/** Samples a process every `intervalMs` until stopped; keeps peak RSS and the CPU used. */
export class Sampler {
  readonly samples: Array<ProcStats & { t: number }> = []
  #timer: NodeJS.Timeout

  constructor (readonly pid: number, intervalMs = 250) {
    this.#take()
    this.#timer = setInterval(() => this.#take(), intervalMs)
    this.#timer.unref()
  }

  #take (): void {
    try { this.samples.push({ t: performance.now(), ...procStats(this.pid) }) } catch { /* the process is gone */ }
  }

  stop (): { peakRss: number, cpuPercent: number, seconds: number, last: ProcStats } {
    clearInterval(this.#timer)
    this.#take()
    const first = this.samples[0]!
    const last = this.samples[this.samples.length - 1]!
    const seconds = (last.t - first.t) / 1000
    return {
      peakRss: Math.max(...this.samples.map(s => s.rss)),
      cpuPercent: seconds > 0 ? (last.cpu - first.cpu) / seconds * 100 : 0,
      seconds,
      last,
    }
  }
}

export interface RpcResponse { id: unknown, result?: any, error?: { code: number, message: string, data?: unknown } }

/**
 * A lean protocol client: pending requests by id, event and binary counters, no frame history.
 * `request` resolves with the whole response (errors included) and rejects only on timeout or close.
 */
export class WireClient {
  #nextId = 1
  readonly #pending = new Map<number, { resolve: (r: RpcResponse) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  readonly #eventWaiters: Array<{ pred: (event: string, payload: any) => boolean, resolve: (payload: any) => void, reject: (e: Error) => void }> = []
  events = 0
  binaryBytes = 0
  /** Called for every event (after counting). */
  onEvent: ((event: string, payload: any) => void) | null = null
  /** Called for every binary frame. */
  onBinary: ((data: Buffer) => void) | null = null
  readonly closed: Promise<{ code: number, reason: string }>

  constructor (readonly ws: WebSocket) {
    this.closed = new Promise(resolve => ws.once('close', (code, reason) => {
      for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(new Error(`connection closed (${code})`)) }
      this.#pending.clear()
      for (const w of this.#eventWaiters.splice(0)) w.reject(new Error(`connection closed (${code})`))
      resolve({ code, reason: reason.toString() })
    }))
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) { this.binaryBytes += data.length; this.onBinary?.(data); return }
      // An event nobody here listens to is counted, not parsed: the load suite's 200 clients
      // receive ~14,000 broadcast events/s and share the 2 cores with the server they measure.
      // (Server frames have their keys in alphabetical order: an event starts with {"event":.)
      if (this.onEvent === null && this.#eventWaiters.length === 0 && data.length > 9 && data.toString('latin1', 0, 9) === '{"event":') { this.events++; return }
      const msg = JSON.parse(data.toString('utf8'))
      if (msg.event !== undefined && !('id' in msg)) {
        this.events++
        this.onEvent?.(msg.event, msg.payload)
        for (const w of this.#eventWaiters.slice()) {
          if (w.pred(msg.event, msg.payload)) { this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1); w.resolve(msg.payload) }
        }
        return
      }
      const p = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined
      if (p) { this.#pending.delete(msg.id); clearTimeout(p.timer); p.resolve(msg) }
    })
  }

  static async connect (port: number, ca: Buffer, localAddress?: string): Promise<WireClient> {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca, ...(localAddress ? { localAddress } : {}) })
    let why = ''
    ws.on('error', (err) => { why ||= `: ${err.message}` })
    const client = new WireClient(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('close', (code) => reject(new Error(`connection refused (${code}${why})`)))
    })
    return client
  }

  get isOpen (): boolean { return this.ws.readyState === WebSocket.OPEN }

  request (method: string, params?: unknown, timeoutMs = 10_000): Promise<RpcResponse> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      if (!this.isOpen) { reject(new Error('not open')); return }
      const timer = setTimeout(() => { this.#pending.delete(id); reject(new Error(`${method} timed out after ${timeoutMs} ms`)) }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
      this.ws.send(JSON.stringify(params === undefined ? { id, method } : { id, method, params }))
    })
  }

  /** Like request(), but returns `result` and throws on an error response. */
  async call (method: string, params?: unknown, timeoutMs?: number): Promise<any> {
    const res = await this.request(method, params, timeoutMs)
    if (res.error) throw Object.assign(new Error(`${method}: ${res.error.message}`), { rpc: res.error })
    return res.result
  }

  /** The next event matching the predicate. */
  event (name: string, pred: (payload: any) => boolean = () => true, timeoutMs = 10_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const w = {
        pred: (e: string, p: any) => e === name && pred(p),
        resolve: (p: any) => { clearTimeout(timer); resolve(p) },
        reject: (err: Error) => { clearTimeout(timer); reject(err) },
      }
      if (this.ws.readyState === WebSocket.CLOSED) { reject(new Error('connection closed')); return }
      const timer = setTimeout(() => { this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1); reject(new Error(`timed out waiting for ${name}`)) }, timeoutMs)
      this.#eventWaiters.push(w)
    })
  }

  sendText (text: string): void { this.ws.send(text) }
  sendBinary (data: Buffer): void { this.ws.send(data, { binary: true }) }

  async close (): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    this.ws.close()
    const timer = setTimeout(() => this.ws.terminate(), 2000)
    await this.closed
    clearTimeout(timer)
  }

  terminate (): void { this.ws.terminate() }
}

/** Connects and pairs a new device; returns the client and its session token. */
export async function pairDevice (server: ServerProcess, name: string, localAddress?: string): Promise<{ client: WireClient, sessionToken: string }> {
  const client = await WireClient.connect(server.port, server.ca, localAddress)
  const res = await client.request('authenticate', { client_name: name, pairing_token: server.pairingToken })
  if (!res.result?.session_token) throw new Error(`pairing failed: ${JSON.stringify(res)}`)
  return { client, sessionToken: res.result.session_token }
}

/** Connects and authenticates with a session token. */
export async function resumeDevice (server: { port: number, ca: Buffer }, sessionToken: string, localAddress?: string): Promise<WireClient> {
  const client = await WireClient.connect(server.port, server.ca, localAddress)
  const res = await client.request('authenticate', { session_token: sessionToken })
  if (!res.result) throw new Error(`authenticate failed: ${JSON.stringify(res)}`)
  return client
}

/** Percentile of a sample (nearest rank). */
export function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p / 100 * s.length) - 1))]!
}

export const MiB = 1024 * 1024
export const mib = (bytes: number): string => (bytes / MiB).toFixed(1)
