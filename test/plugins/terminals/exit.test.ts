// pty-exit {exit_code, pty_id, signal} after the last output, within 1 s of `exit`;
// the pty stays listable as exited until closed.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { inputFrame, outputOf, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

for (const encoding of ['json', 'binary'] as const) {
  t.test(`exit code and ordering (${encoding})`, async t => {
    const server = await startServer(t, { terminals: SHELL_OPTS })
    const c = await TestClient.paired(t, server)
    await c.call('set_pty_encoding', { encoding })
    const { pty_id: id } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
    c.sendBinary(inputFrame(id, 'echo rea""dy\n'))
    await waitForOutput(c, id, s => s.includes('ready\r\n'))
    const sent = Date.now()
    c.sendBinary(inputFrame(id, 'seq 1 3000; exit 3\n'))
    const ev = await c.event('pty-exit')
    const elapsed = Date.now() - sent
    t.ok(elapsed < 1000, `pty-exit within 1 s (${elapsed} ms)`)
    t.same(ev, { exit_code: 3, pty_id: id, signal: null })
    const exitAt = c.frames.findIndex(f => f.json?.event === 'pty-exit')
    t.match(outputOf(c.frames.slice(0, exitAt), id).toString(), /\r\n3000\r\n$/, 'all output came before pty-exit')
    t.equal(outputOf(c.frames.slice(exitAt), id).length, 0, 'nothing after it')
    t.match(c.frames[exitAt]!.text, `{"event":"pty-exit","payload":{"exit_code":3,"pty_id":${id},"signal":null}}`)

    const [entry] = await c.call('list_ptys')
    t.match(entry, { pty_id: id, alive: false, exit_code: 3, signal: null }, 'listable as exited')
    const w = await c.request('write_pty', { pty_id: id, data: [65] })
    t.same(w.error, { code: -1, message: 'PTY has exited' })
    const att = await c.call('attach_pty', { pty_id: id })
    t.match(att, { alive: false, exit_code: 3 })
    t.match(Buffer.from(att.replay).toString(), /3000\r\n$/)
    await c.call('close_pty', { pty_id: id })
    t.same(await c.call('list_ptys'), [])
  })
}

t.test('a signal is reported by name with a null exit code', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const c = await TestClient.paired(t, server)
  const { pty_id: id } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
  c.sendBinary(inputFrame(id, 'kill -KILL $$\n'))
  const ev = await c.event('pty-exit').catch(e => { t.comment(JSON.stringify(c.frames)); throw e })
  t.same(ev, { exit_code: null, pty_id: id, signal: 'SIGKILL' })
})
