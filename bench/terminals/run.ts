// Terminal benchmark: claudette-server (binary fast path and JSON encoding) against OpenSSH
// and against the local node-pty limit, in ONE run on this machine, over 127.0.0.1 only.
//
//   npm run bench:terminals            (= node --import @tapjs/typescript/import bench/terminals/run.ts)
//
// Env: BENCH_MIB (bulk size, default 64), BENCH_ECHO (keystrokes, default 500), BENCH_RUNS
// (bulk repetitions, median reported, default 3), BENCH_CPU_PROF=<dir> (V8 profile of the server),
// BENCH_SERVER_NODE_ARGS (extra node flags for the server, space-separated, e.g. --perf-basic-prof),
// BENCH_VERBOSE=1 (frame counts, how busy the client and our server were, CPU per key by process),
// BENCH_ECHO_PAUSE_MS (pause between keystrokes, default 2; the idle time before each keystroke
// decides how cold every process on the path is when it wakes, see docs/performance.md).
//
// The app-style client (bench/terminals/app-client, Rust: tokio-tungstenite + serde_json, decoding
// every frame as the Claudette apps do) is built here with cargo (cached in its target/) and runs
// beside the others; where cargo, Debian's crates or the tungstenite sources are missing, one line
// says why it is skipped (bench/terminals/README.md). Env: CLAUDETTE_BENCH_TUNGSTENITE_SRC (the
// sources, default ~/.cache/claudette-bench/tungstenite-0.18), BENCH_APP_CLIENT=0 (leave it out).
//
// A/B in one run: BENCH_BASELINE=<checkout of another head, with its dist/ built> starts a second
// server from that build (terminals options from BENCH_BASELINE_TERMINALS) and measures its JSON
// path with both clients beside the rest, rounds interleaved ("baseline …" rows).
//
// OpenSSH: a private sshd started here on a spare loopback port, with throwaway host and client
// keys in a temp dir; it is killed at the end. The system sshd is never used or touched. If sshd
// is missing, `apt-get install -y openssh-server openssh-client` is run (Debian/Ubuntu, as root).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as netServer, connect } from 'node:net'
import { cpus, homedir, loadavg, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import * as pty from '@lydell/node-pty'
import WebSocket from 'ws'

const MiB = 1024 * 1024
const SIZE = Number(process.env.BENCH_MIB ?? 64) * MiB
const ECHO_N = Number(process.env.BENCH_ECHO ?? 500)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const ECHO_PAUSE_MS = Number(process.env.BENCH_ECHO_PAUSE_MS ?? 2)
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
/** Like sleep, but does not keep the process alive (for deadlines). */
const deadline = (ms: number): Promise<void> => new Promise(resolve => { setTimeout(resolve, ms).unref() })

/** A byte stream to a remote (or local) terminal, whatever carries it. */
interface Term {
  write (data: Buffer): void
  /** Called for each received chunk with its length and, for echo checks, the bytes. */
  onData: ((chunk: Uint8Array) => void) | null
  readonly exited: Promise<void>
  close (): void
}

interface Contender {
  name: string
  /** A client in its own process that measures itself; `bulk` and `echo` are then not used. */
  selfMeasured?: {
    bulk (file: string): Promise<{ mbs: number, cpuPerMiB: number }>
    echo (n: number): Promise<{ samples: number[], cpuPerKey: number }>
  }
  /** Processes whose CPU (own + reaped children) counts for this path, besides this one. */
  cpuPids: number[]
  /** The process that relays between the terminal and the network, when it is one we know (our server). */
  relayPid?: number
  /** A terminal whose output is `cat` of the file, started so the first byte is file content. */
  bulk (file: string): Promise<Term>
  /** A terminal running `stty raw -echo; cat` (each keystroke comes straight back). */
  echo (): Promise<Term>
}

// ------------------------------------------------------------------ measurement

/** CPU ticks (1/100 s) of a process from /proc: its own, plus its reaped children's with `reaped`. */
function statTicks (pid: number | string, reaped: boolean): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields after "(comm)": state(0) … utime(11) stime(12) cutime(13) cstime(14)
  return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)
}

