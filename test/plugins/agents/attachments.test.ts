// get_chat_snapshot's attachments: metadata for the page's messages, text bodies inlined under
// the reference's limits, and the previous user message's agent attachments when a page starts
// mid-turn. (No wire method creates attachments yet; the store is the plugin's own API.)
import t from 'tap'
import { AGENTS, resolve } from '../../../src/index.js'
import { agentWorld, turn } from './_helpers.js'

t.test('attachments in snapshots', async t => {
  const { server, client, chatId } = await agentWorld(t)
  await turn(client, chatId, 'hello')
  const store = resolve(server.app.di, AGENTS.Store)
  const [user, assistant] = await client.call('load_chat_history', { chat_session_id: chatId })
  store.addAttachment({ message_id: user.id, filename: 'notes.md', media_type: 'text/markdown', data: Buffer.from('# notes\n') })
  store.addAttachment({ message_id: user.id, filename: 'pic.png', media_type: 'image/png', data: Buffer.from([0x89, 0x50]), width: 2, height: 1 })
  store.addAttachment({ message_id: user.id, filename: 'out.json', media_type: 'application/json', data: Buffer.from('{"a":1}'), origin: 'agent', tool_use_id: 'toolu_1' })
  store.addAttachment({ message_id: user.id, filename: 'bad.txt', media_type: 'text/plain', data: Buffer.from([0xff, 0xfe]) })
  store.addAttachment({ message_id: user.id, filename: 'big.txt', media_type: 'text/plain', data: Buffer.alloc(17 * 1024, 'a') })

  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  const byName = Object.fromEntries(snap.attachments.map((a: any) => [a.filename, a]))
  t.same(Object.keys(snap.attachments[0]), ['created_at', 'filename', 'height', 'id', 'media_type', 'message_id', 'origin', 'size_bytes', 'text_content', 'tool_use_id', 'width'])
  t.equal(byName['notes.md'].text_content, '# notes\n')
  t.equal(byName['pic.png'].text_content, null)
  t.match(byName['pic.png'], { width: 2, height: 1, size_bytes: 2, origin: 'user' })
  t.equal(byName['out.json'].text_content, '{"a":1}')
  t.equal(byName['bad.txt'].text_content, null, 'invalid UTF-8 is not inlined')
  t.equal(byName['big.txt'].text_content, null, 'over 16 KiB is not inlined')

  // A page that starts with the assistant message carries the previous user message's agent attachments only.
  const page = await client.call('get_chat_snapshot', { chat_session_id: chatId, limit: 1 })
  t.same(page.messages.map((m: any) => m.id), [assistant.id])
  t.same(page.attachments.map((a: any) => a.filename), ['out.json'])
})
