// A crashing agent yields {"ProcessExited": code}; the session stays usable (the next message
// starts a new process that resumes the conversation). A missing executable is a clear error
// and the user message stays saved.
import { join } from 'node:path'
import t from 'tap'
import { agentWorld, errorOf, startsOf, streamOf, turn, waitExit } from './_helpers.js'

t.test('a crash mid-turn yields ProcessExited with the exit code and the session stays usable', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { client, chatId } = await agentWorld(t)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'crash: 3' })
  const exit = await waitExit(client, chatId, from)
  t.same(exit.event, { ProcessExited: 3 })
  const stderr = streamOf(client, chatId).filter(p => 'Stderr' in p.event).map(p => p.event.Stderr)
  t.same(stderr, ['fake claude: crashing on purpose'])
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.session.agent_status, 'Idle')
  t.equal(snap.live.running, false)
  t.same(snap.messages.map((m: any) => m.content), ['crash: 3'])

  const result = await turn(client, chatId, 'still there?')
  t.equal(result.event.Stream.result, 'Echo: still there?')
  const starts = startsOf(argsFile)
  t.equal(starts.length, 2)
  const sid = starts[0]!.argv[starts[0]!.argv.indexOf('--session-id') + 1]
  t.equal(starts[1]!.argv[starts[1]!.argv.indexOf('--resume') + 1], sid, 'the new process resumes the conversation')
})

t.test('an agent that dies at start is reported and the next start begins a fresh conversation', async t => {
  const { client, chatId } = await agentWorld(t)
  process.env.FAKE_CLAUDE_EXIT_CODE = '7'
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'hi' })
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: 7 })
  delete process.env.FAKE_CLAUDE_EXIT_CODE
  t.equal((await turn(client, chatId, 'again')).event.Stream.result, 'Echo: again')
})

t.test('a resumed agent that dies at start keeps the conversation id: the next start resumes it', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE; delete process.env.FAKE_CLAUDE_EXIT_CODE })
  const { client, chatId } = await agentWorld(t)
  await turn(client, chatId, 'one')
  const sid = (await client.call('get_chat_session', { chat_session_id: chatId })).session_id
  t.ok(sid)
  await client.call('stop_agent', { chat_session_id: chatId })
  process.env.FAKE_CLAUDE_EXIT_CODE = '1'
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'two' })
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: 1 })
  t.equal((await client.call('get_chat_session', { chat_session_id: chatId })).session_id, sid, 'a start-up failure says nothing about the conversation')
  delete process.env.FAKE_CLAUDE_EXIT_CODE
  t.equal((await turn(client, chatId, 'three')).event.Stream.result, 'Echo: three')
  const last = startsOf(argsFile).at(-1)!.argv
  t.equal(last[last.indexOf('--resume') + 1], sid, 'the conversation is resumed')
})

t.test('a missing claude executable: a clear error, the message stays saved, nothing crashes', async t => {
  const { client, chatId } = await agentWorld(t, { agents: { claudePath: '/nonexistent/claude' } })
  const msg = await errorOf(client, 'send_chat_message', { chat_session_id: chatId, content: 'hello' })
  t.match(msg, /^Failed to start claude-code agent: \/nonexistent\/claude not found/)
  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.same(history.map((m: any) => [m.role, m.content]), [['User', 'hello']])
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.agent_status, 'Idle')
  t.equal(await errorOf(client, 'steer_queued_chat_message', { chat_session_id: chatId, content: 'x' }), 'Session not found')
})
