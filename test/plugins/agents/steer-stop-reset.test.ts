// The steer queue, stop_agent and reset_agent_session, with the reference messages.
import { join } from 'node:path'
import t from 'tap'
import { agentWorld, errorOf, startsOf, turn, waitExit, waitResult } from './_helpers.js'

t.test('steer: validation, queueing during a turn, dispatch after the result', async t => {
  const { client, chatId } = await agentWorld(t)
  t.equal(await errorOf(client, 'steer_queued_chat_message', { chat_session_id: chatId, content: '   ' }), 'Cannot steer an empty message')
  t.equal(await errorOf(client, 'steer_queued_chat_message', { chat_session_id: chatId, content: 'x' }), 'Session not found')
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 1500' })
  t.same(await client.call('steer_queued_chat_message', { chat_session_id: chatId, content: 'first steer' }), { queue_depth: 1, queued: true })
  t.same(await client.call('steer_queued_chat_message', { chat_session_id: chatId, content: 'second steer' }), { queue_depth: 2, queued: true })
  // A send while the turn runs waits in the same queue.
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'third via send' })
  const r1 = await waitResult(client, chatId, from)
  t.equal(r1.event.Stream.result, 'Slept')
  const r2 = await waitResult(client, chatId, client.frames.indexOf(client.frames.find(f => f.json?.payload === r1) ?? client.frames[from]!) + 1)
  t.equal(r2.event.Stream.result, 'Echo: first steer')
  await client.waitFor(f => f.json?.payload?.event?.Stream?.result === 'Echo: third via send')
  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.same(history.filter((m: any) => m.role === 'User').map((m: any) => m.content), ['sleep: 1500', 'third via send', 'first steer', 'second steer'])
  t.same(history.filter((m: any) => m.role === 'Assistant').map((m: any) => m.content), ['Slept', 'Echo: first steer', 'Echo: second steer', 'Echo: third via send'])
})

t.test('stop_agent: kills the turn, drops prompts and queue, saves "Agent stopped" even when idle', async t => {
  const { client, chatId } = await agentWorld(t)
  t.equal(await errorOf(client, 'stop_agent', { chat_session_id: 'nope' }), 'Chat session not found')
  t.same(await client.call('stop_agent', { chat_session_id: chatId }), null)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'ask: hold on' })
  await client.event('agent-permission-prompt')
  await client.call('steer_queued_chat_message', { chat_session_id: chatId, content: 'never runs' })
  t.same(await client.call('stop_agent', { chat_session_id: chatId }), null)
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: null })
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.same(snap.pending_controls, [])
  t.equal(snap.session.agent_status, 'Idle')
  t.same(snap.messages.map((m: any) => [m.role, m.content]), [['System', 'Agent stopped'], ['User', 'ask: hold on'], ['System', 'Agent stopped']])
  t.equal(await errorOf(client, 'submit_agent_answer', { chat_session_id: chatId, tool_use_id: 'x' }), 'Session not found')
  // Usable again.
  t.equal((await turn(client, chatId, 'back')).event.Stream.result, 'Echo: back')
  // A queued message that survived the stop would have started when the agent exited, so this
  // turn would have waited behind it: its result would have come first.
  t.notOk(client.frames.some(f => f.json?.payload?.event?.Stream?.result === 'Echo: never runs'))
})

t.test('stop_agent reports {"ProcessExited": null} also when the agent exits 143 on SIGTERM (as Claude Code does)', async t => {
  process.env.FAKE_CLAUDE_SIGTERM_EXIT_CODE = '143'
  t.teardown(() => { delete process.env.FAKE_CLAUDE_SIGTERM_EXIT_CODE })
  const { client, chatId } = await agentWorld(t)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 30000' })
  await client.waitFor(f => f.json?.payload?.chat_session_id === chatId && f.json.payload.event?.Stream?.subtype === 'init', 10_000, from)
  await client.call('stop_agent', { chat_session_id: chatId })
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: null })
})

t.test('reset_agent_session: always null; the next turn starts a new conversation', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { client, chatId } = await agentWorld(t)
  t.same(await client.call('reset_agent_session', { chat_session_id: 'unknown' }), null)
  t.same(await client.call('reset_agent_session', {}), null)
  await turn(client, chatId, 'one')
  const before = (await client.call('get_chat_session', { chat_session_id: chatId })).session_id
  t.same(await client.call('reset_agent_session', { chat_session_id: chatId }), null)
  t.equal((await client.call('get_chat_session', { chat_session_id: chatId })).session_id, null)
  await turn(client, chatId, 'two')
  const starts = startsOf(argsFile)
  t.equal(starts.length, 2)
  t.ok(starts[1]!.argv.includes('--session-id'))
  t.notOk(starts[1]!.argv.includes('--resume'))
  t.not(starts[1]!.argv[starts[1]!.argv.indexOf('--session-id') + 1], before)
})

t.test('steer while the agent is idle runs the message at once', async t => {
  const { client, chatId } = await agentWorld(t)
  await turn(client, chatId, 'first')
  const from = client.frames.length
  t.same(await client.call('steer_queued_chat_message', { chat_session_id: chatId, content: 'steered' }), { queue_depth: 1, queued: true })
  t.equal((await waitResult(client, chatId, from)).event.Stream.result, 'Echo: steered')
})

t.test('a queued message whose agent cannot start is reported to every device', async t => {
  const { client, chatId } = await agentWorld(t, { agents: { commands: [{ kind: 'broken', command: '/nonexistent/agent' }] } })
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 800' })
  // Queued during the turn; its provider differs, so it needs a new process, which fails.
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'next one', backend_id: 'broken' })
  const err = await client.waitFor(f => f.json?.payload?.chat_session_id === chatId && typeof f.json.payload.event?.Stderr === 'string' &&
    f.json.payload.event.Stderr.startsWith('Queued message not sent:'), 10_000, from).then(f => f.json.payload.event.Stderr)
  t.match(err, /Failed to start broken agent: \/nonexistent\/agent not found/)
  t.same((await client.call('load_chat_history', { chat_session_id: chatId })).map((m: any) => m.content), ['sleep: 800', 'next one', 'Slept'])
  t.equal((await turn(client, chatId, 'ok again')).event.Stream.result, 'Echo: ok again', 'the session is usable')
})
