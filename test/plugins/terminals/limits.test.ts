// Bad input gets a clear error and never breaks the connection: wrong types, bounds,
// ptys per session, write size, missing cwd, option checks.
import t from 'tap'
import { createServer } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { inputFrame, SHELL_OPTS, registeredRepo } from './_helpers.js'

t.test('invalid params and limits', async t => {
  const server = await startServer(t, { terminals: { ...SHELL_OPTS, maxPtysPerSession: 2, maxWriteBytes: 16, maxRows: 200 } })
  const c = await TestClient.paired(t, server)
  const cwd = await registeredRepo(t, c)
  const err = async (method: string, params: unknown): Promise<string> => (await c.request(method, params)).error?.message

  t.equal(await err('spawn_pty', { cwd, rows: 0 }), "Invalid parameter 'rows': must be >= 1")
  t.match(await err('spawn_pty', { cwd, rows: 201 }), /^Invalid parameter 'rows'/)
  t.match(await err('spawn_pty', { cwd, cols: 'wide' }), /^Invalid parameter 'cols'/)
  t.equal(await err('spawn_pty', {}), 'spawn_pty needs a workspace_id or a cwd inside a registered repository or workspace')
  t.match(await err('write_pty', { pty_id: 'one', data: [] }), /^Invalid parameter 'pty_id'/)
  t.match(await err('write_pty', { data: [] }), /^Invalid parameter 'pty_id': is required/)
  t.match(await err('write_pty', { pty_id: 1, data: [256] }), /^Invalid parameter 'data.0'/)
  t.match(await err('write_pty', { pty_id: 1, data: 'text' }), /^Invalid parameter 'data'/)
  t.equal(await err('write_pty', { pty_id: 0, data: [1] }), 'PTY not found')
  t.equal(await err('write_pty', { pty_id: 2 ** 53, data: [1] }), 'PTY not found')
  t.equal(await err('attach_pty', { pty_id: 12345 }), 'PTY not found')

  const a = await c.call('spawn_pty', { cwd })
  await c.call('spawn_pty', { cwd })
  t.equal(await err('spawn_pty', { cwd }), 'Too many terminals (limit 2 per session)')
  t.equal(await err('write_pty', { pty_id: a.pty_id, data: new Array(17).fill(65) }), 'Input too large (17 bytes, limit 16)')
  c.sendBinary(inputFrame(a.pty_id, 'x'.repeat(17)))
  t.same(await c.event('pty-input-error'), { message: 'Input too large (17 bytes, limit 16)', pty_id: a.pty_id })
  t.equal(await err('resize_pty', { pty_id: a.pty_id, rows: 201, cols: 10 }), "Invalid parameter 'rows': must be <= 200")

  // Another device session has its own quota.
  const other = await TestClient.paired(t, server, 'other')
  t.ok((await other.call('spawn_pty', { cwd })).pty_id > a.pty_id)
  await c.call('close_pty', { pty_id: a.pty_id })
  t.ok((await c.call('spawn_pty', { cwd })).pty_id, 'a closed pty frees its slot')
  t.ok((await c.call('server_info')).capabilities, 'connection still fine')
})

t.test('terminals options are validated at boot', async t => {
  await t.rejects(createServer({ home: t.testdir(), terminals: { scrollbackBytes: -1 } }), { code: 'ERR_CONFIG_INVALID', message: /scrollbackBytes/ })
  await t.rejects(createServer({ home: t.testdir(), terminals: { nope: 1 } }), { code: 'ERR_CONFIG_INVALID', message: /nope/ })
  await t.rejects(createServer({ home: t.testdir(), terminals: { highWaterMark: 65536, lowWaterMark: 65536 } }), { code: 'ERR_CONFIG_INVALID', message: /lowWaterMark/ })
})