/**
 * CPU seconds used so far by this process, the children it reaped, and each given process with
 * the children it reaped (sshd's listener reaps the per-connection sshd, which reaps the shell
 * and cat; our server reaps the pty's shell and cat). Load-independent, unlike wall time.
 */
function cpuSeconds (pids: number[]): number {
  let t = statTicks('self', true)
  for (const pid of pids) t += statTicks(pid, true)
  return t / 100 // USER_HZ
}

/** CPU seconds used so far by this process and every live process below it (threads included). */
function treeCpuSeconds (): number {
  let ticks = 0
  const walk = (pid: number | 'self'): void => {
    try {
      ticks += statTicks(pid, false)
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ')) if (child) walk(Number(child))
      }
    } catch { /* exited meanwhile */ }
  }
  walk('self')
  return ticks / 100 // USER_HZ
}

async function measureBulk (c: Contender, file: string): Promise<{ mbs: number, cpuPerMiB: number }> {
  const cpu0 = cpuSeconds(c.cpuPids)
  const self0 = process.cpuUsage()
  // The relay's main thread (its event loop), without its shells: how busy it is during the transfer.
  const own = (): number => c.relayPid === undefined ? 0 : statTicks(`${c.relayPid}/task/${c.relayPid}`, false) / 100
  const own0 = own()
  const term = await c.bulk(file)
  let bytes = 0
  let first = 0
  let last = 0
  term.onData = chunk => {
    const now = performance.now()
    if (bytes === 0) first = now
    bytes += chunk.length
    last = now
  }
  let chunks = 0
  const count = term.onData
  term.onData = chunk => { chunks++; count!(chunk) }
  // Bounded: a terminal that never reports its exit fails the run instead of hanging it.
  const exitTimeout = Symbol('timeout')
  if (await Promise.race([term.exited, deadline(120_000).then(() => exitTimeout)]) === exitTimeout) {
    throw new Error(`${c.name}: no exit 120 s into the bulk run (${bytes} bytes so far)`)
  }
  term.close()
  if (process.env.BENCH_VERBOSE) {
    const self = process.cpuUsage(self0)
    const wall = (last - first) / 1000
    if (c.relayPid !== undefined) console.log(`#   ${c.name}: relay's main thread busy ${((own() - own0) * 100 / wall).toFixed(0)} % of the transfer time`)
    console.log(`#   ${c.name}: ${chunks} chunks, ${(bytes / chunks / 1024).toFixed(1)} KiB average; this process (the client) busy ${((self.user + self.system) / 1e4 / wall).toFixed(0)} % of the transfer time`)
  }
  if (bytes < SIZE * 0.99) throw new Error(`${c.name}: got ${bytes} bytes, expected at least ${SIZE}`)
  await sleep(500) // let the parents reap their children so their CPU is counted
  const cpuPerMiB = (cpuSeconds(c.cpuPids) - cpu0) * 1000 / (bytes / MiB)
  return { mbs: bytes / MiB / ((last - first) / 1000), cpuPerMiB }
}

