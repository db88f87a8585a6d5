// Load benchmark: 200 concurrent authenticated clients issuing mixed RPCs while 50
// terminals stream output and 10 fake agents chat, against the server CLI in a child process.
// Reports throughput, p50/p99 latency per method, server RSS and CPU (from /proc/<pid>), and the
// same client fleet against a bare TLS WebSocket echo server measured in the same run.
// Loopback only; every loop ends after LOAD_SECONDS.
//   npm run build && node --import @tapjs/typescript/import bench/load/load.ts
// Knobs (env): LOAD_CLIENTS=200 LOAD_TERMINALS=50 LOAD_AGENTS=10 LOAD_SECONDS=30 LOAD_THINK_MS=100
//              LOAD_PTY_LINES=20 (lines per 50 ms tick per terminal) LOAD_AGENT_DELTA_MS=100
//              LOAD_GIT_RPCS=1 (0: no load_diff_files/load_initial_data) LOAD_CPU_PROF=<dir>
//              LOAD_NODE_ARGS='<node options for the server process>' LOAD_COLD_AGENTS=1 (no warm-up turn)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { addRepository, makeGitRepo } from '../../test/reliability/scenarios.js'
import {
  FAKE_CLAUDE_DIR, mib, pairDevice, percentile, resumeDevice, ROOT, Sampler, ServerProcess, WireClient,
} from '../../test/reliability/support.js'

const env = (k: string, d: number): number => Number(process.env[k] ?? d)
const CLIENTS = env('LOAD_CLIENTS', 200)
const TERMINALS = env('LOAD_TERMINALS', 50)
const AGENTS = env('LOAD_AGENTS', 10)
const SECONDS = env('LOAD_SECONDS', 30)
const THINK_MS = env('LOAD_THINK_MS', 100)
const PTY_LINES = env('LOAD_PTY_LINES', 20)
const AGENT_DELTA_MS = env('LOAD_AGENT_DELTA_MS', 100)
const GIT_RPCS = env('LOAD_GIT_RPCS', 1) !== 0
/** Devices come from 127.0.0.2..; four devices (40 connections) per address stay under the per-address cap. */
const CLIENTS_PER_DEVICE = 10
const ADDRESSES = Math.max(1, Math.ceil(CLIENTS / CLIENTS_PER_DEVICE / 4))
const PTYS_PER_OWNER = 5

/** The RPC mix of one client: [method, weight, params]. */
type Mix = Array<[string, number, () => unknown]>

interface Stats { latencies: Map<string, number[]>, errors: string[], done: number }

function pick (mix: Mix, total: number): [string, number, () => unknown] {
  let r = Math.random() * total
  for (const m of mix) { r -= m[1]; if (r <= 0) return m }
  return mix[0]!
}

/** One device connection: request, wait, think (0..2×THINK_MS), repeat until `until`. */
async function clientLoop (c: WireClient, mix: Mix, until: number, stats: Stats): Promise<void> {
  const total = mix.reduce((n, m) => n + m[1], 0)
  while (performance.now() < until) {
    const [method, , params] = pick(mix, total)
    const t0 = performance.now()
    try {
      const res = await c.request(method, params(), 10_000)
      const ms = performance.now() - t0
      if (res.error) stats.errors.push(`${method}: ${res.error.message}`)
      else {
        let xs = stats.latencies.get(method)
        if (!xs) stats.latencies.set(method, xs = [])
        xs.push(ms)
        stats.done++
      }
    } catch (err) {
      stats.errors.push(`${method}: ${(err as Error).message}`)
      if (!c.isOpen) return
    }
    await sleep(Math.random() * 2 * THINK_MS)
  }
}

