// The control channel of a home: its socket (0600, in the 0700 home or a private fallback
// directory), two homes that never mix, a second server refused, a stale socket taken over, and
// the socket removed on close.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, lstatSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createServer, openAdmin, serverStatus } from '../../../src/index.js'
import { controlLocation, maxSocketPathBytes } from '../../../src/plugins/control/paths.js'
import { pairingToken, startServer, tempHome } from '../../helpers/server.js'

t.test('the socket lives in the home, 0600, and is removed on close', async t => {
  const home = tempHome(t)
  const server = await startServer(t, { home })
  const sock = join(home, 'control.sock')
  const st = lstatSync(sock)
  t.ok(st.isSocket())
  t.equal(st.mode & 0o777, 0o600)
  t.equal(statSync(home).mode & 0o777, 0o700)
  t.equal((await serverStatus({ home }))?.pid, process.pid)
  await server.close()
  t.notOk(existsSync(sock), 'removed on close')
  t.equal(await serverStatus({ home }), null, 'no server: null')
})

t.test('no socket before listen(), and none with control: false', async t => {
  const home = tempHome(t)
  const s = await createServer({ home, bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'silent' })
  t.teardown(() => s.close())
  t.notOk(existsSync(join(home, 'control.sock')), 'createServer alone does not claim the home')
  const off = await startServer(t, { control: false })
  t.notOk(existsSync(join(off.home, 'control.sock')))
  t.equal(await serverStatus({ home: off.home }), null)
})

t.test('two servers with different homes each answer their own', async t => {
  const a = await startServer(t, { name: 'Alpha' })
  const b = await startServer(t, { name: 'Beta' })
  t.not(a.port, b.port)
  for (const s of [a, b]) {
    const admin = await openAdmin({ home: s.home })
    t.teardown(() => admin.close())
    t.same(await admin.connection(), { connectionString: s.connectionString, running: true })
    const status = await serverStatus({ home: s.home })
    t.equal(status?.listen.port, s.port)
    t.equal(status?.fingerprint, s.fingerprint)
  }
  t.not(a.fingerprint, b.fingerprint)
})

t.test('show-connection-string\'s source: the running server\'s real port, else the configured one', async t => {
  const home = tempHome(t)
  const server = await startServer(t, { home, connectHost: 'build.example.com' })
  const admin = await openAdmin({ home })
  t.teardown(() => admin.close())
  t.same(await admin.connection(), { connectionString: `claudette://build.example.com:${server.port}/${pairingToken(server)}`, running: true })
  await server.close()
  // server.toml says port 7683 and bind 0.0.0.0: the next start's string uses them.
  const next = await admin.connection()
  t.equal(next.running, false)
  t.match(next.connectionString, /^claudette:\/\/[^/]+:7683\//)
  t.equal(next.connectionString.split('/').pop(), pairingToken(server))
})

t.test('a second server for a live home is refused, naming the pid; the first keeps serving', async t => {
  const home = tempHome(t)
  const first = await startServer(t, { home })
  const second = await createServer({ home, bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'silent', connectHost: '127.0.0.1' })
  t.teardown(() => second.close())
  await t.rejects(second.listen(), { code: 'ERR_CONTROL_HOME_IN_USE', message: `another claudette-server (pid ${process.pid}) is already running for ${home}; stop it first, or use another --home` })
  await second.close()
  t.ok(lstatSync(join(home, 'control.sock')).isSocket(), 'the refused server did not remove the live socket')
  t.equal((await serverStatus({ home }))?.listen.port, first.port)
})

t.test('a stale socket (its process killed with SIGKILL) is taken over', async t => {
  const home = tempHome(t)
  const sock = join(home, 'control.sock')
  // A process that holds the home's socket and dies without cleaning up.
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] })
  await once(child.stdout, 'data')
  child.kill('SIGKILL')
  await once(child, 'exit')
  t.ok(lstatSync(sock).isSocket(), 'the socket file is left behind')
  t.equal(await serverStatus({ home }), null, 'a socket nobody listens on: no server')
  const server = await startServer(t, { home })
  t.equal((await serverStatus({ home }))?.listen.port, server.port, 'the new server took the socket over')
})