async function measureEcho (c: Contender, n: number): Promise<{ samples: number[], cpuPerKey: number }> {
  const term = await c.echo()
  let waiting: (() => void) | null = null
  term.onData = chunk => { if (waiting && chunk.includes(0x78)) { const w = waiting; waiting = null; w() } }
  // Wait until `stty raw -echo` is in effect: a probe comes back exactly once.
  for (let i = 0; i < 3; i++) {
    const got = new Promise<void>(resolve => { waiting = resolve })
    term.write(Buffer.from('x'))
    await Promise.race([got, sleep(2000)])
  }
  await sleep(200)
  const samples: number[] = []
  // CPU of every process on the path (all of them live below this one) during the keystrokes only,
  // so connection set-up (an SSH key exchange, a TLS handshake) is not counted.
  const cpu0 = treeCpuSeconds()
  const self0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const got = new Promise<void>(resolve => { waiting = resolve })
    const t0 = performance.now()
    term.write(Buffer.from('x'))
    if (await Promise.race([got.then(() => true), deadline(10_000).then(() => false)]) === false) {
      throw new Error(`${c.name}: keystroke ${i + 1} of ${n} not echoed within 10 s`)
    }
    samples.push(performance.now() - t0)
    await sleep(ECHO_PAUSE_MS) // a fast typist, not a flood
  }
  const cpuPerKey = (treeCpuSeconds() - cpu0) * 1e6 / n
  if (process.env.BENCH_VERBOSE) {
    const self = process.cpuUsage(self0)
    console.log(`#   ${c.name} echo: ${cpuPerKey.toFixed(0)} µs CPU per key, of which this process (the client) ${((self.user + self.system) / n).toFixed(0)} µs (user ${(self.user / n).toFixed(0)})`)
  }
  term.close()
  return { samples, cpuPerKey }
}

const quantile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

// ------------------------------------------------------------------ local node-pty

const localPty: Contender = {
  name: 'local node-pty',
  cpuPids: [],
  async bulk (file) { return ptyTerm(['-c', `exec cat ${file}`]) },
  async echo () { return ptyTerm(['-c', 'stty raw -echo; exec cat']) },
}

function ptyTerm (args: string[]): Term {
  const p = pty.spawn('/bin/sh', args, { encoding: null, cols: 80, rows: 24, name: 'xterm-256color' } as never)
  const term: Term = {
    onData: null,
    write: d => p.write(d as never),
    exited: new Promise(resolve => p.onExit(() => resolve())),
    close: () => { try { p.kill('SIGKILL') } catch { /* gone */ } },
  }
  p.onData(d => term.onData?.(d as unknown as Buffer))
  return term
}

// ------------------------------------------------------------------ OpenSSH

async function freePort (): Promise<number> {
  const s = netServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  s.close()
  return port
}

