// Agents benchmark: RPC latency of an idle chat session while N chatty fake agents
// stream (each ~100 agent-stream events per second, broadcast to every connection), next to the
// same measurement with no agent running, in one run. The server runs in a child process with
// the fake `claude` (test/fixtures/fake-claude) first in PATH; everything is on 127.0.0.1.
//   node --import @tapjs/typescript/import bench/agents/idle-latency.ts
// Env: BENCH_AGENTS (20), BENCH_SAMPLES (400), BENCH_DELTA_MS (10).
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'

const AGENTS = Number(process.env.BENCH_AGENTS ?? 20)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400)
const DELTA_MS = Number(process.env.BENCH_DELTA_MS ?? 10)
const FAKE_DIR = fileURLToPath(new URL('../../test/fixtures/fake-claude', import.meta.url))
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]! }


class Client {
  #id = 0
  #waiting = new Map<number, { t0: number, resolve: (v: any) => void }>()
  events = 0
  eventBytes = 0
  constructor (readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const text = d.toString()
      if (text.startsWith('{"event"')) { this.events++; this.eventBytes += text.length; return }
      const msg = JSON.parse(text)
      const w = this.#waiting.get(msg.id)
      if (w) { this.#waiting.delete(msg.id); w.resolve({ msg, ms: performance.now() - w.t0 }) }
    })
  }

  static async open (port: number, ca: Buffer, token: string): Promise<Client> {
    const ws = new WebSocket(`wss://127.0.0.1:${port}`, { ca })
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const c = new Client(ws)
    const auth = await c.timed('authenticate', { pairing_token: token, client_name: 'bench' })
    if (auth.msg.error) throw new Error(auth.msg.error.message)
    return c
  }

  timed (method: string, params: unknown): Promise<{ msg: any, ms: number }> {
    const id = ++this.#id
    return new Promise(resolve => { this.#waiting.set(id, { t0: performance.now(), resolve }); this.ws.send(JSON.stringify({ id, method, params })) })
  }

  async call (method: string, params: unknown): Promise<any> {
    const { msg } = await this.timed(method, params)
    if (msg.error) throw new Error(`${method}: ${msg.error.message}`)
    return msg.result
  }
}

async function sample (c: Client, chatId: string): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < SAMPLES; i++) {
    out.push((await c.timed('get_chat_snapshot', { chat_session_id: chatId, limit: 20 })).ms)
    await sleep(5)
  }
  return out
}

async function main (): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'claudette-bench-agents-'))
  const home = join(root, 'home')
  const repo = join(root, 'repo')
  mkdirSync(repo)
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env: gitEnv })
  writeFileSync(join(repo, 'README.md'), 'bench\n')
  execFileSync('git', ['add', '.'], { cwd: repo, env: gitEnv })
  execFileSync('git', ['commit', '-q', '-m', 'init'], { cwd: repo, env: gitEnv })

  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', fileURLToPath(import.meta.url), 'server', home], {
    env: { ...process.env, PATH: `${FAKE_DIR}${delimiter}${process.env.PATH}`, FAKE_CLAUDE_DELTA_MS: String(DELTA_MS) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines: string[] = []
  let waiter: ((line: string) => void) | null = null
  let buf = ''
  child.stdout.on('data', d => {
    buf += d
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (waiter) { const w = waiter; waiter = null; w(line) } else lines.push(line)
    }
  })
  const nextLine = (): Promise<string> => lines.length ? Promise.resolve(lines.shift()!) : new Promise(resolve => { waiter = resolve })
  const loopDelay = async (): Promise<{ p50: number, p99: number, max: number }> => { child.stdin.write('report\n'); return JSON.parse(await nextLine()) }
  child.once('exit', code => { if (code) console.error(`server exited with ${code}`) })
  const { port, token } = JSON.parse(await nextLine()) as { port: number, token: string }
  const ca = readFileSync(join(home, 'cert.pem'))
  try {
    const admin = await Client.open(port, ca, token)
    const watcher = await Client.open(port, ca, token) // a second device that receives every event
    const repoInfo = await admin.call('add_repository', { path: repo })
    const ws = await admin.call('create_workspace', { repository_id: repoInfo.id, name: 'bench' })
    const idle = ws.default_session_id as string
    const chats: string[] = []
    for (let i = 0; i < AGENTS; i++) chats.push((await admin.call('create_chat_session', { workspace_id: ws.workspace.id })).id)
    await admin.call('send_chat_message', { chat_session_id: idle, content: 'warm up' })
    await sleep(500)

    child.stdin.write('reset\n')
    const base = await sample(admin, idle)
    const baseLoop = await loopDelay()
    const perAgent = Math.ceil((SAMPLES * 6 + 4000) / DELTA_MS)
    await Promise.all(chats.map(id => admin.call('send_chat_message', { chat_session_id: id, content: `chatty: ${perAgent} ${DELTA_MS}` })))
    await sleep(1500) // every agent is streaming
    const e0 = watcher.events
    const b0 = watcher.eventBytes
    const t0 = performance.now()
    child.stdin.write('reset\n')
    const load = await sample(admin, idle)
    const loadLoop = await loopDelay()
    const secs = (performance.now() - t0) / 1000
    const rate = (watcher.events - e0) / secs
    const mbps = (watcher.eventBytes - b0) / secs / 1e6
    await Promise.all(chats.map(id => admin.call('stop_agent', { chat_session_id: id })))

    const row = (name: string, xs: number[], loop: { p50: number, p99: number }): string =>
      `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 99).toFixed(2)} | ${Math.max(...xs).toFixed(2)} | ${loop.p50.toFixed(1)} / ${loop.p99.toFixed(1)} |`
    const { loadavg } = await import('node:os')
    console.log(`agents=${AGENTS} samples=${SAMPLES} delta_ms=${DELTA_MS} loadavg(1m)=${loadavg()[0]!.toFixed(1)}`)
    console.log('| Idle session get_chat_snapshot | samples | p50 ms | p99 ms | max ms | server event-loop delay p50 / p99 ms |')
    console.log('|---|---|---|---|---|---|')
    console.log(row('no agent running (baseline)', base, baseLoop))
    console.log(row(`${AGENTS} chatty agents streaming`, load, loadLoop))
    console.log(`events received by a second connection during the load phase: ${rate.toFixed(0)}/s (${mbps.toFixed(2)} MB/s)`)
    admin.ws.close()
    watcher.ws.close()
  } finally {
    child.kill('SIGTERM')
    await new Promise(resolve => child.once('exit', resolve))
    rmSync(root, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'server') {
  const { createServer } = await import('../../src/index.js')
  const server = await createServer({ home: process.argv[3]!, bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'warn', connectHost: '127.0.0.1' })
  await server.listen()
  process.stdout.write(JSON.stringify({ port: server.port, token: server.connectionString.split('/').pop() }) + '\n')
  // The server's own event-loop delay, reset and reported on request (separates server stalls
  // from CPU contention on the machine).
  const { monitorEventLoopDelay } = await import('node:perf_hooks')
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('reset')) h.reset()
    if (d.includes('report')) process.stdout.write(JSON.stringify({ p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }) + '\n')
  })
  process.on('SIGTERM', () => { void server.close().then(() => process.exit(0)) })
} else {
  await main()
}
