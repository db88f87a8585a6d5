// `status` over the control channel reports the live figures: two devices online, three
// terminals, one agent running, the real address and port, this process's pid.
import t from 'tap'
import { serverStatus, VERSION } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { waitFor } from '../../helpers/wait.js'
import { agentWorld } from '../agents/_helpers.js'
import { SHELL_OPTS } from '../terminals/_helpers.js'

t.test('status --json figures match what the test set up', async t => {
  const { server, client, chatId, worktree } = await agentWorld(t, { terminals: SHELL_OPTS })
  const tablet = await TestClient.paired(t, server, 'tablet')
  // A second connection of the first device: one more connection, not one more device.
  // (agentWorld's client is TestClient.paired's, which carries its session token.)
  const sessionToken = (client as TestClient & { sessionToken: string }).sessionToken
  await TestClient.connect(t, server).then(c => c.request('authenticate', { session_token: sessionToken }))
  await TestClient.connect(t, server) // not authenticated: a connection, no device
  await client.call('spawn_pty', { cwd: worktree })
  await client.call('spawn_pty', { cwd: worktree })
  await tablet.call('spawn_pty', { cwd: worktree })
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 60000' })

  const status = await waitFor(async () => {
    const s = await serverStatus({ home: server.home })
    return s !== null && s.agents_running === 1 ? s : null
  }, { what: 'the agent to be counted' })
  t.same(Object.keys(status), ['version', 'pid', 'uptime_s', 'listen', 'fingerprint', 'devices_online', 'connections', 'terminals', 'agents_running', 'rss_bytes'], 'exactly the documented keys')
  t.equal(status.version, VERSION)
  t.equal(status.pid, process.pid)
  t.same(status.listen, { address: '127.0.0.1', port: server.port })
  t.equal(status.fingerprint, server.fingerprint)
  t.equal(status.devices_online, 2)
  t.equal(status.connections, 4)
  t.equal(status.terminals, 3)
  t.equal(status.agents_running, 1)
  t.ok(Number.isInteger(status.uptime_s) && status.uptime_s >= 0)
  t.ok(status.rss_bytes > 10 * 1024 * 1024, 'rss is this process\'s resident size')

  tablet.ws.close()
  await tablet.closed
  const after = await waitFor(async () => {
    const s = await serverStatus({ home: server.home })
    return s !== null && s.devices_online === 1 ? s : null
  }, { what: 'the tablet to go offline' })
  t.equal(after.terminals, 3, 'terminals persist across a disconnect')
  t.equal(after.connections, 3)
})
