// Agents stop cleanly: on server close (every process gone), when their workspace is archived,
// and a slow agent start never stalls another session's RPCs (no global lock across spawns).
import { join } from 'node:path'
import t from 'tap'
import { agentWorld, anotherWorkspace, FAKE_CLAUDE, startsOf, turn, waitResult } from './_helpers.js'

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

t.test('server close stops every agent', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { server, client, chatId, workspace } = await agentWorld(t)
  const other = await anotherWorkspace(client, workspace.repository_id, 'ws-two')
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 60000' })
  await client.call('send_chat_message', { chat_session_id: other.chatId, content: 'ask: waiting forever?' })
  await client.event('agent-permission-prompt')
  // The two fakes start independently: wait until both have recorded their start.
  for (let i = 0; i < 200 && startsOf(argsFile).length < 2; i++) await new Promise(resolve => setTimeout(resolve, 50))
  const pids = startsOf(argsFile).map(s => s.pid)
  t.equal(pids.length, 2)
  t.ok(pids.every(alive))
  const started = Date.now()
  await server.close()
  t.ok(Date.now() - started < 15_000, 'close does not hang')
  t.ok(pids.every(pid => !alive(pid)), 'no agent process survives')
})

t.test('archiving a workspace stops its agents', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { client, chatId, workspace } = await agentWorld(t)
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 60000' })
  await client.waitFor(f => f.json?.payload?.event?.Stream?.subtype === 'init')
  const [start] = startsOf(argsFile)
  await client.call('archive_workspace', { workspace_id: workspace.id })
  t.notOk(alive(start!.pid))
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.agent_status, 'Idle')
})

t.test('a slow agent start does not stall RPCs or turns of other sessions', async t => {
  // Ordering, not wall-clock bounds: the machine running the tests may be loaded.
  const { client, chatId, workspace } = await agentWorld(t, {
    agents: { commands: [{ kind: 'slow', command: FAKE_CLAUDE, env: { FAKE_CLAUDE_START_DELAY_MS: '8000' } }] },
  })
  const fast = await anotherWorkspace(client, workspace.repository_id, 'fast-ws')
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'hello slow', backend_id: 'slow' })
  t.notOk(client.frames.slice(from).some(f => f.json?.payload?.chat_session_id === chatId), 'send_chat_message answered before the slow agent said anything')
  t.equal((await turn(client, fast.chatId, 'quick')).event.Stream.result, 'Echo: quick')
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.session.agent_status, 'Running')
  t.same(snap.live.events, [], 'the slow agent is still starting while the other session finished a turn')
  t.equal((await waitResult(client, chatId, from, 30_000)).event.Stream.result, 'Echo: hello slow')
})
