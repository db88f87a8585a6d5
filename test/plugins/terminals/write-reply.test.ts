// write_pty's reply follows the echo of the keys it wrote (so the reply's socket write is not on
// the keystroke's critical path), and never waits long when no output comes.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

const isReply = (id: number) => (f: { json?: any }): boolean => f.json !== undefined && f.json.id === id

t.test('the write_pty reply comes after the echo, and at once when nothing is echoed', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const c = await TestClient.paired(t, server)
  const dir = await registeredRepo(t, c)
  const { pty_id: id } = await c.call('spawn_pty', { cwd: dir, rows: 24, cols: 80 })
  await c.call('write_pty', { pty_id: id, data: [...Buffer.from('echo rea""dy\n')] })
  await waitForOutput(c, id, s => /ready/.test(s))

  // The line discipline echoes typed keys at once: the echo frame goes out before the reply.
  for (let i = 0; i < 20; i++) {
    const from = c.frames.length
    const res = await c.request('write_pty', { pty_id: id, data: [...Buffer.from('x')] }, 1000 + i)
    t.equal(res.result, null)
    const frames = c.frames.slice(from)
    const replyAt = frames.findIndex(isReply(1000 + i))
    const echoAt = frames.findIndex(f => f.json?.event === 'pty-output' && Buffer.from(f.json.payload.data).includes(0x78))
    if (!(echoAt >= 0 && echoAt < replyAt)) t.fail(`key ${i}: echo at ${echoAt}, reply at ${replyAt}`)
  }
  t.pass('20 keys: each echo arrived before its reply')

  // No echo at all: the reply is held at most ~2 ms, never until some later output.
  await c.call('write_pty', { pty_id: id, data: [...Buffer.from('\u0015stty -echo; echo qu""iet\n')] })
  await waitForOutput(c, id, s => /quiet/.test(s))
  await new Promise(resolve => setTimeout(resolve, 200))
  const started = performance.now()
  const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => c.request('write_pty', { pty_id: id, data: [0x61 + (i % 26)] }, 2000 + i)))
  const took = performance.now() - started
  t.ok(replies.every(r => r.result === null), '100 silent writes all answered')
  t.ok(took < 2000, `and promptly (${took.toFixed(1)} ms for 100)`)

  // An empty write is answered at once and still validated like any other.
  t.same((await c.request('write_pty', { pty_id: id, data: [] })).result, null)
  t.same((await c.request('write_pty', { pty_id: 999999, data: [1] })).error, { code: -1, message: 'PTY not found' })
})
