// Parameter handling of the [A] methods: legacy `session_id`, missing values take the reference
// defaults, wrong types are clear validation errors, and the server keeps serving.
import t from 'tap'
import { agentWorld, errorOf } from './_helpers.js'

t.test('bad and missing params', async t => {
  const { client, chatId } = await agentWorld(t)
  t.match(await errorOf(client, 'send_chat_message', { chat_session_id: chatId, content: 42 }), /^Invalid parameter 'content'/)
  t.match(await errorOf(client, 'submit_plan_approval', { chat_session_id: chatId, approved: 'yes' }), /^Invalid parameter 'approved'/)
  t.match(await errorOf(client, 'send_chat_message', { chat_session_id: chatId, mentioned_files: 'a.txt' }), /^Invalid parameter 'mentioned_files'/)
  t.equal(await errorOf(client, 'send_chat_message', {}), 'Chat session not found')
  t.equal(await errorOf(client, 'get_chat_snapshot'), 'Session not found')
  t.equal(await errorOf(client, 'steer_queued_chat_message', { session_id: chatId }), 'Cannot steer an empty message')
  t.same(await client.call('list_chat_sessions'), [])
  t.same(await client.call('refresh_claude_flags'), null)
  t.same(await client.call('get_chat_session', { session_id: chatId }).then((s: any) => s.id), chatId)
  t.ok((await client.call('server_info')).name)
})
