// Two servers in one process share nothing: separate homes, tokens, sessions, containers and
// terminals. Closing one leaves the other (and its terminal) working, and a process that ran
// two used servers (paired clients, repositories, live shells) exits by itself after closing them.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer } from '../helpers/server.js'
import { inputFrame, registeredRepo, SHELL_OPTS, waitForOutput } from '../plugins/terminals/_helpers.js'

t.test('two servers, each paired with a terminal; closing one leaves the other working', async t => {
  const a = await startServer(t, { name: 'alpha', terminals: SHELL_OPTS })
  const b = await startServer(t, { name: 'beta', terminals: SHELL_OPTS })
  t.not(a.port, b.port)
  t.not(a.fingerprint, b.fingerprint)
  t.not(pairingToken(a), pairingToken(b))
  t.not(a.app.di, b.app.di)
  t.not(a.app.rpc, b.app.rpc)

  const ca = await TestClient.paired(t, a)
  const cb = await TestClient.paired(t, b)
  t.equal((await ca.call('server_info')).name, 'alpha')
  t.equal((await cb.call('server_info')).name, 'beta')

  // A terminal on each: pty ids are per server, and neither sees the other's.
  const ptyA = (await ca.call('spawn_pty', { cwd: await registeredRepo(t, ca), rows: 24, cols: 80 })).pty_id
  const ptyB = (await cb.call('spawn_pty', { cwd: await registeredRepo(t, cb), rows: 24, cols: 80 })).pty_id
  t.same((await ca.call('list_ptys')).map((p: { pty_id: number }) => p.pty_id), [ptyA])
  t.same((await cb.call('list_ptys')).map((p: { pty_id: number }) => p.pty_id), [ptyB])
  t.equal((await ca.call('list_repositories')).length, 1, 'repositories are per server')
  ca.sendBinary(inputFrame(ptyA, 'echo from-$((40+2))-a\n'))
  await waitForOutput(ca, ptyA, s => s.includes('from-42-a'))

  // A session token of one server means nothing to the other.
  const cross = await TestClient.connect(t, b)
  const res = await cross.request('authenticate', { session_token: ca.sessionToken })
  t.equal(res.error?.code, -2)
  // A pairing token of one server does not pair with the other.
  const res2 = await cross.request('authenticate', { pairing_token: pairingToken(a) })
  t.equal(res2.error?.message, 'Authentication failed (2/3)')

  t.equal((await ca.call('list_sessions')).length, 1)
  t.equal((await cb.call('list_sessions')).length, 1)

  const closed = ca.closed
  await a.close()
  const { code, reason } = await closed
  t.equal(code, 1001)
  t.equal(reason, 'server shutting down')
  t.equal((await cb.call('server_info')).name, 'beta', 'the other server keeps serving')
  const from = cb.frames.length
  cb.sendBinary(inputFrame(ptyB, 'echo still-$((40+2))-b\n'))
  await waitForOutput(cb, ptyB, s => s.includes('still-42-b'), 5000, from)
  t.pass('and its terminal keeps running')
  const again = await TestClient.paired(t, b)
  t.ok(again.sessionToken)
})

t.test('a process that used two servers exits by itself after closing them', async t => {
  const dir = t.testdir()
  const script = join(dir, 'two.ts')
  const entry = new URL('../../src/index.ts', import.meta.url).pathname
  writeFileSync(script, `
    import { execFileSync } from 'node:child_process'
    import { mkdirSync, readFileSync } from 'node:fs'
    import WebSocket from 'ws'
    import { createServer } from ${JSON.stringify(entry)}
    import { waitFor } from ${JSON.stringify(new URL('../helpers/wait.ts', import.meta.url).pathname)}
    const opts = { bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'warn', terminals: { shell: '/bin/sh' } } as const

    // Pairs a client, registers a repository and starts a shell in it; the client stays connected.
    async function use (server: Awaited<ReturnType<typeof createServer>>, repo: string) {
      mkdirSync(repo, { recursive: true })
      execFileSync('git', ['init', '-q', repo])
      const ws = new WebSocket('wss://127.0.0.1:' + server.port + '/', { ca: readFileSync(server.home + '/cert.pem') })
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
      const waiting = new Map<number, (m: any) => void>()
      let output = ''
      ws.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString())
        if (m.id != null) waiting.get(m.id)?.(m)
        else if (m.event === 'pty-output') output += Buffer.from(m.payload.data).toString()
      })
      let next = 0
      const call = (method: string, params: unknown) => new Promise<any>((resolve, reject) => {
        const id = ++next
        waiting.set(id, m => m.error ? reject(new Error(method + ': ' + m.error.message)) : resolve(m.result))
        ws.send(JSON.stringify({ id, method, params }))
      })
      await call('authenticate', { pairing_token: server.connectionString.split('/').pop(), client_name: 'script' })
      await call('add_repository', { path: repo })
      const { pty_id } = await call('spawn_pty', { cwd: repo, rows: 24, cols: 80 })
      await call('write_pty', { pty_id, data: [...Buffer.from('echo ready-$((6*7))\\n')] })
      await waitFor(() => output.includes('ready-42'), { interval: 50, what: () => 'shell output; got ' + JSON.stringify(output) })
      return ws
    }

    const a = await createServer({ ...opts, home: ${JSON.stringify(join(dir, 'a'))} })
    const b = await createServer({ ...opts, home: ${JSON.stringify(join(dir, 'b'))} })
    await a.listen(); await b.listen()
    const wa = await use(a, ${JSON.stringify(join(dir, 'repo-a'))})
    const wb = await use(b, ${JSON.stringify(join(dir, 'repo-b'))})
    console.log('up', a.port, b.port)
    const codes: number[] = []
    wa.on('close', c => codes.push(c)); wb.on('close', c => codes.push(c))
    await a.close(); await b.close()
    console.log('closed')
    // Nothing is ended by hand: the clients were closed by the servers (1001), the shells were
    // killed, and no timer, socket or child process keeps this process alive.
    process.on('exit', () => console.log('exit codes', codes.join(',')))
  `)
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  let closedAt = 0
  child.stdout.on('data', () => { if (closedAt === 0 && out.includes('closed')) closedAt = Date.now() })
  const code = await new Promise<number | null>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null) }, 90_000)
    child.on('exit', c => { clearTimeout(timer); resolve(c) })
  })
  t.equal(code, 0, `exited by itself (${out.trim()})`)
  t.match(out, /up \d+ \d+\s+closed\s+exit codes 1001,1001/)
  t.ok(closedAt > 0 && Date.now() - closedAt < 10_000, `exited ${Date.now() - closedAt} ms after both close() calls returned`)
})
