// The embedding API: a custom plugin contributes methods through app.rpc.register.
import t from 'tap'
import { Type } from 'typebox'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'
import { ClientError, createServer, ConfigError, type RpcContext } from '../../src/index.js'

class ShoutTooLongError extends ClientError {
  readonly code = 'ERR_TEST_TOO_LONG'
  constructor () { super('text too long') }
}

t.test('a custom plugin method works; invalid params get a validation error; server keeps serving', async t => {
  const seen: string[] = []
  const server = await startServer(t, {
    plugins: [async (app) => {
      app.rpc.register({
        name: 'echo_upper',
        params: Type.Object({ text: Type.String() }),
        handler: async (params, ctx: RpcContext) => {
          seen.push(ctx.session.name)
          if (params.text.length > 10) throw new ShoutTooLongError()
          return params.text.toUpperCase()
        },
      })
      // plain JSON Schema is accepted too
      app.rpc.register({
        name: 'add',
        params: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer', default: 1 } }, required: ['a'] },
        handler: (p: { a: number, b: number }) => p.a + p.b,
      })
      app.rpc.register({ name: 'boom', handler: () => { throw new Error('secret internals') } })
      app.rpc.register({ name: 'notify_me', handler: (_p: unknown, ctx: RpcContext) => { ctx.notify('custom-event', { x: 1 }); return 'ok' } })
    }],
  })
  const c = await TestClient.paired(t, server, 'my-phone')
  t.equal(await c.call('echo_upper', { text: 'hi' }), 'HI')
  t.same(seen, ['my-phone'])

  const wrongType = await c.request('echo_upper', { text: 5 })
  t.equal(wrongType.error.code, -1)
  t.equal(wrongType.error.message, "Invalid parameter 'text': must be string")
  const missing = await c.request('echo_upper', {})
  t.equal(missing.error.message, "Invalid parameter 'text': is required")
  const noParams = await c.request('echo_upper')
  t.match(noParams.error.message, /text/)

  t.equal(await c.call('add', { a: 2 }), 3, 'defaults from a plain JSON Schema apply')
  t.equal((await c.request('add', { a: '2' })).error.message, "Invalid parameter 'a': must be integer", 'no coercion')

  const exposed = await c.request('echo_upper', { text: 'x'.repeat(11) })
  t.same(exposed.error, { code: -1, data: { code: 'ERR_TEST_TOO_LONG' }, message: 'text too long' }, 'an embedder\'s code reaches the client in error.data')
  const internal = await c.request('boom', {})
  t.same(internal.error, { code: -1, message: 'Internal error' }, 'unexpected errors do not leak internals')

  const ev = c.event('custom-event')
  t.equal(await c.call('notify_me', {}), 'ok')
  t.same(await ev, { x: 1 })
  t.equal((await c.call('server_info')).name, server.name)
})

t.test('registering a bad or duplicate method fails at boot', async t => {
  await t.rejects(createServer({ home: t.testdir(), port: 0, bind: '127.0.0.1', mdns: false, logLevel: 'silent',
    plugins: [async (app) => { app.rpc.register({ name: 'server_info', handler: () => 1 }) }] }), { code: 'ERR_RPC_DUPLICATE_METHOD' })
  await t.rejects(createServer({ home: t.testdir(), port: 0, bind: '127.0.0.1', mdns: false, logLevel: 'silent',
    plugins: [async (app) => { app.rpc.register({ name: 'Bad Name', handler: () => 1 }) }] }), TypeError)
})

t.test('invalid createServer options are errors naming the option', async t => {
  const bad = [
    [{ port: 70000 }, /^invalid server option port must be <= 65535$/],
    [{ port: 'x' }, /^invalid server option port must be integer$/],
    [{ bogus: 1 }, /^invalid server option bogus is not a known option$/],
    [{ logLevel: 'loud' }, /logLevel/],
    [{ maxPayload: 1 }, /^invalid server option maxPayload must be >= 1024$/],
    [{ auth: { maxFailuresPerIp: 0 } }, /^invalid auth option maxFailuresPerIp must be >= 1$/],
    [{ auth: { lockoutSeconds: 5 } }, /^invalid auth option lockoutSeconds is not a known option$/],
  ] as const
  for (const [opts, re] of bad) {
    const err = await createServer({ home: t.testdir(), mdns: false, ...(opts as object) }).catch(e => e)
    t.type(err, ConfigError)
    t.equal(err.code, 'ERR_CONFIG_INVALID')
    t.match(err.message, re)
  }
})