async function echoServer (certDir: string): Promise<{ port: number, pid: number, kill: () => Promise<void> }> {
  // A bare ws TLS echo server: the floor for any JSON-over-WSS request/response on this machine.
  const code = `
    const https = require('node:https'); const fs = require('node:fs'); const { WebSocketServer } = require('ws');
    const s = https.createServer({ key: fs.readFileSync(${JSON.stringify(join(certDir, 'key.pem'))}), cert: fs.readFileSync(${JSON.stringify(join(certDir, 'cert.pem'))}) });
    const wss = new WebSocketServer({ server: s });
    wss.on('connection', ws => ws.on('message', d => ws.send(d.toString())));
    s.listen(0, '127.0.0.1', () => console.log('port', s.address().port));`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
  const [d] = await once(child.stdout, 'data')
  return { port: Number(/port (\d+)/.exec(String(d))![1]), pid: child.pid!, kill: async () => { child.kill(); await once(child, 'exit') } }
}

/**
 * A probe in its own process: one connection, one server_info every 50 ms, latencies printed as
 * JSON at the end. Unlike the 200 in-process clients it is not slowed by the load generator's
 * own event loop, so it isolates the server's share of the latency.
 */
function probe (port: number, certFile: string, token: string, seconds: number): Promise<number[]> {
  const code = `
    const fs = require('node:fs'); const WebSocket = require('ws');
    const ws = new WebSocket('wss://127.0.0.1:${port}/', { ca: fs.readFileSync(${JSON.stringify(certFile)}), localAddress: '127.0.0.250' });
    const lat = []; let id = 0; let t0 = 0; const end = Date.now() + ${seconds * 1000};
    const next = () => { if (Date.now() > end) { console.log(JSON.stringify(lat)); ws.terminate(); return } t0 = performance.now(); ws.send(JSON.stringify({ id: ++id, method: 'server_info' })) };
    ws.on('open', () => ws.send(JSON.stringify({ id: 0, method: 'authenticate', params: { session_token: ${JSON.stringify(token)} } })));
    ws.on('message', d => { const m = JSON.parse(d); if (!('id' in m)) return; if (m.id > 0) lat.push(performance.now() - t0); setTimeout(next, 50) });`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  return new Promise(resolve => child.once('exit', () => { try { resolve(JSON.parse(out) as number[]) } catch { resolve([]) } }))
}

/** Idle and total jiffies of all CPUs (/proc/stat), to tell how busy the machine was. */
function machineCpu (): { idle: number, total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) }
}

const fmt = (xs: number[] | undefined): string => xs && xs.length > 0
  ? `p50 ${percentile(xs, 50).toFixed(1)} ms  p99 ${percentile(xs, 99).toFixed(1)} ms  (n=${xs.length})`
  : 'n=0'

