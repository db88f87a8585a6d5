// Unauthenticated sockets cannot be held: one wall-clock deadline (authTimeoutMs) runs from TCP
// accept to a successful `authenticate`, whatever the peer sends. Trickled requests are closed at
// the deadline and counted against the address; plain HTTP requests are answered with
// `Connection: close`; sockets that sent nothing are closed at the deadline but not counted.
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import t from 'tap'
import type { ClaudetteServer } from '../../src/index.js'
import { connectFrom, pairDevice, runCli, startSecureServer } from './security-support.js'
import { recordSecret, tempHome, type TestContext } from '../helpers/server.js'
import { within } from '../helpers/wait.js'

const DEADLINE_MS = 2500
/** How early a close may be seen (timer granularity) and how late (the ±1 s of the contract). */
const EARLY_MS = 150
const LATE_MS = 1000

interface RawSocket { sock: tls.TLSSocket, received: string, lifetime: Promise<number> }

/** A raw TLS socket from `localAddress`; `lifetime` resolves with the ms from TCP connect to close. */
async function rawTls (t: TestContext, server: ClaudetteServer, localAddress: string): Promise<RawSocket> {
  const tcp = net.connect({ host: '127.0.0.1', port: server.port, localAddress })
  tcp.on('error', () => {})
  await once(tcp, 'connect')
  const connectedAt = Date.now()
  const sock = tls.connect({ socket: tcp, rejectUnauthorized: false })
  t.teardown(() => { sock.destroy() })
  sock.on('error', () => {})
  const raw: RawSocket = { sock, received: '', lifetime: Promise.resolve(0) }
  sock.on('data', (d: Buffer) => { raw.received += d.toString() })
  raw.lifetime = once(sock, 'close').then(() => Date.now() - connectedAt)
  await once(sock, 'secureConnect')
  return raw
}

/** The socket's lifetime, or -1 if it is still open well past the deadline (the test must not hang). */
const lifetimeBounded = (raw: RawSocket): Promise<number> =>
  within(raw.lifetime, DEADLINE_MS + 5000, -1)

/** Writes `text` one byte every `everyMs` until the socket closes (or the text runs out). */
function trickle (raw: RawSocket, text: string, everyMs: number): void {
  let i = 0
  const timer = setInterval(() => {
    if (raw.sock.destroyed || i >= text.length) { clearInterval(timer); return }
    raw.sock.write(text[i++]!)
  }, everyMs)
  raw.sock.once('close', () => clearInterval(timer))
}

const UPGRADE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Padding: ' + 'x'.repeat(200) + '\r\n\r\n'

function closedAtDeadline (t: TestContext, ms: number, what: string): void {
  t.ok(ms >= DEADLINE_MS - EARLY_MS && ms <= DEADLINE_MS + LATE_MS, `${what}: closed ${ms} ms after connecting (deadline ${DEADLINE_MS} ms)`)
}

t.test('trickled upgrade headers are closed at the deadline and lock the address out', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: DEADLINE_MS, auth: { maxFailuresPerIp: 3, lockoutMs: 60_000 } })
  const socks = await Promise.all([1, 2, 3].map(() => rawTls(t, server, '127.0.0.21')))
  for (const s of socks) trickle(s, UPGRADE, 200)
  const lifetimes = await Promise.all(socks.map(lifetimeBounded))
  lifetimes.forEach((ms, i) => closedAtDeadline(t, ms, `trickle ${i + 1}`))
  // Three expiries are three failures: the address is now locked out, others are not.
  const next = await connectFrom(t, server, '127.0.0.21')
  t.same(await next.closed, { code: 1013, reason: 'too many failed attempts; try again later' }, 'the trickling address is locked out')
  const other = await connectFrom(t, server, '127.0.0.22')
  t.equal(other.ws.readyState, other.ws.OPEN, 'another address is not')
  logs.check(t)
})

t.test('a kept-alive HTTP socket is answered with Connection: close and closed, not held', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: DEADLINE_MS })
  const s = await rawTls(t, server, '127.0.0.23')
  const request = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n'
  s.sock.write(request)
  // Asks again every 300 ms, as a client keeping the socket alive would.
  const again = setInterval(() => { if (!s.sock.destroyed) s.sock.write(request) }, 300)
  const ms = await lifetimeBounded(s)
  clearInterval(again)
  t.match(s.received, /^HTTP\/1\.1 200 /, 'the request is answered')
  t.match(s.received, /\r\nconnection: close\r\n/i, 'with Connection: close')
  t.ok(ms >= 0 && ms <= DEADLINE_MS + LATE_MS, `the server closed the socket ${ms} ms after connecting`)
  logs.check(t)
})

