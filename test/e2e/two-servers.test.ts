// Two servers in one process share nothing: separate homes, tokens, sessions and containers.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer } from '../helpers/server.js'

t.test('two servers, each paired; closing one leaves the other working', async t => {
  const a = await startServer(t, { name: 'alpha' })
  const b = await startServer(t, { name: 'beta' })
  t.not(a.port, b.port)
  t.not(a.fingerprint, b.fingerprint)
  t.not(pairingToken(a), pairingToken(b))
  t.not(a.app.di, b.app.di)
  t.not(a.app.rpc, b.app.rpc)

  const ca = await TestClient.paired(t, a)
  const cb = await TestClient.paired(t, b)
  t.equal((await ca.call('server_info')).name, 'alpha')
  t.equal((await cb.call('server_info')).name, 'beta')

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
  const again = await TestClient.paired(t, b)
  t.ok(again.sessionToken)
})

t.test('a script that creates, listens and closes two servers exits by itself', async t => {
  const dir = t.testdir()
  const script = join(dir, 'two.ts')
  const entry = new URL('../../src/index.ts', import.meta.url).pathname
  writeFileSync(script, `
    import { createServer } from ${JSON.stringify(entry)}
    const opts = { bind: '127.0.0.1', port: 0, mdns: false, logLevel: 'warn' } as const
    const a = await createServer({ ...opts, home: ${JSON.stringify(join(dir, 'a'))} })
    const b = await createServer({ ...opts, home: ${JSON.stringify(join(dir, 'b'))} })
    await a.listen(); await b.listen()
    console.log('up', a.port, b.port)
    await a.close(); await b.close()
    console.log('closed')
  `)
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  const started = Date.now()
  const code = await new Promise<number | null>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null) }, 60_000)
    child.on('exit', c => { clearTimeout(timer); resolve(c) })
  })
  t.equal(code, 0, `exited by itself (${out.trim()})`)
  t.match(out, /up \d+ \d+\s+closed/)
  t.ok(Date.now() - started < 60_000)
})
