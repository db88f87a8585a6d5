// "No token in the logs" is checked for the whole suite: every server test/helpers startServer
// starts logs at trace level into a watch, and its teardown fails the test when a pairing or
// session token the helpers saw appears in it. This file proves that check can fail (a plugin
// that logs a token makes the test fail), and that pino's redaction hides token fields.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createServer } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { LogTokenWatch, pairingToken, tempHome } from '../helpers/server.js'

t.test('the watch finds a raw token in a log line; redacted fields do not leak', async t => {
  const watch = new LogTokenWatch(Infinity)
  const server = await createServer({
    home: tempHome(t), bind: '127.0.0.1', port: 0, mdns: false, connectHost: '127.0.0.1', logLevel: 'trace', logStream: watch.stream,
    plugins: [async (app) => {
      app.rpc.register({ name: 'log_fields', handler: (p: Record<string, unknown>, ctx) => { ctx.log.info(p, 'fields'); return null } })
      app.rpc.register({ name: 'log_raw', handler: (p: { text: string }, ctx) => { ctx.log.info(`raw ${p.text}`); return null } })
    }],
  })
  t.teardown(() => server.close())
  await server.listen()
  const c = await TestClient.paired(t, server)
  const secrets = [pairingToken(server), c.sessionToken]

  await c.call('log_fields', { token: c.sessionToken, session_token: c.sessionToken, pairing_token: pairingToken(server), sessionToken: c.sessionToken, nested: { session_token: c.sessionToken } })
  t.equal(watch.leaks(secrets), 0, 'token fields are redacted (second line of defence)')
  await c.call('log_raw', { text: `claudette://h:1/${pairingToken(server)}` })
  t.equal(watch.leaks(secrets), 1, 'a token inside a message is found')
})

t.test('a server that logs a token fails the test that started it', async t => {
  const dir = t.testdir() // inside the package, so 'tap' resolves and the file is ESM
  const script = join(dir, 'leak.test.ts')
  const helpers = new URL('../helpers/', import.meta.url).pathname
  writeFileSync(script, `
    import t from 'tap'
    import { startServer } from ${JSON.stringify(helpers + 'server.ts')}
    import { TestClient } from ${JSON.stringify(helpers + 'client.ts')}
    t.test('leaky', async t => {
      const server = await startServer(t, { plugins: [async (app) => {
        app.rpc.register({ name: 'leak', handler: (_p, ctx) => { ctx.log.debug('session ' + ctx.session.id + ' token ' + (globalThis as any).tok); return null } })
      }] })
      const c = await TestClient.paired(t, server)
      ;(globalThis as any).tok = c.sessionToken
      await c.call('leak', {})
      t.pass('the test body itself passes')
    })
  `)
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  t.not(code, 0, 'the run fails')
  t.match(out, /1 pairing\/session token\(s\) appeared in the server log/)
  t.notMatch(out, /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/, 'the failure message does not print the token')
})