t.test('a file that is not a socket in its place is an error, left alone', async t => {
  const home = tempHome(t)
  mkdirSync(join(home, 'control.sock'))
  const s = await createServer({ home, bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'silent' })
  t.teardown(() => s.close())
  await t.rejects(s.listen(), { code: 'ERR_CONTROL_SOCKET' })
  t.ok(statSync(join(home, 'control.sock')).isDirectory())
})

t.test('a home too deep for a socket path uses a private directory named by a hash', async t => {
  const runtime = tempHome(t)
  const saved = process.env.XDG_RUNTIME_DIR
  process.env.XDG_RUNTIME_DIR = runtime
  t.teardown(() => { if (saved === undefined) delete process.env.XDG_RUNTIME_DIR; else process.env.XDG_RUNTIME_DIR = saved })
  const home = join(tempHome(t), 'a'.repeat(60), 'b'.repeat(60))
  const loc = controlLocation(home)
  t.equal(loc.privateDir, join(runtime, 'claudette-server'))
  t.ok(Buffer.byteLength(loc.path) <= maxSocketPathBytes())
  const other = controlLocation(join(home, 'c'))
  t.not(other.path, loc.path, 'another home, another socket')

  const server = await startServer(t, { home })
  t.equal(statSync(loc.privateDir!).mode & 0o777, 0o700)
  t.equal(lstatSync(loc.path).mode & 0o777, 0o600)
  t.equal((await serverStatus({ home }))?.listen.port, server.port)
  await server.close()
  t.notOk(existsSync(loc.path), 'removed on close')
})

t.test('a fallback directory others can enter is refused by server and CLI', async t => {
  const runtime = tempHome(t)
  const saved = process.env.XDG_RUNTIME_DIR
  process.env.XDG_RUNTIME_DIR = runtime
  t.teardown(() => { if (saved === undefined) delete process.env.XDG_RUNTIME_DIR; else process.env.XDG_RUNTIME_DIR = saved })
  mkdirSync(join(runtime, 'claudette-server'), { mode: 0o755 })
  const home = join(tempHome(t), 'a'.repeat(60), 'b'.repeat(60))
  const s = await createServer({ home, bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'silent' })
  t.teardown(() => s.close())
  await t.rejects(s.listen(), { code: 'ERR_CONTROL_SOCKET', message: /must be a directory owned by this user with mode 0700/ })
  await t.rejects(serverStatus({ home }), { code: 'ERR_CONTROL_SOCKET' })
})

t.test('the channel answers GET /status and /connection only', async t => {
  const server = await startServer(t)
  const { request } = await import('node:http')
  const get = (method: string, path: string): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ socketPath: join(server.home, 'control.sock'), method, path }, res => { res.resume(); resolve(res.statusCode!) })
    req.on('error', reject)
    req.end()
  })
  t.equal(await get('GET', '/connection'), 200)
  t.equal(await get('GET', '/nope'), 404)
  t.equal(await get('POST', '/status'), 405)
})

t.test('between the claim and the bound listener the channel answers "starting", never port 0', async t => {
  const home = tempHome(t)
  // Another socket holds the port: listen() claims the control socket, then fails to bind.
  const { createServer: createNetServer } = await import('node:net')
  const blocker = createNetServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => blocker.close())
  const s = await createServer({ home, bind: '127.0.0.1', port: (blocker.address() as { port: number }).port, mdns: false, logLevel: 'silent' })
  t.teardown(() => s.close())
  await t.rejects(s.listen(), { code: 'EADDRINUSE' })
  await t.rejects(serverStatus({ home }), { code: 'ERR_CONTROL_NO_ANSWER', message: /still starting/ })
  await t.rejects(openAdmin({ home }).then(a => a.connectionString().finally(() => a.close())), { code: 'ERR_CONTROL_NO_ANSWER' })
  await s.close()
  t.notOk(existsSync(join(home, 'control.sock')), 'closing the server removes the socket')
  t.equal(await serverStatus({ home }), null)
})
