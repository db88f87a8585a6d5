// The audit events in the JSON log of a real server, through a whole flow: pairing, a second
// connection, a terminal, an agent (the fake `claude`), revocations over the wire and from the
// CLI's side (another database connection), a lockout. Each line has its stable `audit` field, the
// device and the address, and no token appears anywhere in the log.
import { Writable } from 'node:stream'
import t from 'tap'
import { openAdmin } from '../../src/index.js'
import { makeRepo, turn, waitExit } from '../plugins/agents/_helpers.js'
import { SHELL_OPTS, sameSession } from '../plugins/terminals/_helpers.js'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

/** Collects a server's log lines, parsed. */
class JsonLog {
  text = ''
  readonly stream = new Writable({ write: (chunk: Buffer, _enc, cb) => { this.text += chunk.toString(); cb() } })
  get lines (): Array<Record<string, any>> { return this.text.split('\n').filter(l => l !== '').map(l => JSON.parse(l)) }
  audit (name: string): Array<Record<string, any>> { return this.lines.filter(l => l.audit === name) }
}

t.test('audit events: what happened, to which device, from where; never a token', async t => {
  const log = new JsonLog()
  const server = await startServer(t, { logLevel: 'info', logStream: log.stream, terminals: SHELL_OPTS, auth: { maxFailuresPerIp: 3 } })
  const secrets: string[] = [pairingToken(server)]

  // paired, then authenticated (a second connection of the same device)
  const laptop = await TestClient.paired(t, server, 'laptop')
  secrets.push(laptop.sessionToken)
  const sessions = await laptop.call('list_sessions')
  const laptopId = sessions.find((s: any) => s.name === 'laptop').id
  await sameSession(t, server, laptop.sessionToken)
  t.match(log.audit('paired'), [{ level: 30, sessionId: laptopId, device: 'laptop', remoteAddress: '127.0.0.1' }])
  t.match(log.audit('authenticated'), [{ level: 30, sessionId: laptopId, device: 'laptop', remoteAddress: '127.0.0.1' }])

  // a terminal opened and closed (its exit code)
  const repo = await laptop.call('add_repository', { path: makeRepo(t) })
  const { workspace, default_session_id: chatId } = await laptop.call('create_workspace', { repository_id: repo.id, name: 'audit' })
  const { pty_id: ptyId } = await laptop.call('spawn_pty', { workspace_id: workspace.id, cols: 80, rows: 24 })
  await laptop.call('write_pty', { pty_id: ptyId, data: [...Buffer.from('exit 3\n')] })
  await laptop.waitFor(f => f.json?.event === 'pty-exit' && f.json.payload.pty_id === ptyId)
  await waitFor(() => log.audit('terminal_closed').length === 1, { what: 'terminal_closed' })
  t.match(log.audit('terminal_opened'), [{ level: 30, ptyId, workspaceId: workspace.id, sessionId: laptopId, device: 'laptop', remoteAddress: '127.0.0.1' }])
  t.match(log.audit('terminal_closed'), [{ level: 30, ptyId, workspaceId: workspace.id, sessionId: laptopId, device: 'laptop', exitCode: 3, reason: 'exited' }])

  // an agent started by a turn, stopped by stop_agent
  const from = laptop.frames.length
  await turn(laptop, chatId, 'hello')
  await laptop.call('stop_agent', { chat_session_id: chatId })
  await waitExit(laptop, chatId, from)
  await waitFor(() => log.audit('agent_stopped').length === 1, { what: 'agent_stopped' })
  t.match(log.audit('agent_started'), [{ level: 30, chatSessionId: chatId, workspaceId: workspace.id, kind: 'claude-code', sessionId: laptopId, device: 'laptop', remoteAddress: '127.0.0.1' }])
  t.match(log.audit('agent_stopped'), [{ level: 30, chatSessionId: chatId, workspaceId: workspace.id, reason: 'stopped', sessionId: laptopId, device: 'laptop' }])

  // revoked over the wire by another device, and from the CLI (another process's database connection)
  const phone = await TestClient.paired(t, server, 'phone')
  const tablet = await TestClient.paired(t, server, 'tablet')
  secrets.push(phone.sessionToken, tablet.sessionToken)
  const ids = Object.fromEntries((await laptop.call('list_sessions')).map((s: any) => [s.name, s.id]))
  await laptop.call('revoke_session', { session_id: ids.phone })
  await phone.closed
  const admin = await openAdmin({ home: server.home })
  try { admin.sessions.revoke(ids.tablet) } finally { admin.close() }
  await tablet.closed
  await waitFor(() => log.audit('revoked').length === 2, { what: 'two revoked lines' })
  t.match(log.audit('revoked'), [
    { level: 30, sessionId: ids.phone, device: 'phone', by: 'device', bySessionId: laptopId, byDevice: 'laptop', remoteAddress: '127.0.0.1' },
    { level: 30, sessionId: ids.tablet, device: 'tablet', by: 'cli' },
  ])

  // locked out after maxFailuresPerIp failures
  const intruder = await TestClient.connect(t, server)
  for (let i = 0; i < 3; i++) await intruder.request('authenticate', { pairing_token: 'x'.repeat(43) })
  await waitFor(() => log.audit('locked_out').length === 1, { what: 'locked_out' })
  t.match(log.audit('locked_out'), [{ level: 40, remoteAddress: '127.0.0.1' }])

  // No token, and no token-like field, in any line.
  for (const s of secrets) t.notOk(log.text.includes(s), 'no token in the log')
  for (const l of log.lines.filter(l => l.audit)) t.notMatch(Object.keys(l).join(' '), /token|hash/i, `${l.audit}: no token field`)
})
