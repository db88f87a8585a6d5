// A pty belongs to the device session that spawned it: other sessions get `PTY not found`,
// over JSON and over binary input frames, and cannot close or attach it.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { eventually } from '../../helpers/wait.js'
import { inputFrame, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

t.test('another session cannot touch the pty', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const owner = await TestClient.paired(t, server, 'owner')
  const other = await TestClient.paired(t, server, 'intruder')
  const { pty_id: id } = await owner.call('spawn_pty', { cwd: await registeredRepo(t, owner) })

  for (const [method, params] of [
    ['write_pty', { pty_id: id, data: [...Buffer.from('echo pwned\n')] }],
    ['resize_pty', { pty_id: id, rows: 5, cols: 5 }],
    ['attach_pty', { pty_id: id }],
    ['detach_pty', { pty_id: id }],
  ] as const) {
    const res = await other.request(method, params)
    t.same(res.error, { code: -1, message: 'PTY not found' }, method)
  }
  t.same(await other.call('list_ptys'), [], 'not listed for the other session')
  t.equal(await other.call('close_pty', { pty_id: id }), null, 'close answers like for an unknown id...')

  other.sendBinary(inputFrame(id, 'echo pwned\n'))
  const err = await other.event('pty-input-error')
  t.same(err, { message: 'PTY not found', pty_id: id })
  const e2 = other.frames.find(f => f.json?.event === 'pty-input-error')!
  t.equal(e2.text, `{"event":"pty-input-error","payload":{"message":"PTY not found","pty_id":${id}}}`)

  other.sendBinary(Buffer.from([0x02, 0, 0]))
  t.same(await other.event('pty-input-error', p => p.pty_id === null), {
    message: 'Malformed binary frame: expected 0x02, a 4-byte pty id, then data', pty_id: null,
  })
  t.equal((await other.call('server_info')).name !== undefined, true, 'connection still open')

  const [entry] = await owner.call('list_ptys')
  t.match(entry, { pty_id: id, alive: true, rows: 24, cols: 80 }, '...but the pty is untouched')
  owner.sendBinary(inputFrame(id, 'echo still-""mine\n'))
  const out = await waitForOutput(owner, id, s => s.includes('still-mine\r\n'))
  t.notOk(out.includes('pwned\r\n'))
  t.notOk(other.frames.some(f => f.binary || f.json?.event === 'pty-output'), 'the other session saw no output')
})

t.test('revoking a device session kills its terminals', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const phone = await TestClient.paired(t, server, 'phone')
  const laptop = await TestClient.paired(t, server, 'laptop')
  const { pty_id: id } = await phone.call('spawn_pty', { cwd: await registeredRepo(t, phone) })
  const sessions = await laptop.call('list_sessions')
  const phoneSession = sessions.find((s: any) => s.name === 'phone')
  await laptop.call('revoke_session', { session_id: phoneSession.id })
  const { code } = await phone.closed
  t.equal(code, 4001)
  const { resolve } = await import('../../../src/index.js')
  const { TERM } = await import('../../../src/plugins/terminals/types.js')
  const registry = resolve(server.app.di, TERM.Registry)
  await eventually(() => registry.size === 0, { timeout: 3000, interval: 50 })
  t.equal(registry.size, 0, `pty ${id} was closed with its session`)
})
