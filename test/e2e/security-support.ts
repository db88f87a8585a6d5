// Shared pieces of the security suite (test/e2e/security-*.test.ts): a log capture that
// proves no token reaches the logs, raw connections from chosen loopback addresses, and a
// runner for the built CLI (`npm test` builds dist/ first; run `npm run build` before running
// one of these files alone).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import type { ClaudetteServer, ServerOptionsInput } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { knownSecrets, pairingToken, recordSecret, startServer, type TestContext } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

export const CLI = fileURLToPath(new URL('../../dist/bin/claudette-server.js', import.meta.url))

/** Every log line a server writes, at trace level, plus the secrets that must never appear in them. */
export class LogCapture {
  readonly chunks: string[] = []
  readonly secrets = new Set<string>()
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _enc, cb) => { this.chunks.push(chunk.toString()); cb() },
  })

  get text (): string { return this.chunks.join('') }

  /** Asserts that no known secret and nothing shaped like a token (43 base64url chars) was logged. */
  check (t: TestContext, extra: Iterable<string> = []): void {
    const text = this.text
    for (const s of extra) this.secrets.add(s)
    t.ok(this.chunks.length > 0, 'logs were captured')
    const leaked = [...this.secrets].filter(s => s.length > 0 && text.includes(s))
    t.same(leaked.length, 0, `no token in ${this.chunks.length} log chunks (${this.secrets.size} secrets checked)`)
    const shaped = text.match(/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g) ?? []
    t.same(shaped, [], 'nothing token-shaped in the logs')
  }
}

/** A real server with trace-level logs captured. Call logs.check(t) at the end of the test. */
export async function startSecureServer (t: TestContext, opts: ServerOptionsInput = {}): Promise<{ server: ClaudetteServer, logs: LogCapture }> {
  const logs = new LogCapture()
  const server = await startServer(t, { logLevel: 'trace', logStream: logs.stream, ...opts })
  logs.secrets.add(pairingToken(server))
  return { server, logs }
}

/** Opens a WebSocket from a chosen loopback source address (127.0.0.0/8 all reaches 127.0.0.1 on Linux). */
export async function connectFrom (t: TestContext, server: ClaudetteServer, localAddress = '127.0.0.1'): Promise<TestClient> {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/`, {
    ca: readFileSync(join(server.home, 'cert.pem')),
    localAddress,
  })
  const client = new TestClient(ws)
  t.teardown(() => { ws.terminate() })
  await Promise.race([once(ws, 'open'), once(ws, 'close')])
  return client
}

/** Pairs a device and records its session token as a secret. */
export async function pairDevice (t: TestContext, server: ClaudetteServer, logs: LogCapture, name: string, localAddress?: string): Promise<TestClient & { sessionToken: string, sessionId: string }> {
  const c = await connectFrom(t, server, localAddress)
  const res = await c.request('authenticate', { pairing_token: pairingToken(server), client_name: name })
  if (!res.result?.session_token) throw new Error(`pairing failed: ${JSON.stringify(res)}`)
  logs.secrets.add(res.result.session_token)
  const list = await c.call('list_sessions') as Array<{ id: string, current: boolean }>
  return Object.assign(c, { sessionToken: res.result.session_token as string, sessionId: list.find(s => s.current)!.id })
}

/** Connects and authenticates with an existing session token. */
export async function resume (t: TestContext, server: ClaudetteServer, sessionToken: string): Promise<{ client: TestClient, res: any }> {
  const client = await connectFrom(t, server)
  const res = await client.request('authenticate', { session_token: sessionToken })
  return { client, res }
}

export interface CliResult { code: number, stdout: string, stderr: string }

/** Runs the built server CLI to completion. */
export function runCli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** A server run as its own process (`node dist/bin/claudette-server.js run`), killed on teardown. */
export interface ServerProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly connectionString: string
  stdout: string
  stderr: string
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export async function spawnServer (t: TestContext, home: string, extra: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, '--home', home, '--bind', '127.0.0.1', '--port', '0', '--no-mdns', '--log-level', 'trace', ...extra, 'run'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  const proc = { child, port: 0, connectionString: '', stdout: '', stderr: '', exited }
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited }
    // Its log (stderr, trace level) must hold no token any test client of this process saw.
    const leaked = [...knownSecrets].filter(s => proc.stderr.includes(s)).length
    if (leaked > 0) throw new Error(`${leaked} pairing/session token(s) appeared in the log of a server process`)
  })
  child.stdout!.on('data', (d: Buffer) => { proc.stdout += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { proc.stderr += d.toString() })
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`server did not start: ${proc.stderr.slice(-2000)}`)
    return /Ready for connections/.test(proc.stdout)
  }, { timeout: 60_000, what: () => `the server to start: ${proc.stderr.slice(-2000)}` })
  proc.connectionString = /claudette:\/\/\S+/.exec(proc.stdout)![0]
  recordSecret(proc.connectionString.split('/').pop())
  proc.port = Number(/listening on wss:\/\/[^:]+:(\d+)/.exec(proc.stdout)![1])
  return proc
}

/** A ClaudetteServer-shaped handle for TestClient/connectFrom that points at a server process. */
export function processTarget (home: string, proc: ServerProcess): ClaudetteServer {
  return {
    home,
    port: proc.port,
    get connectionString () { return proc.connectionString },
  } as unknown as ClaudetteServer
}