t.test('an upgraded WebSocket that never authenticates is closed at the deadline (from TCP accept)', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: DEADLINE_MS })
  const started = Date.now()
  const c = await connectFrom(t, server, '127.0.0.24')
  t.same(await c.closed, { code: 1008, reason: 'authentication timeout' })
  const ms = Date.now() - started
  t.ok(ms >= DEADLINE_MS - EARLY_MS && ms <= DEADLINE_MS + LATE_MS, `closed ${ms} ms after connecting`)
  logs.check(t)
})

t.test('sockets that send nothing are closed at the deadline and not counted', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: DEADLINE_MS, auth: { maxFailuresPerIp: 3, lockoutMs: 60_000 } })
  // More idle sockets than the failure budget, as a browser's pre-connects could be.
  const socks = await Promise.all([1, 2, 3, 4, 5].map(() => rawTls(t, server, '127.0.0.25')))
  const lifetimes = await Promise.all(socks.map(lifetimeBounded))
  lifetimes.forEach((ms, i) => closedAtDeadline(t, ms, `idle ${i + 1}`))
  t.same(socks.map(s => s.received), ['', '', '', '', ''], 'nothing was sent to them either')
  const device = await pairDevice(t, server, logs, 'browser user', '127.0.0.25')
  t.ok((await device.call('server_info')).name, 'the same address still pairs: idle sockets were not counted')
  logs.check(t)
})

t.test('with --max-connections 16, 18 held sockets keep a real client out only until the deadline', async t => {
  const { server, logs } = await startSecureServer(t, { authTimeoutMs: DEADLINE_MS, maxConnections: 16 })
  const started = Date.now()
  const held = await Promise.all(Array.from({ length: 18 }, () => connectFrom(t, server, '127.0.0.26')))
  const spread = Date.now() - started // the last one connected this much later than the first
  t.ok(held.filter(c => c.ws.readyState === c.ws.OPEN).length >= 16, 'the slow sockets fill the server')
  const early = await connectFrom(t, server, '127.0.0.27')
  t.same(await early.closed, { code: 1013, reason: 'too many connections' }, 'a real client is refused while they are held')
  await Promise.all(held.map(c => c.closed))
  const ms = Date.now() - started
  t.ok(ms <= DEADLINE_MS + LATE_MS + spread, `every held socket was closed ${ms} ms after the first connected (connecting took ${spread} ms)`)
  const device = await pairDevice(t, server, logs, 'real client', '127.0.0.27')
  t.ok((await device.call('server_info')).name, 'the real client gets in once the deadline has passed')
  logs.check(t)
})

t.test('the deadline comes from server.toml [server] auth_timeout unless the option is given; bad values are clear errors', async t => {
  const home = tempHome(t)
  const token = 'A'.repeat(43)
  recordSecret(token)
  const toml = (timeout: string): string => `[server]\nname = "deadline"\nport = 0\nbind = "127.0.0.1"\nauth_timeout = ${timeout}\n\n[auth]\npairing_token = "${token}"\n`
  await writeFile(join(home, 'server.toml'), toml('1.5'), { mode: 0o600 })
  const { server, logs } = await startSecureServer(t, { home })
  const started = Date.now()
  const idle = await connectFrom(t, server)
  t.same(await idle.closed, { code: 1008, reason: 'authentication timeout' })
  const ms = Date.now() - started
  t.ok(ms >= 1500 - EARLY_MS && ms <= 1500 + LATE_MS, `server.toml's 1.5 s applies: closed after ${ms} ms`)
  await server.close()

  const { server: explicit } = await startSecureServer(t, { home, authTimeoutMs: 3000 })
  const started2 = Date.now()
  const idle2 = await connectFrom(t, explicit)
  await idle2.closed
  t.ok(Date.now() - started2 >= 3000 - EARLY_MS, 'the createServer option wins over server.toml')
  logs.check(t)

  await writeFile(join(home, 'server.toml'), toml('0'), { mode: 0o600 })
  const bad = await runCli(['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', 'run'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /\[server\] auth_timeout must be a number of seconds from 1 to 3600/)
  for (const v of ['0', '500ms', '2h', 'soon']) {
    const r = await runCli(['--home', home, '--auth-timeout', v, 'run'])
    t.equal(r.code, 2, `--auth-timeout ${v} is a usage error`)
    t.match(r.stderr, /option '--auth-timeout <duration>' argument '.*' is invalid\. must be a duration/)
  }
})