async function waitForPort (port: number, ms: number): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const sock = connect(port, '127.0.0.1', () => { sock.destroy(); resolve(true) })
      sock.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port}`)
    await sleep(50)
  }
}

function ensureOpenSsh (): void {
  if (existsSync('/usr/sbin/sshd') && existsSync('/usr/bin/ssh')) return
  console.error('# sshd/ssh missing: apt-get install -y openssh-server openssh-client')
  execFileSync('apt-get', ['install', '-y', 'openssh-server', 'openssh-client'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

async function startSshd (dir: string): Promise<{ proc: ChildProcess, port: number, sshArgs: string[] }> {
  ensureOpenSsh()
  // sshd refuses to start without its privilege-separation directory.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 })
  const hostKey = join(dir, 'host_ed25519')
  const clientKey = join(dir, 'client_ed25519')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey])
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 })
  const port = await freePort()
  const user = userInfo().username
  const conf = join(dir, 'sshd_config')
  writeFileSync(conf, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PubkeyAuthentication yes', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'PermitRootLogin prohibit-password',
    `AllowUsers ${user}`, 'PrintMotd no', 'PrintLastLog no', 'LogLevel ERROR', '',
  ].join('\n'))
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', conf], { stdio: ['ignore', 'inherit', 'inherit'] })
  await waitForPort(port, 5000)
  const sshArgs = [
    '-F', '/dev/null', '-p', String(port), '-i', clientKey, '-e', 'none', '-tt',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
    `${user}@127.0.0.1`,
  ]
  return { proc, port, sshArgs }
}

function sshContender (sshArgs: string[], sshdPid: number): Contender {
  const run = (cmd: string): Term => {
    const p = spawn('ssh', [...sshArgs, cmd], { stdio: ['pipe', 'pipe', 'inherit'] })
    const term: Term = {
      onData: null,
      write: d => p.stdin!.write(d),
      exited: new Promise(resolve => p.on('close', () => resolve())),
      close: () => { p.stdin!.end(); if (p.exitCode === null) p.kill('SIGTERM') },
    }
    p.stdout!.on('data', (d: Buffer) => term.onData?.(d))
    return term
  }
  return {
    name: 'OpenSSH',
    cpuPids: [sshdPid],
    async bulk (file) { return run(`exec cat ${file}`) },
    async echo () { return run('stty raw -echo; exec cat') },
  }
}

// ------------------------------------------------------------------ claudette-server

class WireClient {
  readonly #ws: WebSocket
  readonly #pending = new Map<number, (msg: any) => void>()
  #nextId = 1
  onOutput: ((ptyId: number, chunk: Uint8Array) => void) | null = null
  onExit: ((ptyId: number) => void) | null = null

  constructor (ws: WebSocket) {
    this.#ws = ws
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        if (data[0] === 0x01) this.onOutput?.(data.readUInt32BE(1), data.subarray(5))
        return
      }
      // What a Claudette app does with every frame: JSON.parse, then the byte array.
      const msg = JSON.parse(data.toString('utf8'))
      if (msg.event === 'pty-output') this.onOutput?.(msg.payload.pty_id, Uint8Array.from(msg.payload.data))
      else if (msg.event === 'pty-exit') this.onExit?.(msg.payload.pty_id)
      else if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg)
    })
  }

  static async connect (port: number, ca: Buffer, token: string): Promise<WireClient> {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca, perMessageDeflate: false })
    await once(ws, 'open')
    const c = new WireClient(ws)
    await c.call('authenticate', { pairing_token: token, client_name: 'bench' })
    return c
  }

  call (method: string, params: unknown): Promise<any> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, msg => { this.#pending.delete(id); if (msg.error) reject(new Error(`${method}: ${msg.error.message}`)); else resolve(msg.result) })
      this.#ws.send(JSON.stringify({ id, method, params }))
    })
  }

  input (ptyId: number, data: Buffer): void {
    const frame = Buffer.allocUnsafe(5 + data.length)
    frame[0] = 0x02
    frame.writeUInt32BE(ptyId, 1)
    data.copy(frame, 5)
    this.#ws.send(frame)
  }

  close (): void { this.#ws.close() }
}

function oursContender (encoding: 'binary' | 'json', port: number, ca: Buffer, token: string, repo: string, serverPid: number): Contender {
  // A shell in the repository; `setup` runs with echo off, then `cmd` replaces the shell.
  const open = async (cmd: string): Promise<Term> => {
    const c = await WireClient.connect(port, ca, token)
    await c.call('set_pty_encoding', { encoding })
    let ready = false
    let exited!: () => void
    const term: Term = {
      onData: null,
      // JSON clients write with write_pty, binary clients with input frames.
      write: d => { if (encoding === 'binary') c.input(id, d); else void c.call('write_pty', { pty_id: id, data: [...d] }) },
      exited: new Promise<void>(resolve => { exited = resolve }),
      close: () => { void c.call('close_pty', { pty_id: id }).finally(() => c.close()) },
    }
    c.onOutput = (_id, chunk) => { if (ready) term.onData?.(chunk) }
    c.onExit = () => exited()
    const { pty_id: id } = await c.call('spawn_pty', { cwd: repo, rows: 24, cols: 80 })
    c.input(id, Buffer.from('stty -echo\n'))
    await sleep(300) // prompt and echo of the setup line go by
    ready = true
    c.input(id, Buffer.from(`${cmd}\n`))
    return term
  }
  return {
    name: `claudette ${encoding}`,
    cpuPids: [serverPid],
    relayPid: serverPid,
    bulk: file => open(`exec cat ${file}`),
    echo: () => open('stty raw -echo; exec cat'),
  }
}

async function startOurServer (dir: string, baseline?: string): Promise<{ proc: ChildProcess, port: number, token: string, fingerprint: string, ca: Buffer }> {
  const home = join(dir, baseline === undefined ? 'home' : 'baseline-home')
  const prof = process.env.BENCH_CPU_PROF
  const proc = spawn(process.execPath, [
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    join(import.meta.dirname, 'server.mjs'), home, ...(baseline === undefined ? [] : [join(baseline, 'dist')]),
  ], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: baseline === undefined ? process.env : { ...process.env, BENCH_TERMINALS: process.env.BENCH_BASELINE_TERMINALS ?? '{}' },
  })
  // A server that fails to start must end the run, not leave it waiting for its first line.
  const exited = once(proc, 'exit').then(([code, signal]) => { throw new Error(`bench server exited before it was ready (code ${String(code)}, signal ${String(signal)})`) })
  const [line] = await Promise.race([once(proc.stdout!, 'data'), exited]) as [Buffer]
  exited.catch(() => {})
  const info = JSON.parse(line.toString())
  return { proc, port: info.port, token: info.token, fingerprint: info.fingerprint, ca: readFileSync(join(home, 'cert.pem')) }
}

// ------------------------------------------------------------------ the app-style client (Rust)

const APP_CLIENT_DIR = join(import.meta.dirname, 'app-client')
/** Debian's packaged crates the app-style client builds from (bookworm: rustls 0.20, tokio 1.24). */
export const APP_CLIENT_APT = 'librust-tokio-dev librust-tokio-rustls-dev librust-tokio-rustls+dangerous-configuration-dev librust-rustls-dev librust-serde-json-dev librust-sha2-dev librust-sha1-dev librust-http-dev librust-httparse-dev librust-base64-dev librust-rand-dev librust-bytes-dev librust-byteorder-dev librust-thiserror-dev librust-utf-8-dev librust-url-dev librust-futures-util-dev librust-log-dev'

/** Builds the app-style client (cargo caches it); its path, or one line saying why it is skipped. */
function buildAppClient (): { bin: string } | { skip: string } {
  if (process.env.BENCH_APP_CLIENT === '0') return { skip: 'BENCH_APP_CLIENT=0' }
  try { execFileSync('cargo', ['--version'], { stdio: 'ignore' }) } catch {
    return { skip: 'cargo not found (apt-get install cargo, or rustup); see bench/terminals/README.md' }
  }
  if (!existsSync('/usr/share/cargo/registry')) return { skip: `Debian's Rust crates missing: apt-get install ${APP_CLIENT_APT}` }
  const src = process.env.CLAUDETTE_BENCH_TUNGSTENITE_SRC ?? join(homedir(), '.cache', 'claudette-bench', 'tungstenite-0.18')
  const tungstenite = join(src, 'tungstenite-rs')
  const tokioTungstenite = join(src, 'tokio-tungstenite')
  if (!existsSync(join(tungstenite, 'Cargo.toml')) || !existsSync(join(tokioTungstenite, 'Cargo.toml'))) {
    return { skip: `tungstenite sources missing: v0.18.0 of snapview/tungstenite-rs and snapview/tokio-tungstenite into ${src}/{tungstenite-rs,tokio-tungstenite} (CLAUDETTE_BENCH_TUNGSTENITE_SRC); see bench/terminals/README.md` }
  }
  try {
    execFileSync('nice', ['-n', '10', 'cargo', 'build', '--release', '--offline', '--quiet',
      '--config', `patch.crates-io.tungstenite.path=${JSON.stringify(tungstenite)}`,
      '--config', `patch.crates-io.tokio-tungstenite.path=${JSON.stringify(tokioTungstenite)}`,
    ], { cwd: APP_CLIENT_DIR, stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? err)
    const why = stderr.split('\n').find(l => /error/.test(l)) ?? stderr.split('\n')[0]
    return { skip: `app-style client did not build (${why?.trim()}); crates: apt-get install ${APP_CLIENT_APT}` }
  }
  return { bin: join(APP_CLIENT_DIR, 'target', 'release', 'claudette-bench-app-client') }
}

