// The fast path (DESIGN.md §5): set_pty_encoding, 0x01 output frames, 0x02 input frames.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { inputFrame, outputOf, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

t.test('binary encoding: raw output frames, binary input, same rules as JSON', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const c = await TestClient.paired(t, server)
  t.same(await c.call('set_pty_encoding', { encoding: 'binary' }), { encoding: 'binary' })
  const { pty_id: id } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })

  c.sendBinary(inputFrame(id, 'printf "\\001\\377x%sy\\n" $((40+2))\n'))
  await waitForOutput(c, id, s => s.includes('x42y'))
  const frames = c.frames.filter(f => f.binary)
  t.ok(frames.length > 0, 'output came as binary frames')
  t.notOk(c.frames.some(f => f.json?.event === 'pty-output'), 'and not as pty-output events')
  for (const f of frames) {
    t.equal(f.binary![0], 0x01)
    t.equal(f.binary!.readUInt32BE(1), id)
  }
  const out = outputOf(c.frames, id)
  t.ok(out.includes(Buffer.from([0x01, 0xff, 0x78])), 'raw bytes, including non-UTF-8, arrive unchanged')

  // write_pty (JSON) still works in binary mode, and both keep their order
  const from = c.frames.length
  c.sendBinary(inputFrame(id, 'echo one'))
  c.sendText(JSON.stringify({ id: 99, method: 'write_pty', params: { pty_id: id, data: [...Buffer.from('-two')] } }))
  c.sendBinary(inputFrame(id, '-three\n'))
  await waitForOutput(c, id, s => s.includes('one-two-three\r\n'), 5000, from)

  // switching back to JSON
  t.same(await c.call('set_pty_encoding', { encoding: 'json' }), { encoding: 'json' })
  c.sendBinary(inputFrame(id, 'echo back-to-""json\n'))
  await c.event('pty-output', p => Buffer.from(p.data).toString().includes('back-to-json'))

  const bad = await c.request('set_pty_encoding', { encoding: 'base64' })
  t.equal(bad.error.code, -1)
  t.match(bad.error.message, /^Invalid parameter 'encoding'/)
})

t.test('binary frames before authenticate are ignored', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const owner = await TestClient.paired(t, server)
  const { pty_id: id } = await owner.call('spawn_pty', { cwd: await registeredRepo(t, owner) })
  const c = await TestClient.connect(t, server)
  c.sendBinary(inputFrame(id, 'echo should-not-run\n'))
  c.sendBinary(Buffer.from([0x02]))
  const res = await c.request('server_info', {})
  t.equal(res.error.message, 'Must authenticate first', 'connection still answers, nothing else came back')
  t.equal(c.frames.length, 1)
  owner.sendBinary(inputFrame(id, 'echo mar""ker\n'))
  const out = await waitForOutput(owner, id, s => s.includes('marker\r\n'))
  t.notOk(out.includes('should-not-run\r\n'))
})
