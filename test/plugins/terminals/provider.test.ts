// Embedders pass their own TerminalProvider; the registry gives it ids, ownership, scrollback,
// both encodings and exit events, exactly as for node-pty.
import t from 'tap'
import { Emitter, type TerminalExit, type TerminalProvider, type TerminalSession } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { inputFrame, outputOf, waitForOutput, registeredRepo } from './_helpers.js'

/** A terminal that upper-cases its input and exits on "q" (a real alternative provider). */
class ShoutingProvider implements TerminalProvider {
  readonly kind = 'shout'
  readonly spawned: Array<{ cwd: string, cols: number, rows: number, term: string | undefined }> = []
  spawn (req: Parameters<TerminalProvider['spawn']>[0]): TerminalSession {
    this.spawned.push({ cwd: req.cwd, cols: req.cols, rows: req.rows, term: req.env.TERM })
    const data = new Emitter<Uint8Array>()
    const exit = new Emitter<TerminalExit>()
    let done = false
    return {
      pid: 0,
      onData: data.event,
      onExit: exit.event,
      write (d) {
        const text = Buffer.from(d).toString()
        if (text === 'q') { done = true; setImmediate(() => exit.fire({ code: 7, signal: null })); return }
        setImmediate(() => data.fire(Buffer.from(text.toUpperCase())))
      },
      resize () {},
      pause () {},
      resume () {},
      kill () { if (!done) { done = true; setImmediate(() => exit.fire({ code: null, signal: 'SIGHUP' })) } },
      dispose () { data.dispose(); exit.dispose() },
    }
  }
}

t.test('a custom provider behind the same protocol', async t => {
  const provider = new ShoutingProvider()
  const server = await startServer(t, { terminals: { provider } })
  const c = await TestClient.paired(t, server)
  const cwd = await registeredRepo(t, c)
  const { pty_id: id } = await c.call('spawn_pty', { cwd, rows: 10, cols: 20 })
  t.match(provider.spawned, [{ cols: 20, rows: 10, term: 'xterm-256color' }])
  c.sendBinary(inputFrame(id, 'hello'))
  await waitForOutput(c, id, s => s === 'HELLO')
  await c.call('set_pty_encoding', { encoding: 'binary' })
  await c.call('write_pty', { pty_id: id, data: [...Buffer.from(' world')] })
  await waitForOutput(c, id, s => s === 'HELLO WORLD')
  t.same(outputOf(c.frames.filter(f => f.binary), id).toString(), ' WORLD')
  c.sendBinary(inputFrame(id, 'q'))
  t.same(await c.event('pty-exit'), { exit_code: 7, pty_id: id, signal: null })
})

t.test('a provider that cannot start a terminal: a clear error, no pty left behind, the connection goes on', async t => {
  const provider = new ShoutingProvider()
  let failures = 1
  const flaky: TerminalProvider = {
    kind: 'flaky',
    spawn (req) {
      if (failures-- > 0) throw new Error('no free pty devices')
      return provider.spawn(req)
    },
  }
  const server = await startServer(t, { terminals: { provider: flaky } })
  const c = await TestClient.paired(t, server)
  const cwd = await registeredRepo(t, c)
  const res = await c.request('spawn_pty', { cwd, rows: 10, cols: 20 })
  t.equal(res.error?.message, 'Failed to spawn terminal: no free pty devices')
  t.same(await c.call('list_ptys'), [], 'nothing is listed for the failed spawn')
  const { pty_id: id } = await c.call('spawn_pty', { cwd, rows: 10, cols: 20 })
  c.sendBinary(inputFrame(id, 'ok'))
  await waitForOutput(c, id, s => s === 'OK')
  t.pass('the next spawn works on the same connection')
})
