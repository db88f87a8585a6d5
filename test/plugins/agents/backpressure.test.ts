// A client that stops reading does not make the server buffer agent output without bound: past
// maxBufferedBytes it gets no agent events, sees a seq gap once it reads again, and recovers the
// history with get_chat_snapshot. Other clients get everything.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { agentWorld, eventsOf, waitResult } from './_helpers.js'

t.test('a stalled connection is skipped, then recovers through the snapshot', async t => {
  const { server, client: reader, chatId } = await agentWorld(t, { agents: { maxBufferedBytes: 1024 * 1024 } })
  const stalled = await TestClient.paired(t, server, 'stalled')
  const socket = (stalled.ws as any)._socket
  socket.pause()
  // Paced output (~4 MB/s) that the reading client keeps up with, 20 MB in all: more than the
  // kernel's socket buffers of the stalled connection absorb.
  process.env.FAKE_CLAUDE_DELTA_MS = '1'
  t.teardown(() => { delete process.env.FAKE_CLAUDE_DELTA_MS })
  const from = reader.frames.length
  await reader.call('send_chat_message', { chat_session_id: chatId, content: 'long: 5000 4000' })
  await waitResult(reader, chatId, from, 60_000)
  const all = eventsOf(reader, chatId)
  const first = all[0]!.payload.seq
  t.same(all.map(e => e.payload.seq), Array.from({ length: all.length }, (_, i) => first + i), 'the reading client got every event')

  socket.resume()
  await reader.call('server_info')
  // Whatever the stalled client got has a gap; the snapshot gives it the saved turn.
  await stalled.call('server_info')
  const got = eventsOf(stalled, chatId).map(e => e.payload.seq)
  t.ok(got.length < all.length, `the stalled client missed events (${got.length} of ${all.length})`)
  const snap = await stalled.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.messages.at(-1).content.length, 20_000_000)
})
