// Lifetimes: the idle-detached timeout, SIGHUP then SIGKILL on close_pty and on server close.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CORE, resolve } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { eventually, observe, waitFor } from '../../helpers/wait.js'
import { inputFrame, sameSession, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

// A zombie counts as gone (the container's pid 1 may never reap orphans).
const alive = (pid: number): boolean => {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1')) } catch { return false }
}

t.test('server close sends SIGHUP, then SIGKILL to a child that ignores it', async t => {
  const server = await startServer(t, { terminals: { ...SHELL_OPTS, killTimeoutMs: 300 } })
  const c = await TestClient.paired(t, server)
  const dir = await registeredRepo(t, c)
  const { pty_id: polite } = await c.call('spawn_pty', { cwd: dir })
  const { pty_id: stubborn } = await c.call('spawn_pty', { cwd: dir })
  c.sendBinary(inputFrame(polite, 'echo $$ > polite.pid; echo o""k\n'))
  c.sendBinary(inputFrame(stubborn, "trap '' HUP; echo $$ > stubborn.pid; echo o\"\"k\n"))
  await waitForOutput(c, polite, s => s.includes('ok\r\n'))
  await waitForOutput(c, stubborn, s => s.includes('ok\r\n'))
  const p1 = Number(readFileSync(join(dir, 'polite.pid'), 'utf8'))
  const p2 = Number(readFileSync(join(dir, 'stubborn.pid'), 'utf8'))
  t.ok(alive(p1) && alive(p2))
  const started = Date.now()
  await server.close()
  t.ok(await eventually(() => !alive(p1), { timeout: 1000 }), 'the shell is gone')
  t.ok(await eventually(() => !alive(p2), { timeout: 1000 }), 'the one that ignored SIGHUP was killed')
  t.ok(Date.now() - started < 3000, 'close did not hang')
})

t.test('a detached pty survives until the idle timeout, an attached one does not expire', async t => {
  const server = await startServer(t, { terminals: { shell: '/bin/sh', idleDetachedMs: 1000 } })
  const c = await TestClient.paired(t, server)
  const { pty_id: kept } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
  const { pty_id: dropped } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
  const token = c.sessionToken
  c.ws.terminate()
  // The server has seen the disconnect (and detached both) once it has no connection left.
  await waitFor(() => resolve(server.app.di, CORE.Hub).size === 0, { what: 'the server to see the disconnect' })
  const again = await sameSession(t, server, token)
  t.same((await again.call('list_ptys')).map((p: any) => p.pty_id), [kept, dropped], 'both survive a short disconnect')
  await again.call('attach_pty', { pty_id: kept })
  const listed = async (): Promise<number[]> => (await again.call('list_ptys')).map((p: any) => p.pty_id)
  let ids = await listed()
  await eventually(async () => !(ids = await listed()).includes(dropped), { interval: 100 })
  t.same(ids, [kept], 'the detached one idled out, the attached one did not')
  await observe(1200, 'another idle timeout: the server expires terminals by its own timer, which no request can bring forward')
  t.same(await listed(), [kept], 'and the attached one is still there past another timeout')
})
