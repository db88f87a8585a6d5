// Broadcast and recovery: every authenticated connection gets the events; a client that drops
// mid-turn and reconnects rebuilds exactly the uninterrupted stream from get_chat_snapshot's
// `live` part plus the live events after `live.seq`; a running agent survives its starter leaving.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { agentWorld, eventsOf, waitResult } from './_helpers.js'

async function reconnect (t: any, server: any, sessionToken: string): Promise<TestClient> {
  const c = await TestClient.connect(t, server)
  const res = await c.request('authenticate', { session_token: sessionToken })
  if (res.error) throw new Error(res.error.message)
  return c
}

t.test('disconnect mid-turn, reconnect: snapshot plus live events equal the uninterrupted stream', async t => {
  const { server, client: a, chatId } = await agentWorld(t)
  const b = await TestClient.paired(t, server, 'laptop')
  const from = a.frames.length
  await a.call('send_chat_message', { chat_session_id: chatId, content: 'chatty: 80 15' })
  // b sees the turn start, then drops in the middle of it.
  await b.waitFor(f => f.json?.payload?.event?.Stream?.event?.delta?.text === 'chunk 10 ')
  b.ws.terminate()
  // The turn goes on while b is away (a sees it), so b2 has events to rebuild.
  await a.waitFor(f => f.json?.payload?.event?.Stream?.event?.delta?.text === 'chunk 13 ', 5000, from)
  const b2 = await reconnect(t, server, b.sessionToken)
  const snap = await b2.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.live.running, true)
  t.equal(snap.live.complete, true)
  t.equal(snap.session.agent_status, 'Running')
  t.ok(snap.live.events.length > 10)
  t.equal(snap.live.events.at(-1).payload.seq, snap.live.seq)
  const turnMsg = snap.messages.find((m: any) => m.id === snap.live.turn_message_id)
  t.same([turnMsg?.role, turnMsg?.content], ['User', 'chatty: 80 15'], 'live.turn_message_id names the running turn\'s user message')
  await waitResult(b2, chatId)
  await waitResult(a, chatId, from)

  const rebuilt = [...snap.live.events, ...eventsOf(b2, chatId).filter(e => e.payload.seq > snap.live.seq)]
  const firstSeq = snap.live.events[0].payload.seq
  const uninterrupted = eventsOf(a, chatId).filter(e => e.payload.seq >= firstSeq)
  t.equal(uninterrupted[0]!.payload.event.Stream.subtype, 'init', 'the live part starts with the turn')
  t.same(rebuilt, uninterrupted)
  const seqs = rebuilt.map(e => e.payload.seq)
  t.same(seqs, Array.from({ length: seqs.length }, (_, i) => firstSeq + i), 'no gap, no duplicate')
  // After the turn the live part is empty again and the history holds the turn.
  const after = await b2.call('get_chat_snapshot', { chat_session_id: chatId })
  t.same(after.live.events, [])
  t.equal(after.live.running, false)
  t.equal(after.live.turn_message_id, null)
  t.equal(after.messages.at(-1).content, 'chatty done 80')
})

t.test('a running agent survives the disconnect of the client that started it', async t => {
  const { server, client: a, chatId } = await agentWorld(t)
  const b = await TestClient.paired(t, server, 'phone')
  await a.call('send_chat_message', { chat_session_id: chatId, content: 'chatty: 20 20' })
  await b.waitFor(f => f.json?.payload?.event?.Stream?.type === 'stream_event')
  a.ws.terminate()
  const result = await waitResult(b, chatId)
  t.equal(result.event.Stream.result, 'chatty done 20')
  t.equal((await b.call('load_chat_history', { chat_session_id: chatId })).at(-1).content, 'chatty done 20')
})

t.test('the live part is bounded: past liveBufferBytes it reports complete=false', async t => {
  const { client, chatId } = await agentWorld(t, { agents: { liveBufferBytes: 2000 } })
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'chatty: 40 20' })
  await client.waitFor(f => f.json?.payload?.event?.Stream?.event?.delta?.text === 'chunk 30 ')
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.live.complete, false)
  t.same(snap.live.events, [])
  await waitResult(client, chatId)
})
