// spawn_pty, write_pty, resize_pty, close_pty in the compatible JSON encoding (wire doc §6–§7).
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { outputOf, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

t.test('spawn, write, resize, close over JSON', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const c = await TestClient.paired(t, server)
  const dir = await registeredRepo(t, c)
  const info = await c.call('server_info')
  t.ok(info.capabilities.includes('pty-binary'), 'announces the fast path')

  const { pty_id: id } = await c.call('spawn_pty', { cwd: dir, rows: 30, cols: 100 })
  t.ok(Number.isInteger(id) && id >= 1 && id <= 0xffffffff, 'integer id')

  await c.call('write_pty', { pty_id: id, data: [...Buffer.from('echo hel""lo-$((6*7)); pwd; stty size\n')] })
  const out = await waitForOutput(c, id, s => /hello-42/.test(s) && /30 100/.test(s))
  t.match(out, dir, 'runs in the requested cwd')
  const ev = c.frames.find(f => f.json?.event === 'pty-output')!
  t.match(ev.text, /^\{"event":"pty-output","payload":\{"data":\[(\d{1,3},)*\d{1,3}\],"pty_id":\d+\}\}$/, 'wire shape and key order')

  t.equal(await c.call('resize_pty', { pty_id: id, rows: 40, cols: 120 }), null)
  const from = c.frames.length
  await c.call('write_pty', { pty_id: id, data: [...Buffer.from('stty size\n')] })
  await waitForOutput(c, id, s => /40 120/.test(s), 5000, from)

  const [entry] = await c.call('list_ptys')
  t.match(entry, { pty_id: id, alive: true, cols: 120, rows: 40, exit_code: null, workspace_id: null })

  t.equal(await c.call('close_pty', { pty_id: id }), null)
  t.same(await c.call('list_ptys'), [], 'closed ptys are forgotten')
  t.equal(await c.call('close_pty', { pty_id: id }), null, 'closing an unknown id is not an error (reference)')
  const res = await c.request('write_pty', { pty_id: id, data: [1] })
  t.same(res.error, { code: -1, message: 'PTY not found' })
  t.ok(outputOf(c.frames, id).length > 0)
})
