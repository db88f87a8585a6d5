// Caps on concurrent connections, global and per address, refuse with a reason (1013) and
// free their slot when a connection closes; raw sockets that never upgrade are capped too.
import { once } from 'node:events'
import net from 'node:net'
import t from 'tap'
import { tempHome } from '../helpers/server.js'
import { connectFrom, processTarget, runCli, spawnServer, startSecureServer } from './security-support.js'
import { waitFor } from '../helpers/wait.js'

t.test('per-address and global connection caps', async t => {
  const { server, logs } = await startSecureServer(t, { maxConnections: 3, maxConnectionsPerIp: 2 })
  const a1 = await connectFrom(t, server, '127.0.0.1')
  const a2 = await connectFrom(t, server, '127.0.0.1')
  const a3 = await connectFrom(t, server, '127.0.0.1')
  t.same(await a3.closed, { code: 1013, reason: 'too many connections from this address' })
  const b1 = await connectFrom(t, server, '127.0.0.2')
  t.equal(b1.ws.readyState, b1.ws.OPEN, 'another address still connects')
  const c1 = await connectFrom(t, server, '127.0.0.3')
  t.same(await c1.closed, { code: 1013, reason: 'too many connections' }, 'the global cap')

  a1.close()
  await a1.closed
  // The server sees the close a moment after the client does, and logs it once it has freed the slot.
  await waitFor(() => logs.text.includes('connection closed during auth'), { what: 'the server to see the close' })
  const c2 = await connectFrom(t, server, '127.0.0.3')
  t.equal(c2.ws.readyState, c2.ws.OPEN, 'a closed connection frees its slot')
  t.equal(a2.ws.readyState, a2.ws.OPEN)
  const lines = logs.text.split('\n').filter(l => l.includes('connection limit reached'))
  t.equal(lines.length, 2, 'each limit is logged once')
  logs.check(t)
})

t.test('raw sockets from one address are capped below the WebSocket layer', async t => {
  const { server, logs } = await startSecureServer(t, { maxConnectionsPerIp: 2, maxConnections: 100 })
  const socks: net.Socket[] = []
  const closedEarly: number[] = []
  for (let i = 0; i < 20; i++) {
    const s = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.4' })
    s.on('error', () => {})
    s.on('close', () => closedEarly.push(i))
    socks.push(s)
    await once(s, 'connect')
  }
  t.teardown(() => { for (const s of socks) s.destroy() })
  // Dropped as the server gets to them (slower on a loaded machine), then nothing more: the
  // server accepts sockets in order, so once a later connection is open it has decided on all 20.
  await waitFor(() => closedEarly.length >= 20 - (2 + 8), { what: 'the sockets beyond the cap to be dropped' })
  const other = await connectFrom(t, server, '127.0.0.5')
  t.equal(closedEarly.length, 20 - (2 + 8), 'sockets beyond the cap plus handshake headroom are dropped')
  t.equal(other.ws.readyState, other.ws.OPEN, 'other addresses are unaffected')
  logs.check(t)
})

t.test('the limits are configurable from the CLI too', async t => {
  const home = tempHome(t)
  const proc = await spawnServer(t, home, ['--auth-timeout', '1s', '--max-connections-per-ip', '1', '--max-failures-per-ip', '2', '--lockout', '1h'])
  const target = processTarget(home, proc)
  const started = Date.now()
  const idle = await connectFrom(t, target, '127.0.0.1')
  const second = await connectFrom(t, target, '127.0.0.1')
  t.same(await second.closed, { code: 1013, reason: 'too many connections from this address' }, '--max-connections-per-ip 1')
  t.same(await idle.closed, { code: 1008, reason: 'authentication timeout' }, '--auth-timeout 1s')
  t.ok(Date.now() - started >= 900, 'after about a second')

  const guesser = await connectFrom(t, target, '127.0.0.2')
  t.equal((await guesser.request('authenticate', { pairing_token: 'wrong' })).error?.message, 'Authentication failed (1/3)')
  const locked = guesser.closed
  await guesser.request('authenticate', { pairing_token: 'wrong' }).catch(() => {})
  t.same(await locked, { code: 1008, reason: 'too many failed attempts' }, '--max-failures-per-ip 2')
  const again = await connectFrom(t, target, '127.0.0.2')
  t.same(await again.closed, { code: 1013, reason: 'too many failed attempts; try again later' }, 'refused during --lockout')

  for (const [flag, value] of [['--auth-timeout', 'soon'], ['--max-connections', '0'], ['--max-connections-per-ip', '-1'], ['--lockout', '10ms']]) {
    const r = await runCli(['--home', home, flag!, value!, 'show-connection-string'])
    t.equal(r.code, 2, `${flag} ${value} is a usage error`)
    t.match(r.stderr, new RegExp(`^error: option '${flag}.*is invalid`))
  }
})