const root = mkdtempSync(join(tmpdir(), 'claudette-load-'))
const home = join(root, 'home')
const lines: string[] = []
const say = (s: string): void => { lines.push(s); console.log(s) }
let server: ServerProcess | null = null
try {
  const repo = makeGitRepo(join(root, 'repo'))
  server = await ServerProcess.start(home, {
    env: {
      SHELL: '/bin/bash',
      PATH: `${FAKE_CLAUDE_DIR}${delimiter}${process.env.PATH ?? ''}`,
      CLAUDETTE_HOME: join(root, 'claudette'),
      LOAD_LOOP_DELAY_OUT: join(root, 'loop-delay.json'),
    },
    // LOAD_CPU_PROF=<dir>: write a V8 CPU profile of the server there (written when it exits).
    // LOAD_NODE_ARGS: extra node options for the server process (space-separated), for experiments.
    nodeArgs: [
      '--require', join(import.meta.dirname, 'loop-delay.cjs'),
      ...(process.env.LOAD_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_CPU_PROF}`] : []),
      ...(process.env.LOAD_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
  })
  const srv = server
  const ca = srv.ca
  const addr = (i: number): string => `127.0.0.${2 + (i % ADDRESSES)}`

  // Setup: a repository, one workspace (and chat session) per agent, the paired devices.
  const { client: admin } = await pairDevice(srv, 'load-admin')
  const repositoryId = await addRepository(admin, repo)
  const chats: string[] = []
  const workspaces: string[] = []
  for (let i = 0; i < AGENTS; i++) {
    const created = await admin.call('create_workspace', { name: `load-${i}`, repository_id: repositoryId }, 30_000)
    chats.push(created.default_session_id)
    workspaces.push(created.workspace.id)
  }
  const deviceTokens: string[] = []
  for (let i = 0; i < Math.ceil(CLIENTS / CLIENTS_PER_DEVICE); i++) {
    const { client, sessionToken } = await pairDevice(srv, `device-${i}`, addr(i))
    deviceTokens.push(sessionToken)
    client.terminate()
  }

  // Terminals: owners of PTYS_PER_OWNER ptys each, half in the binary fast path, each shell
  // printing PTY_LINES lines every 50 ms with bash builtins only (no process per line).
  const ptyScript = `for ((;;)); do for ((i=0;i<${PTY_LINES};i++)); do echo "pty output line $i 0123456789abcdefghijklmnopqrstuvwxyz"; done; read -t 0.05; done\r`
  const owners: WireClient[] = []
  let ptys = 0
  for (let o = 0; ptys < TERMINALS; o++) {
    const { client } = await pairDevice(srv, `terminal-owner-${o}`, addr(o))
    owners.push(client)
    if (o % 2 === 1) await client.call('set_pty_encoding', { encoding: 'binary' })
    for (let k = 0; k < PTYS_PER_OWNER && ptys < TERMINALS; k++, ptys++) {
      const { pty_id: ptyId } = await client.call('spawn_pty', { cols: 120, cwd: repo, rows: 40 })
      await client.call('write_pty', { data: [...Buffer.from(ptyScript)], pty_id: ptyId })
    }
  }
  let ptyJsonBytes = 0
  for (const o of owners) o.onEvent = (e, p) => { if (e === 'pty-output') ptyJsonBytes += (p.data as number[]).length }

  // Clients: CLIENTS device connections spread over the loopback addresses.
  const clients: WireClient[] = []
  for (let i = 0; i < CLIENTS; i += 20) {
    clients.push(...await Promise.all(Array.from({ length: Math.min(20, CLIENTS - i) }, (_, k) =>
      // A device connects from one address (as a phone or laptop does).
      resumeDevice(srv, deviceTokens[Math.floor((i + k) / CLIENTS_PER_DEVICE)]!, addr(Math.floor((i + k) / CLIENTS_PER_DEVICE))))))
  }
  const rnd = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!
  const mix: Mix = [
    ['server_info', 40, () => ({})],
    ['list_sessions', 8, () => ({})],
    ['list_repositories', 8, () => ({})],
    ['list_workspaces', 12, () => ({})],
    ['load_initial_data', 1, () => ({})],
    ['list_ptys', 10, () => ({})],
    ['list_chat_sessions', 10, () => ({ workspace_id: rnd(workspaces) })],
    ['load_chat_history', 8, () => ({ chat_session_id: rnd(chats) })],
    ['get_app_setting', 3, () => ({ key: 'worktree_base_dir' })],
    ['load_diff_files', 1, () => ({ workspace_id: rnd(workspaces) })],
  ]
  // LOAD_GIT_RPCS=0 drops the methods that run git per call, to separate their cost (each
  // child_process.spawn blocks the event loop until the child has exec'd).
  if (!GIT_RPCS) mix.splice(0, mix.length, ...mix.filter(([m]) => m !== 'load_diff_files' && m !== 'load_initial_data'))

  // Agents: one driver per chat session, turn after turn until the end.
  const agentStats = { turns: 0, errors: [] as string[] }
  let agentEvents = 0
  clients[0]!.onEvent = (e) => { if (e === 'agent-stream') agentEvents++ }
  const drivers = await Promise.all(chats.map(() => resumeDevice(srv, deviceTokens[0]!, addr(0))))

  // Warm-up: one short turn per agent, so the measured window sees agents chatting in steady state
  // (each chat session keeps its agent process between turns) rather than ten process starts at
  // its first instant. What a burst of starts costs is measured separately: LOAD_COLD_AGENTS=1.
  if (process.env.LOAD_COLD_AGENTS !== '1') {
    await Promise.all(drivers.map(async (c, i) => {
      const done = c.event('agent-stream', p => p.chat_session_id === chats[i] && p.event?.Stream?.type === 'result', 60_000)
      await c.call('send_chat_message', { chat_session_id: chats[i], content: 'chatty: 1 1' }, 30_000)
      await done
    }))
  }
  await sleep(1000) // terminals and connections settle
  const sampler = new Sampler(srv.pid, 250)
  const machine0 = machineCpu()
  const self0 = process.cpuUsage()
  process.kill(srv.pid, 'SIGUSR2') // the server's loop-delay monitor starts now
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const started = performance.now()
  const until = started + SECONDS * 1000
  const stats: Stats = { latencies: new Map(), errors: [], done: 0 }
  const agentLoop = async (c: WireClient, chat: string): Promise<void> => {
    while (performance.now() < until) {
      const result = c.event('agent-stream', p => p.chat_session_id === chat && p.event?.Stream?.type === 'result', 30_000)
      result.catch(() => {})
      try {
        const res = await c.request('send_chat_message', { chat_session_id: chat, content: `chatty: 20 ${AGENT_DELTA_MS}` }, 10_000)
        if (res.error) { agentStats.errors.push(res.error.message); await sleep(200); continue }
        await result
        agentStats.turns++
      } catch (err) { agentStats.errors.push((err as Error).message); if (!c.isOpen) return }
    }
  }
  const probed = probe(srv.port, join(home, 'cert.pem'), deviceTokens[0]!, SECONDS - 1)
  const binaryBefore = owners.reduce((n, o) => n + o.binaryBytes, 0)
  const jsonBefore = ptyJsonBytes
  await Promise.all([
    ...clients.map(c => clientLoop(c, mix, until, stats)),
    ...drivers.map((c, i) => agentLoop(c, chats[i]!)),
  ])
  const elapsed = (performance.now() - started) / 1000
  const usage = sampler.stop()
  const machine1 = machineCpu()
  const self1 = process.cpuUsage(self0)
  const probeLatencies = await probed
  lag.disable()
  const ptyBytes = owners.reduce((n, o) => n + o.binaryBytes, 0) - binaryBefore + ptyJsonBytes - jsonBefore
  let alive = 0
  for (const o of owners) alive += (await o.call('list_ptys')).filter((p: { alive?: boolean }) => p.alive !== false).length
  const stillOpen = clients.filter(c => c.isOpen).length

  for (const c of [...clients, ...owners, ...drivers, admin]) c.terminate()
  await srv.kill('SIGTERM')
  server = null
  const loopFile = join(root, 'loop-delay.json')
  const loop = existsSync(loopFile) ? JSON.parse(readFileSync(loopFile, 'utf8')) as { p50: number, p99: number, max: number } : null

  // Baseline: the same client fleet and think time against a bare TLS WebSocket echo server.
  const echo = await echoServer(home)
  const echoClients: WireClient[] = []
  for (let i = 0; i < CLIENTS; i += 20) {
    echoClients.push(...await Promise.all(Array.from({ length: Math.min(20, CLIENTS - i) }, (_, k) => WireClient.connect(echo.port, ca, addr(i + k)))))
  }
  const echoSeconds = Math.max(5, Math.round(SECONDS / 3))
  const echoStats: Stats = { latencies: new Map(), errors: [], done: 0 }
  const echoSampler = new Sampler(echo.pid, 250)
  const echoStart = performance.now()
  await Promise.all(echoClients.map(c => clientLoop(c, [['server_info', 1, () => ({})]], echoStart + echoSeconds * 1000, echoStats)))
  const echoUsage = echoSampler.stop()
  const echoElapsed = (performance.now() - echoStart) / 1000
  for (const c of echoClients) c.terminate()
  await echo.kill()

  const all = [...stats.latencies.values()].flat()
  const info = stats.latencies.get('server_info')
  const p99Info = info ? percentile(info, 99) : NaN
  const p99Probe = probeLatencies.length > 0 ? percentile(probeLatencies, 99) : NaN
  say(`load: ${GIT_RPCS ? '' : '(no git-running RPCs) '}${CLIENTS} clients (${deviceTokens.length} devices, ${ADDRESSES} loopback addresses), ${ptys} terminals, ${AGENTS} agents, ${SECONDS} s, think 0..${2 * THINK_MS} ms`)
  say(`  machine load average:    ${loadavg().map(n => n.toFixed(1)).join(' ')} on ${availableParallelism()} cores (at the end; other processes share the CPUs)`)
  say(`  RPC throughput:          ${Math.round(stats.done / elapsed)} /s  (${stats.done} ok, ${stats.errors.length} errors)`)
  say(`  all RPCs:                ${fmt(all)}`)
  for (const [m] of mix) say(`  ${(m + ':').padEnd(24)} ${fmt(stats.latencies.get(m))}`)
  say(`  server_info probe:       ${fmt(probeLatencies)}  (own process, one request per 50 ms)`)
  say(`  terminal output:         ${mib(ptyBytes / elapsed)} MiB/s received (${ptys} ptys, ${alive} alive at the end)`)
  say(`  agents:                  ${agentStats.turns} turns, ${agentStats.errors.length} errors, ${Math.round(agentEvents / elapsed)} agent-stream events/s per connection`)
  say(`  server RSS:              peak ${mib(usage.peakRss)} MiB, end ${mib(usage.last.rss)} MiB  (target < 300 MiB)`)
  say(`  server CPU:              ${usage.cpuPercent.toFixed(0)} % of one core (${usage.last.fds} fds, ${usage.last.threads} threads at the end)`)
  say(`  server event-loop delay: ${loop ? `p50 ${loop.p50} ms  p99 ${loop.p99} ms  max ${loop.max} ms` : 'not measured'}  (the server's own loop, 5 ms resolution)`)
  say(`  machine CPU busy:        ${((1 - (machine1.idle - machine0.idle) / (machine1.total - machine0.total)) * 100).toFixed(0)} % of ${availableParallelism()} cores; load generator ${((self1.user + self1.system) / 1e4 / elapsed).toFixed(0)} % of one core`)
  say(`  load generator lag:      p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms (client event loop; inflates every latency above)`)
  say(`  connections open at end: ${stillOpen}/${CLIENTS}`)
  say(`baseline: bare ws TLS echo, same ${CLIENTS} clients and think time, ${echoSeconds} s (no terminals, no agents)`)
  say(`  echo throughput:         ${Math.round(echoStats.done / echoElapsed)} /s  (${echoStats.errors.length} errors)`)
  say(`  echo round trip:         ${fmt(echoStats.latencies.get('server_info'))}`)
  say(`  echo server CPU:         ${echoUsage.cpuPercent.toFixed(0)} %, RSS ${mib(echoUsage.peakRss)} MiB`)
  const failed: string[] = []
  if (stats.errors.length > 0) failed.push(`${stats.errors.length} RPC errors, first: ${stats.errors.slice(0, 3).join('; ')}`)
  if (agentStats.errors.length > 0) failed.push(`${agentStats.errors.length} agent errors, first: ${agentStats.errors.slice(0, 3).join('; ')}`)
  if (!(p99Info < 50)) failed.push(`server_info p99 ${p99Info.toFixed(1)} ms >= 50 ms (probe: ${p99Probe.toFixed(1)} ms)`)
  if (usage.peakRss >= 300 * 1024 * 1024) failed.push(`peak RSS ${mib(usage.peakRss)} MiB >= 300 MiB`)
  if (stillOpen < CLIENTS) failed.push(`${CLIENTS - stillOpen} client connections dropped`)
  say(failed.length === 0 ? 'targets: all met (no errors, server_info p99 < 50 ms, RSS < 300 MiB)' : `targets MISSED: ${failed.join(' | ')}`)
  process.exitCode = failed.length === 0 ? 0 : 1
} finally {
  if (server) await server.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
}
