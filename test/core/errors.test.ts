// The error catalogue: createError's classes, toWireError's mapping, and an embedder's codes
// reaching a client SDK user over a real server.
import t from 'tap'
import {
  AppError, ClaudetteClient, ClientError, createError, pair, PtyLimitError, PtyNotFoundError, RemoteError, RpcInvalidParamsError,
  toWireError, TrustStore, WorkspaceNotFoundError, AgentWorkspaceNotFoundError, PtyWorkspaceNotFoundError,
} from '../../src/index.js'
import { startServer, tempHome } from '../helpers/server.js'

class MyPluginError extends createError('ERR_MY_PLUGIN_X', (what: string) => `cannot frob ${what}`,
  { base: ClientError, statusCode: 409, fields: ([what]) => ({ what }), data: ([what]) => ({ what }) }) {}

class PlainError extends AppError {
  readonly code = 'ERR_MY_PLUGIN_PLAIN'
  override readonly expose = true
  constructor () { super('plain trouble') }
}

t.test('createError makes a real class: instanceof, name, code, statusCode, fields, cause', async t => {
  const cause = new Error('root')
  const e = new MyPluginError('widgets', { cause })
  t.ok(e instanceof MyPluginError && e instanceof ClientError && e instanceof AppError && e instanceof Error)
  t.equal(e.name, 'MyPluginError')
  t.equal(e.code, 'ERR_MY_PLUGIN_X')
  t.equal(MyPluginError.code, 'ERR_MY_PLUGIN_X')
  t.equal(e.message, 'cannot frob widgets')
  t.equal(e.statusCode, 409)
  t.equal(e.expose, true, 'ClientError base: exposed')
  t.equal(e.rpcCode, -1)
  t.equal(e.what, 'widgets')
  t.same(e.data, { what: 'widgets' })
  t.equal(e.cause, cause)
  t.match(e.stack, /cannot frob widgets/)

  const Bare = createError('ERR_BARE', 'bare')
  const b = new Bare()
  t.equal(b.name, 'AppError')
  t.equal(b.statusCode, 500)
  t.equal(b.expose, false)
  t.equal(b.message, 'bare')
  t.throws(() => createError('not-a-code', 'x'), TypeError)

  const limit = new PtyLimitError(8)
  t.equal(limit.limit, 8)
  t.equal(limit.message, 'Too many terminals (limit 8 per session)')
  t.equal(new PtyNotFoundError(3).ptyId, 3)
  t.throws(() => { throw new PtyNotFoundError(3) }, PtyNotFoundError, 'a class is a matcher pattern (instanceof)')
})

t.test('"Workspace not found" is one condition under one code', async t => {
  t.equal(AgentWorkspaceNotFoundError, WorkspaceNotFoundError)
  t.equal(PtyWorkspaceNotFoundError, WorkspaceNotFoundError)
  const e = new AgentWorkspaceNotFoundError('ws-1')
  t.equal(e.code, 'ERR_REPO_WORKSPACE_NOT_FOUND')
  t.equal(e.workspaceId, 'ws-1')
  t.same(toWireError(e), { code: -1, message: 'Workspace not found' })
})

t.test('toWireError: built-in conditions as the reference sends them, embedder codes in data, the rest hidden', async t => {
  t.same(toWireError(new PtyNotFoundError(1)), { code: -1, message: 'PTY not found' }, 'no data for a built-in condition')
  t.same(toWireError(new RpcInvalidParamsError('m', [{ path: 'a', message: 'must be string' }])),
    { code: -1, message: "Invalid parameter 'a': must be string", data: { method: 'm', errors: [{ path: 'a', message: 'must be string' }] } })
  t.same(toWireError(new MyPluginError('x')), { code: -1, message: 'cannot frob x', data: { code: 'ERR_MY_PLUGIN_X', what: 'x' } })
  t.same(toWireError(new PlainError()), { code: -1, message: 'plain trouble', data: { code: 'ERR_MY_PLUGIN_PLAIN' } })
  const Listed = createError('ERR_MY_LISTED', 'listed', { expose: true, data: () => [1, 2] })
  t.same(toWireError(new Listed()), { code: -1, message: 'listed', data: { code: 'ERR_MY_LISTED', detail: [1, 2] } })
  t.same(toWireError(new (createError('ERR_MY_HIDDEN', 'secret'))()), { code: -1, message: 'Internal error' })
  t.same(toWireError(new Error('secret')), { code: -1, message: 'Internal error' })
  t.same(toWireError('thrown string'), { code: -1, message: 'Internal error' })
})

t.test('an embedder\'s codes reach the client SDK as remoteCode; built-in ones keep the reference wire', async t => {
  const server = await startServer(t, {
    plugins: [async (app) => {
      app.rpc.register({ name: 'my_frob', handler: () => { throw new MyPluginError('gears') } })
      app.rpc.register({ name: 'my_plain', handler: () => { throw new PlainError() } })
    }],
  })
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: server.connectionString, store, clientName: 'laptop' })
  const client = ClaudetteClient.fromTrusted(entry, {}, store)
  t.teardown(() => client.close())
  await client.connect()

  await t.rejects(client.request('my_frob' as never, {}), {
    constructor: RemoteError, code: 'ERR_RPC_REMOTE', remoteCode: 'ERR_MY_PLUGIN_X', message: 'cannot frob gears', rpcCode: -1,
    data: { code: 'ERR_MY_PLUGIN_X', what: 'gears' },
  })
  await t.rejects(client.request('my_plain' as never, {}), { remoteCode: 'ERR_MY_PLUGIN_PLAIN', message: 'plain trouble' })
  const builtIn = await client.request('no_such_method' as never, {}).catch((e: unknown) => e) as RemoteError
  t.equal(builtIn.message, 'Unknown method: no_such_method')
  t.equal(builtIn.remoteCode, undefined, 'built-in conditions carry no code on the wire')
  t.equal(builtIn.data, undefined)
})
