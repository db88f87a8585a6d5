// Core benchmark: cold start to banner, TLS+WS connect+authenticate latency, and
// server_info round trips per second next to a bare `ws` TLS echo server measured in the same run.
// Everything runs on 127.0.0.1 and stops by itself.
//   npm run build && node --import @tapjs/typescript/import bench/core.ts
// Env: BENCH_ROUNDS (starts, 5), BENCH_CONNECTS (200), BENCH_RPC_SECONDS (3, per server, split
// into BENCH_SLICES alternating slices, 6).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'

// The bundled CLI (dist/cli/), as `npm start` and the package's bin run it.
const BIN = fileURLToPath(new URL('../dist/cli/claudette-server.js', import.meta.url))
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 200)
const RPC_SECONDS = Number(process.env.BENCH_RPC_SECONDS ?? 3)
const WINDOW = 32 // requests in flight on one connection
/** The RPC and echo rates are measured in this many alternating slices of RPC_SECONDS in total. */
const SLICES = Number(process.env.BENCH_SLICES ?? 6)

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]! }
const median = (xs: number[]): number => pct(xs, 50)

async function startToBanner (home: string): Promise<{ ms: number, port: number, token: string, kill: () => Promise<void> }> {
  const t0 = performance.now()
  const child = spawn(process.execPath, [BIN, '--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', d => { out += d; if (out.includes('Ready for connections.')) resolve() })
    child.on('exit', () => reject(new Error('server exited: ' + out)))
  })
  const ms = performance.now() - t0
  const port = Number(/listening on wss:\/\/[^:]+:(\d+)/.exec(out)![1])
  const token = /claudette:\/\/\S+\/(\S+)/.exec(out)![1]!
  return { ms, port, token, kill: async () => { child.kill('SIGTERM'); await once(child, 'exit') } }
}

function connect (port: number, ca: Buffer): Promise<WebSocket> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}`, { ca })
  return new Promise((resolve, reject) => { ws.once('open', () => resolve(ws)); ws.once('error', reject) })
}

function rpc (ws: WebSocket, msg: object): Promise<any> {
  return new Promise(resolve => { ws.once('message', d => resolve(JSON.parse(d.toString()))); ws.send(JSON.stringify(msg)) })
}

/** Round trips per second with WINDOW requests in flight on one connection, for `seconds`. */
async function rate (ws: WebSocket, make: (id: number) => string, seconds = RPC_SECONDS): Promise<number> {
  let done = 0
  let id = 0
  const end = performance.now() + seconds * 1000
  await new Promise<void>(resolve => {
    ws.on('message', () => {
      done++
      if (performance.now() < end) ws.send(make(++id))
      else if (done === id) resolve()
    })
    for (let i = 0; i < WINDOW; i++) ws.send(make(++id))
  })
  ws.removeAllListeners('message')
  return done / seconds
}

async function echoServer (certDir: string): Promise<{ port: number, kill: () => Promise<void> }> {
  // A bare ws TLS echo server: the ceiling for any JSON-over-WSS request/response on this machine.
  const code = `
    const https = require('node:https'); const fs = require('node:fs'); const { WebSocketServer } = require('ws');
    const s = https.createServer({ key: fs.readFileSync(${JSON.stringify(join(certDir, 'key.pem'))}), cert: fs.readFileSync(${JSON.stringify(join(certDir, 'cert.pem'))}) });
    const wss = new WebSocketServer({ server: s });
    wss.on('connection', ws => ws.on('message', d => ws.send(d.toString())));
    s.listen(0, '127.0.0.1', () => console.log('port', s.address().port));`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('..', import.meta.url)) })
  const [d] = await once(child.stdout, 'data')
  return { port: Number(/port (\d+)/.exec(String(d))![1]), kill: async () => { child.kill(); await once(child, 'exit') } }
}

const root = mkdtempSync(join(tmpdir(), 'claudette-bench-'))
try {
  // 1. Cold start to banner: first run (key generation) and with an existing identity.
  const firstRun: number[] = []
  const warm: number[] = []
  let home = ''
  for (let i = 0; i < ROUNDS; i++) {
    home = join(root, `h${i}`)
    const s = await startToBanner(home)
    firstRun.push(s.ms)
    await s.kill()
    const s2 = await startToBanner(home)
    warm.push(s2.ms)
    await s2.kill()
  }

  // 2. Connect + authenticate (session token) latency over fresh connections.
  const server = await startToBanner(home)
  const ca = readFileSync(join(home, 'cert.pem'))
  const pairWs = await connect(server.port, ca)
  const paired = await rpc(pairWs, { id: 1, method: 'authenticate', params: { pairing_token: server.token, client_name: 'bench' } })
  const sessionToken = paired.result.session_token as string
  pairWs.close()
  const connectMs: number[] = []
  for (let i = 0; i < CONNECTS; i++) {
    const t0 = performance.now()
    const ws = await connect(server.port, ca)
    const r = await rpc(ws, { id: 1, method: 'authenticate', params: { session_token: sessionToken } })
    connectMs.push(performance.now() - t0)
    if (!r.result) throw new Error('auth failed: ' + JSON.stringify(r))
    ws.terminate()
  }

  // 3. server_info round trips per second vs the bare echo ceiling, in alternating slices (both
  // servers up the whole time), so a change in the machine's speed during the run hits both alike.
  const echo = await echoServer(home)
  const ws = await connect(server.port, ca)
  await rpc(ws, { id: 0, method: 'authenticate', params: { session_token: sessionToken } })
  const ews = await connect(echo.port, ca)
  const request = (id: number): string => `{"id":${id},"method":"server_info","params":{}}`
  const rpcRates: number[] = []
  const echoRates: number[] = []
  for (let i = 0; i < SLICES; i++) {
    const [first, second] = i % 2 === 0 ? [ws, ews] : [ews, ws]
    const a = await rate(first, request, RPC_SECONDS / SLICES)
    const b = await rate(second, request, RPC_SECONDS / SLICES)
    rpcRates.push(first === ws ? a : b)
    echoRates.push(first === ws ? b : a)
  }
  const rpcRate = rpcRates.reduce((x, y) => x + y, 0) / SLICES
  const echoRate = echoRates.reduce((x, y) => x + y, 0) / SLICES
  ws.close()
  ews.close()
  await server.kill()
  await echo.kill()

  const f = (n: number): string => n.toFixed(1)
  console.log(`cold start to banner, first run (key generation): median ${f(median(firstRun))} ms  (n=${ROUNDS}; target < 1000 ms)`)
  console.log(`cold start to banner, existing identity:          median ${f(median(warm))} ms  (n=${ROUNDS})`)
  console.log(`TLS+WS connect + authenticate:                    p50 ${f(pct(connectMs, 50))} ms  p99 ${f(pct(connectMs, 99))} ms  (n=${CONNECTS}; target p50 < 20 ms)`)
  console.log(`server_info round trips:                           ${Math.round(rpcRate)} /s  (window ${WINDOW}, ${RPC_SECONDS} s)`)
  console.log(`bare ws TLS echo (same client, same run):          ${Math.round(echoRate)} /s`)
  console.log(`ratio server_info / echo:                          ${(rpcRate / echoRate).toFixed(2)}x  (target >= 0.7x; per slice ${rpcRates.map((r, i) => (r / echoRates[i]!).toFixed(2)).join(' ')})`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
