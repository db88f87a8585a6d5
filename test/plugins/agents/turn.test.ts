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
  t.same(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'seq counts up by one, no gap')
  // Exactly what the CLI printed, in its order, with the checkpoint slotted in before the result.
  const label = (e: { event: string, payload: any }): string => e.event === 'agent-stream'
    ? (e.payload.event.Stream?.type === 'stream_event' ? `stream_event/${e.payload.event.Stream.event.type}` : e.payload.event.Stream?.type)
    : e.event
  t.same(all.map(label), [
    'system', 'stream_event/message_start', 'stream_event/content_block_start', 'stream_event/content_block_delta',
    'stream_event/content_block_delta', 'stream_event/content_block_stop', 'stream_event/message_delta', 'stream_event/message_stop',
    'assistant', 'checkpoint-created', 'result',
  ])
  t.equal(all.filter(e => e.event === 'agent-stream').map(e => e.payload.event.Stream.event?.delta?.text).filter(Boolean).join(''), 'Echo: hello there')

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

t.test('a message sent while the previous turn is being checkpointed becomes a complete next turn', async t => {
  const { client, chatId, worktree } = await agentWorld(t)
  // Many untracked files make the checkpoint (git add -A of the worktree) take a while, so the
  // next message reliably arrives between the CLI's `result` line and the result event.
  const { mkdirSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  mkdirSync(join(worktree, 'many'))
  for (let i = 0; i < 1500; i++) writeFileSync(join(worktree, 'many', `f${i}.txt`), `file ${i}\n`)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'write: a.txt hello' })
  await client.waitFor(f => f.json?.payload?.chat_session_id === chatId && f.json.payload.event?.Stream?.type === 'assistant' &&
    f.json.payload.event.Stream.message.content[0]?.text === 'Wrote a.txt', 20_000, from)
  t.same(await client.call('send_chat_message', { chat_session_id: chatId, content: 'second' }), null)
  const { waitResult } = await import('./_helpers.js')
  const r1 = await waitResult(client, chatId, from, 20_000)
  t.equal(r1.event.Stream.result, 'Wrote a.txt')
  const r2 = await client.waitFor(f => f.json?.payload?.chat_session_id === chatId && f.json.payload.event?.Stream?.result === 'Echo: second', 20_000, from)
    .then(f => f.json.payload)
  t.ok(r2.seq > r1.seq)

  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.same(history.map((m: any) => [m.role, m.content]), [['User', 'write: a.txt hello'], ['Assistant', 'Wrote a.txt'], ['User', 'second'], ['Assistant', 'Echo: second']],
    'both turns are persisted')
  // Each turn has its checkpoint, each right before its own result.
  const all = eventsOf(client, chatId)
  const cps = all.filter(e => e.event === 'checkpoint-created').map(e => e.payload.checkpoint)
  t.same(cps.map(c => c.turn_index), [0, 1])
  t.match(cps[0].commit_hash, /^[0-9a-f]{40}$/)
  for (const r of [r1, r2]) {
    const i = all.findIndex(e => e.payload.seq === r.seq)
    t.equal(all[i - 1]!.event, 'checkpoint-created', 'checkpoint-created right before each result')
  }
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.session.turn_count, 2)
  t.equal(snap.live.running, false)
  t.same(snap.live.events, [])
})