/** The Rust client in its own process, decoding as the apps do; it measures itself. */
function appContender (bin: string, encoding: 'binary' | 'json', port: number, fingerprint: string, token: string, repo: string, serverPid: number, name = `app-style ${encoding}`): Contender {
  const args = ['--port', String(port), '--fingerprint', fingerprint, '--token', token, '--cwd', repo, '--encoding', encoding]
  const unused = (): never => { throw new Error(`${name} measures itself`) }
  return {
    name,
    cpuPids: [serverPid],
    relayPid: serverPid,
    bulk: async () => unused(),
    echo: async () => unused(),
    selfMeasured: {
      async bulk (file) {
        const cpu0 = cpuSeconds([serverPid])
        const relay = (): number => statTicks(`${serverPid}/task/${serverPid}`, false) / 100
        const relay0 = relay()
        const p = spawn(bin, [...args, 'bulk', '--cmd', `exec cat ${file}`], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        p.stdout!.on('data', (d: Buffer) => { out += d.toString() })
        const timer = setTimeout(() => p.kill('SIGKILL'), 120_000)
        const [code] = await once(p, 'close') as [number | null]
        clearTimeout(timer)
        if (code !== 0) throw new Error(`${name}: bulk client exited with ${String(code)}`)
        const r = JSON.parse(out) as { bytes: number, seconds: number, frames: number, cpu_s: number }
        if (process.env.BENCH_VERBOSE) {
          const mib = r.bytes / MiB
          console.log(`#   ${name}: ${r.frames} frames, ${(r.bytes / r.frames / 1024).toFixed(1)} KiB of output each on average; CPU per MiB: the client ${(r.cpu_s * 1000 / mib).toFixed(1)} ms, the relay's main thread ${((relay() - relay0) * 1000 / mib).toFixed(1)} ms (busy ${((relay() - relay0) * 100 / r.seconds).toFixed(0)} % of the transfer time)`)
        }
        if (r.bytes < SIZE * 0.99) throw new Error(`${name}: got ${r.bytes} bytes, expected at least ${SIZE}`)
        await sleep(500) // as measureBulk: let the server reap the pty's processes
        // The client was reaped by this process, so its CPU is in this process's share.
        return { mbs: r.bytes / MiB / r.seconds, cpuPerMiB: (cpuSeconds([serverPid]) - cpu0) * 1000 / (r.bytes / MiB) }
      },
      async echo (n) {
        const p = spawn(bin, [...args, 'echo', '--keys', String(n), '--pause-ms', String(ECHO_PAUSE_MS)], { stdio: ['pipe', 'pipe', 'inherit'] })
        const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]()
        const next = async (): Promise<string> => {
          const r = await lines.next()
          if (r.done) throw new Error(`${name}: echo client ended early (exit ${String(p.exitCode)})`)
          return r.value as string
        }
        try {
          if (await next() !== 'ready') throw new Error(`${name}: echo client not ready`)
          // As measureEcho: the CPU of every process on the path during the keystrokes only.
          const cpu0 = treeCpuSeconds()
          p.stdin!.write('\n')
          const { samples_ms: samples } = JSON.parse(await next()) as { samples_ms: number[] }
          return { samples, cpuPerKey: (treeCpuSeconds() - cpu0) * 1e6 / n }
        } finally {
          p.stdin!.end()
          if (p.exitCode === null) await once(p, 'close')
        }
      },
    },
  }
}

