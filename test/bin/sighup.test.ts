// SIGHUP: the server CLI re-reads server.toml and applies the name, limits and pairing settings
// live, with a real client attached to a real pty the whole time; settings that need a restart
// and settings a flag sets are named in the log; an invalid file is logged and changes nothing.
// Run on a terminal, the same signal from the terminal hanging up stops the server.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { ClaudetteServer } from '../../src/index.js'
import { runCli, SERVER_BIN, startCli } from '../helpers/cli.js'
import { TestClient } from '../helpers/client.js'
import { tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'
import { inputFrame, registeredRepo, waitForOutput } from '../plugins/terminals/_helpers.js'

t.test('SIGHUP renames the server and changes a limit while a terminal stays attached; an invalid file keeps it up', async t => {
  const home = tempHome(t)
  const cli = async (...args: string[]): Promise<void> => {
    const r = await runCli(SERVER_BIN, ['--home', home, ...args])
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
  }
  await cli('config', 'set', 'server.name', 'Before')
  const srv = await startCli(SERVER_BIN, ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--max-connections', '100', '--log-level', 'info'], /Ready for connections/, { env: { SHELL: '/bin/sh' } })
  t.teardown(() => { srv.child.kill('SIGKILL') })
  const port = Number(/listening on wss:\/\/127\.0\.0\.1:(\d+)/.exec(srv.stdout())![1])
  const cs = /claudette:\/\/\S+/.exec(srv.stdout())![0]
  // What TestClient needs of a server: where it listens, its certificate (in the home), its token.
  const server = { port, home, connectionString: cs } as unknown as ClaudetteServer
  const logLines = (): Array<{ msg: string, level: number, [k: string]: unknown }> =>
    srv.stderr().split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l))
  const reloads = (): number => logLines().filter(l => l.msg === 'server.toml reloaded').length
  const hup = async (): Promise<void> => {
    const n = reloads() + logLines().filter(l => l.msg.startsWith('server.toml not reloaded')).length
    srv.child.kill('SIGHUP')
    await waitFor(() => reloads() + logLines().filter(l => l.msg.startsWith('server.toml not reloaded')).length > n, { what: 'the reload to be logged', timeout: 20_000 })
  }

  const c = await TestClient.paired(t, server)
  t.equal((await c.call('server_info')).name, 'Before')
  const { pty_id: ptyId } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
  c.sendBinary(inputFrame(ptyId, 'echo one-$((40+2))\n'))
  await waitForOutput(c, ptyId, s => s.includes('one-42'), 20_000)

  // Live: the name and the per-address cap. Restart-only: the TLS handshake timeout. Set by a flag
  // for this run: the port and max_connections.
  await cli('config', 'set', 'server.name', 'After')
  await cli('config', 'set', 'server.max_connections_per_ip', '2')
  await cli('config', 'set', 'server.port', '7999')
  await cli('config', 'set', 'server.max_connections', '5')
  await cli('config', 'set', 'server.tls_handshake_timeout', '20s')
  await hup()
  t.equal((await c.call('server_info')).name, 'After', 'the same connection sees the new name')
  const from = c.frames.length
  c.sendBinary(inputFrame(ptyId, 'echo two-$((40+3))\n'))
  await waitForOutput(c, ptyId, s => s.includes('two-43'), 20_000, from)
  t.pass('the terminal stayed attached through the reload')
  const log = logLines()
  t.match(log.find(l => l.msg === 'server.toml reloaded'), { applied: ['server.name', 'server.max_connections_per_ip'], restartRequired: ['server.tls_handshake_timeout'], overridden: ['server.port', 'server.max_connections'] })
  t.ok(log.some(l => l.msg === 'server.tls_handshake_timeout changed in server.toml; restart to apply' && l.level === 40), 'a restart-only key is named in a warn line')
  t.ok(log.some(l => l.msg.startsWith('server.max_connections changed in server.toml, but the --max-connections flag')), 'a flag-set key stays as the flag says, and is logged')

  // The per-address cap is now 2: c plus one more; a third connection from 127.0.0.1 is refused.
  const second = await TestClient.connect(t, server)
  t.equal((await second.request('server_info')).error?.code, -1, 'the second connection is let in (and asked to authenticate)')
  const third = await TestClient.connect(t, server)
  t.same(await third.closed, { code: 1013, reason: 'too many connections from this address' }, 'the third is refused')
  t.equal((await c.call('server_info')).name, 'After', 'the first connection is still up')

  // An invalid file: logged, the server keeps running with its settings.
  await cli('config', 'set', 'server.name', 'Never')
  const { readFileSync, writeFileSync } = await import('node:fs')
  const file = join(home, 'server.toml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('max_connections_per_ip = 2', 'max_connections_per_ip = "many"'))
  await hup()
  t.ok(logLines().some(l => l.msg.startsWith('server.toml not reloaded: it is invalid') && l.level === 50 &&
    /max_connections_per_ip must be an integer of at least 1 \(line \d+\)/.test(String((l.err as { message?: string } | undefined)?.message))), 'the error is logged with the key and line')
  t.equal((await c.call('server_info')).name, 'After', 'the old settings stay')
  const from2 = c.frames.length
  c.sendBinary(inputFrame(ptyId, 'echo three-$((40+4))\n'))
  await waitForOutput(c, ptyId, s => s.includes('three-44'), 20_000, from2)
  t.equal(srv.child.exitCode, null, 'still running')
  srv.child.kill('SIGTERM')
  t.equal((await srv.exited).code, 0)
})

t.test('run on a terminal: SIGHUP with the terminal still there reloads; the terminal hanging up stops the server', async t => {
  const { spawn } = await import('@lydell/node-pty')
  const home = tempHome(t)
  const start = async (): Promise<{ pty: ReturnType<typeof spawn>, screen: () => string, exited: Promise<{ exitCode: number, signal?: number }> }> => {
    let text = ''
    const pty = spawn(process.execPath, [SERVER_BIN, '--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--log-format', 'json', '--log-level', 'info'], { cols: 200, rows: 50, env: { ...process.env, SHELL: '/bin/sh' } as Record<string, string> })
    const exited = new Promise<{ exitCode: number, signal?: number }>(resolve => { pty.onExit(e => { resolve(e) }) })
    pty.onData(d => { text += d })
    t.teardown(() => { try { process.kill(pty.pid, 'SIGKILL') } catch { /* gone */ } })
    await waitFor(() => text.includes('Ready for connections'), { what: 'the banner on the terminal', timeout: 60_000 })
    return { pty, screen: () => text, exited }
  }
  const first = await start()
  process.kill(first.pty.pid, 'SIGHUP')
  await waitFor(() => first.screen().includes('server.toml reloaded'), { what: 'a reload, the terminal being still there', timeout: 20_000 })
  let alive = true
  try { process.kill(first.pty.pid, 0) } catch { alive = false }
  t.ok(alive, 'still running after the reload')
  process.kill(first.pty.pid, 'SIGTERM')
  await first.exited

  // Closing the terminal (its master side) hangs it up: the kernel sends SIGHUP, and the server
  // stops instead of reloading into a terminal nobody reads.
  const second = await start()
  const pid = second.pty.pid
  ;(second.pty as unknown as { destroy (): void }).destroy() // closes the master, then sends SIGHUP (node-pty's typings omit it)
  t.ok(existsSync(join(home, 'control.sock')), 'the control socket is there while it runs')
  const end = await second.exited
  await waitFor(() => { try { process.kill(pid, 0); return false } catch { return true } }, { what: 'the server to exit after its terminal hung up', timeout: 30_000 })
  t.equal(end.signal, 1, 'it ended by SIGHUP, as a process whose terminal hung up does (not an abort)')
  t.notOk(existsSync(join(home, 'control.sock')), 'after a clean shutdown: the control socket is removed')
})
