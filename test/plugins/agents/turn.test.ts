// A full turn over real WSS with the fake claude: the documented events in the documented order,
// both ids on every agent-stream payload, and the persisted history.
import t from 'tap'
import { agentWorld, streamOf, turn, eventsOf } from './_helpers.js'

t.test('a turn streams events in order and persists the history', async t => {
  const { client, chatId, workspace } = await agentWorld(t)
  const from = client.frames.length
  const res = await client.request('send_chat_message', { chat_session_id: chatId, content: 'hello there' })
  t.same(res.result, null)
  const { waitResult } = await import('./_helpers.js')
  await waitResult(client, chatId, from)
  const stream = streamOf(client, chatId)
  t.ok(stream.length > 5)
  for (const p of stream) {
    t.equal(p.session_id, chatId)
    t.equal(p.chat_session_id, chatId)
    t.equal(p.workspace_id, workspace.id)
  }
  t.same(Object.keys(stream[0]), ['chat_session_id', 'event', 'seq', 'session_id', 'workspace_id'])
  const types = stream.map(p => p.event.Stream?.type)
  t.equal(types[0], 'system')
  t.equal(types.at(-1), 'result')
  t.ok(types.includes('stream_event'))
  t.ok(types.includes('assistant'))
  const init = stream[0].event.Stream
  t.equal(init.subtype, 'init')
  t.ok('command_line' in init && init.command_line === null, 'system fields are always present')
  const all = eventsOf(client, chatId)
  const cpIdx = all.findIndex(e => e.event === 'checkpoint-created')
  const resultIdx = all.findIndex(e => e.event === 'agent-stream' && e.payload.event.Stream?.type === 'result')
  t.ok(cpIdx >= 0 && cpIdx === resultIdx - 1, 'checkpoint-created comes right before the result stream event')
  const seqs = all.map(e => e.payload.seq)
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'seq increases')

  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.same(history.map((m: any) => m.role), ['User', 'Assistant'])
  t.equal(history[0].content, 'hello there')
  t.equal(history[1].content, 'Echo: hello there')
  t.equal(history[1].cost_usd, 0.0123)
  t.type(history[1].duration_ms, 'number')
  t.equal(history[1].output_tokens, 2)

  const snap = await client.call('get_chat_snapshot', { session_id: chatId })
  t.equal(snap.total_count, 2)
  t.equal(snap.session.agent_status, 'Idle')
  t.equal(snap.session.turn_count, 1)
  t.match(snap.session.session_id, /^[0-9a-f-]{36}$/)
  t.match(snap.session.cli_invocation, /^claude .*--input-format stream-json/)

  // A second turn reuses the same process.
  const r2 = await turn(client, chatId, 'again')
  t.equal(r2.event.Stream.result, 'Echo: again')
  t.equal((await client.call('load_chat_history', { chat_session_id: chatId })).length, 4)
})