// ------------------------------------------------------------------ main

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@example.com' }

async function main (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'claudette-bench-terminals-'))
  const cleanups: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })]
  try {
    // 64 MiB of 80-column text lines.
    const file = join(dir, 'bulk.txt')
    const line = 'claudette terminal benchmark 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJK\n'
    writeFileSync(file, line.repeat(Math.ceil(SIZE / line.length)).slice(0, SIZE))
    const repo = join(dir, 'repo')
    mkdirSync(repo)
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env: GIT_ENV })
    execFileSync('git', ['commit', '-q', '--allow-empty', '-m', 'init'], { cwd: repo, env: GIT_ENV })

    const sshd = await startSshd(dir)
    cleanups.push(() => { sshd.proc.kill('SIGTERM') })
    const ours = await startOurServer(dir)
    cleanups.push(() => { ours.proc.stdin!.end() })
    const admin = await WireClient.connect(ours.port, ours.ca, ours.token)
    await admin.call('add_repository', { path: repo })
    admin.close()
    const baselineDir = process.env.BENCH_BASELINE
    const base = baselineDir === undefined ? undefined : await startOurServer(dir, baselineDir)
    if (base) {
      cleanups.push(() => { base.proc.stdin!.end() })
      const a = await WireClient.connect(base.port, base.ca, base.token)
      await a.call('add_repository', { path: repo })
      a.close()
    }

    // e.g. "json" (profile one contender alone) or "local,OpenSSH,binary" (comma-separated parts)
    const only = process.env.BENCH_ONLY?.split(',').filter(Boolean)
    const wanted = (name: string): boolean => !only || only.some(part => name.includes(part))
    const app = wanted('app-style json') || wanted('app-style binary') ? buildAppClient() : { skip: 'not in BENCH_ONLY' }
    const contenders = [
      localPty,
      sshContender(sshd.sshArgs, sshd.proc.pid!),
      oursContender('binary', ours.port, ours.ca, ours.token, repo, ours.proc.pid!),
      oursContender('json', ours.port, ours.ca, ours.token, repo, ours.proc.pid!),
      ...'bin' in app
        ? (['binary', 'json'] as const).map(e => appContender(app.bin, e, ours.port, ours.fingerprint, ours.token, repo, ours.proc.pid!))
        : [],
      ...base
        ? [
            { ...oursContender('json', base.port, base.ca, base.token, repo, base.proc.pid!), name: 'baseline claudette json' },
            ...'bin' in app ? [appContender(app.bin, 'json', base.port, base.fingerprint, base.token, repo, base.proc.pid!, 'baseline app-style json')] : [],
          ]
        : [],
    ].filter(c => wanted(c.name))
    if ('skip' in app) console.log(`# app-style client skipped: ${app.skip}`)
    console.log(`# terminals benchmark: ${SIZE / MiB} MiB cat (median of ${RUNS}), ${ECHO_N} keystrokes ${ECHO_PAUSE_MS} ms apart; node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg().map(l => l.toFixed(1)).join(' ')}`)
    // Rounds interleave the contenders, so a busy neighbour on this shared machine slows all
    // of them alike instead of whichever happened to run at that moment.
    const bulk = new Map<string, number[]>(contenders.map(c => [c.name, []]))
    const cpu = new Map<string, number[]>(contenders.map(c => [c.name, []]))
    const echo = new Map<string, number[]>(contenders.map(c => [c.name, []]))
    const echoCpu = new Map<string, number[]>(contenders.map(c => [c.name, []]))
    for (let round = 0; round < RUNS; round++) {
      for (const c of contenders) {
        const r = c.selfMeasured ? await c.selfMeasured.bulk(file) : await measureBulk(c, file)
        bulk.get(c.name)!.push(r.mbs)
        cpu.get(c.name)!.push(r.cpuPerMiB)
      }
      for (const c of contenders) {
        const keys = Math.ceil(ECHO_N / RUNS)
        const r = c.selfMeasured ? await c.selfMeasured.echo(keys) : await measureEcho(c, keys)
        echo.get(c.name)!.push(...r.samples)
        echoCpu.get(c.name)!.push(r.cpuPerKey)
      }
    }
    const results = new Map<string, { mbs: number, cpu: number, p50: number, p99: number, mean: number, keyCpu: number }>()
    for (const c of contenders) {
      const runs = bulk.get(c.name)!.sort((a, b) => a - b)
      const samples = echo.get(c.name)!.sort((a, b) => a - b)
      const r = {
        mbs: quantile(runs, 0.5),
        cpu: quantile(cpu.get(c.name)!.sort((a, b) => a - b), 0.5),
        p50: quantile(samples, 0.5),
        p99: quantile(samples, 0.99),
        mean: samples.reduce((a, b) => a + b, 0) / samples.length,
        keyCpu: quantile(echoCpu.get(c.name)!.sort((a, b) => a - b), 0.5),
      }
      results.set(c.name, r)
      console.log(`${c.name.padEnd(18)} ${r.mbs.toFixed(1).padStart(7)} MB/s  CPU ${r.cpu.toFixed(1)} ms/MiB  (runs ${bulk.get(c.name)!.map(x => x.toFixed(0)).join('/')})  echo p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  mean ${r.mean.toFixed(3)} ms  CPU ${r.keyCpu.toFixed(0)} µs/key`)
    }
    for (const client of ['claudette json', 'app-style json']) {
      const now = results.get(client)
      const then = results.get(`baseline ${client}`)
      if (now && then) console.log(`# ${client} / baseline: throughput ${(now.mbs / then.mbs).toFixed(2)}×, echo p50 ${(now.p50 / then.p50).toFixed(2)}×`)
    }
    if (only) return
    const ssh = results.get('OpenSSH')!
    const local = results.get('local node-pty')!
    const bin = results.get('claudette binary')!
    const json = results.get('claudette json')!
    const checks: Array<[string, number, string, number]> = [
      ['binary throughput / OpenSSH', bin.mbs / ssh.mbs, '>=', 1.0],
      ['binary throughput / local pty', bin.mbs / local.mbs, '>=', 0.8],
      ['binary echo p50 / OpenSSH', bin.p50 / ssh.p50, '<=', 1.1],
      ['json throughput / OpenSSH', json.mbs / ssh.mbs, '>=', 0.5],
      ['json echo p50 / OpenSSH', json.p50 / ssh.p50, '<=', 1.25],
    ]
    const appJson = results.get('app-style json')
    const appBin = results.get('app-style binary')
    if (appJson && appBin) {
      checks.push(
        ['app-style json throughput / OpenSSH', appJson.mbs / ssh.mbs, '>=', 0.5],
        ['app-style json throughput / app-style binary', appJson.mbs / appBin.mbs, '', 0],
        ['app-style binary throughput / OpenSSH', appBin.mbs / ssh.mbs, '>=', 1.0],
        ['app-style json echo p50 / OpenSSH', appJson.p50 / ssh.p50, '<=', 1.25],
        ['app-style binary echo p50 / OpenSSH', appBin.p50 / ssh.p50, '<=', 1.1],
      )
    }
    // Load-independent view: throughput if CPU were the only limit (MiB per CPU second).
    console.log(`\nCPU per MiB, all processes of the path: ${[...results].map(([n, r]) => `${n} ${r.cpu.toFixed(1)} ms`).join(', ')}`)
    console.log(`CPU-efficiency ratios: binary/OpenSSH ${(ssh.cpu / bin.cpu).toFixed(2)}, binary/local ${(local.cpu / bin.cpu).toFixed(2)}, json/OpenSSH ${(ssh.cpu / json.cpu).toFixed(2)}`)
    console.log('\n| ratio | value | target | |\n|---|---|---|---|')
    for (const [name, v, op, target] of checks) {
      // op '' is a ratio shown for information, with no target.
      if (op === '') { console.log(`| ${name} | ${v.toFixed(2)} | — | |`); continue }
      const ok = op === '>=' ? v >= target : v <= target
      console.log(`| ${name} | ${v.toFixed(2)} | ${op} ${target} | ${ok ? 'met' : 'MISSED'} |`)
    }
    console.log(`# load average at the end: ${loadavg().map(l => l.toFixed(1)).join(' ')}`)
  } finally {
    for (const c of cleanups.reverse()) { try { c() } catch { /* best effort */ } }
  }
}

await main()
