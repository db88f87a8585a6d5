// Chat sessions: create/list/get/rename/archive with the reference shapes and messages, snapshot
// paging, and load_initial_data's last_messages.
import t from 'tap'
import { agentWorld, errorOf, turn } from './_helpers.js'

const SESSION_KEYS = ['agent_status', 'archived_at', 'attention_kind', 'cli_invocation', 'created_at', 'id', 'name', 'name_edited',
  'needs_attention', 'session_id', 'sort_order', 'status', 'turn_count', 'workspace_id']

t.test('create, list, get, rename, archive', async t => {
  const { client, chatId, workspace } = await agentWorld(t)
  const first = await client.call('get_chat_session', { chat_session_id: chatId })
  t.same(Object.keys(first), SESSION_KEYS)
  t.match(first, { name: 'New chat', status: 'Active', turn_count: 0, agent_status: 'Idle', needs_attention: false, workspace_id: workspace.id })

  const second = await client.call('create_chat_session', { workspace_id: workspace.id })
  t.match(second, { name: 'New chat', status: 'Active', turn_count: 0, sort_order: first.sort_order + 1, name_edited: false })
  t.equal(await errorOf(client, 'create_chat_session', { workspace_id: 'nope' }), 'Workspace not found')
  t.same((await client.call('list_chat_sessions', { workspace_id: workspace.id })).map((s: any) => s.id), [chatId, second.id])

  t.equal(await errorOf(client, 'rename_chat_session', { chat_session_id: second.id, name: '   ' }), 'Name cannot be empty')
  t.equal(await errorOf(client, 'rename_chat_session', { chat_session_id: 'nope', name: 'x' }), 'Session not found')
  t.same(await client.call('rename_chat_session', { session_id: second.id, name: `  ${'n'.repeat(80)}  ` }), null)
  const renamed = await client.call('get_chat_session', { chat_session_id: second.id })
  t.equal(renamed.name, 'n'.repeat(60))
  t.equal(renamed.name_edited, true)

  t.equal(await errorOf(client, 'get_chat_session', { chat_session_id: 'nope' }), 'Session not found')
  t.equal(await errorOf(client, 'archive_chat_session', { chat_session_id: 'nope' }), 'Session not found')
  t.same(await client.call('archive_chat_session', { chat_session_id: chatId }), null, 'another active session remains')
  t.same((await client.call('list_chat_sessions', { workspace_id: workspace.id })).map((s: any) => s.id), [second.id])
  const all = await client.call('list_chat_sessions', { workspace_id: workspace.id, include_archived: true })
  t.same(all.map((s: any) => [s.id, s.status]), [[second.id, 'Active'], [chatId, 'Archived']])
  t.match(all[1].archived_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
  // Archiving the last active session creates a fresh one.
  const fresh = await client.call('archive_chat_session', { chat_session_id: second.id })
  t.match(fresh, { name: 'New chat', status: 'Active', workspace_id: workspace.id })
  t.same((await client.call('list_chat_sessions', { workspace_id: workspace.id })).map((s: any) => s.id), [fresh.id])
  t.same(await client.call('load_chat_history', { chat_session_id: 'unknown' }), [])
  t.same(await client.call('load_completed_turns', { chat_session_id: 'unknown' }), [])
})

t.test('archiving a chat session stops its running agent', async t => {
  const { client, chatId, workspace } = await agentWorld(t)
  await client.call('create_chat_session', { workspace_id: workspace.id })
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 5000' })
  await client.waitFor(f => f.json?.payload?.event?.Stream?.subtype === 'init')
  await client.call('archive_chat_session', { chat_session_id: chatId })
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.session.agent_status, 'Idle')
  t.equal(snap.session.status, 'Archived')
})

t.test('get_chat_snapshot pages with limit and before_message_id', async t => {
  const { client, chatId, workspace } = await agentWorld(t)
  for (let i = 0; i < 3; i++) await turn(client, chatId, `m${i}`)
  const full = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(full.total_count, 6)
  t.equal(full.has_more, false)
  t.same(full.messages.map((m: any) => m.content), ['m0', 'Echo: m0', 'm1', 'Echo: m1', 'm2', 'Echo: m2'])
  t.same(Object.keys(full), ['attachments', 'completed_turns', 'has_more', 'live', 'messages', 'pending_controls', 'session', 'total_count'])
  const page = await client.call('get_chat_snapshot', { chat_session_id: chatId, limit: 2 })
  t.same(page.messages.map((m: any) => m.content), ['m2', 'Echo: m2'])
  t.equal(page.has_more, true)
  const older = await client.call('get_chat_snapshot', { chat_session_id: chatId, limit: 3, beforeMessageId: page.messages[0].id })
  t.same(older.messages.map((m: any) => m.content), ['Echo: m0', 'm1', 'Echo: m1'])
  t.equal(older.has_more, true)
  const oldest = await client.call('get_chat_snapshot', { chat_session_id: chatId, limit: 'x', before_message_id: older.messages[0].id })
  t.same(oldest.messages.map((m: any) => m.content), ['m0'])
  t.equal(oldest.has_more, false)
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId, limit: 0 })).messages.length, 1, 'limit clamps to 1')
  t.equal(await errorOf(client, 'get_chat_snapshot', { chat_session_id: 'nope' }), 'Session not found')

  const initial = await client.call('load_initial_data', {})
  t.same(initial.last_messages.map((m: any) => [m.workspace_id, m.content]), [[workspace.id, 'Echo: m2']])
})
