// Permission prompts: agent-permission-prompt comes before the matching stream event, any device
// can answer it, and the submit_* methods answer with the reference validation messages.
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { agentWorld, errorOf, eventsOf, startsOf, waitExit, waitResult } from './_helpers.js'

t.test('an AskUserQuestion prompt answered from a second connection reaches the agent', async t => {
  const { server, client: a, chatId, workspace } = await agentWorld(t)
  const b = await TestClient.paired(t, server, 'phone')
  const fromA = a.frames.length
  await a.call('send_chat_message', { chat_session_id: chatId, content: 'ask: Which colour?' })
  const prompt = await b.event('agent-permission-prompt', p => p.chat_session_id === chatId)
  t.equal(prompt.tool_name, 'AskUserQuestion')
  t.equal(prompt.workspace_id, workspace.id)
  t.match(prompt.tool_use_id, /^toolu_/)
  t.equal(prompt.input.questions[0].question, 'Which colour?')
  t.same(Object.keys(prompt), ['chat_session_id', 'input', 'request_id', 'seq', 'session_id', 'tool_name', 'tool_use_id', 'workspace_id'])
  t.equal(prompt.session_id, chatId, 'both ids, as on agent-stream')

  // The prompt precedes the agent-stream event carrying the same control_request, on both connections.
  for (const c of [a, b]) {
    await c.waitFor(f => f.json?.payload?.event?.Stream?.type === 'control_request')
    const evs = eventsOf(c, chatId)
    const pi = evs.findIndex(e => e.event === 'agent-permission-prompt')
    const si = evs.findIndex(e => e.event === 'agent-stream' && e.payload.event.Stream?.type === 'control_request')
    t.ok(pi >= 0 && si === pi + 1, 'prompt right before its stream event')
    t.equal(evs[si]!.payload.event.Stream.request.tool_use_id, prompt.tool_use_id)
    t.equal(evs[si]!.payload.event.Stream.request_id, prompt.request_id)
  }

  const snap = await b.call('get_chat_snapshot', { chat_session_id: chatId })
  t.same(snap.pending_controls, [{ input: prompt.input, kind: 'ask_user_question', tool_name: 'AskUserQuestion', tool_use_id: prompt.tool_use_id }])
  t.equal(snap.session.needs_attention, true)
  t.equal(snap.session.attention_kind, 'Ask')
  t.equal(snap.session.agent_status, 'Running')

  // Wrong handler for this tool, unknown tool_use_id: reference texts.
  t.equal(await errorOf(b, 'submit_plan_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: true }),
    `Pending tool for ${prompt.tool_use_id} is AskUserQuestion, not an approval request accepted by this handler`)
  t.equal(await errorOf(b, 'submit_agent_answer', { chat_session_id: chatId, tool_use_id: 'nope', answers: {} }),
    `No pending permission request for tool_use_id nope (pending: ["${prompt.tool_use_id}"])`)
  t.equal(await errorOf(b, 'submit_agent_answer', { chat_session_id: 'no-such', tool_use_id: 'x' }), 'Session not found')

  t.same(await b.call('submit_agent_answer', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, answers: { 'Which colour?': 'A' } }), null)
  const resolved = await a.event('agent-permission-resolved', p => p.chat_session_id === chatId)
  t.equal(resolved.tool_use_id, prompt.tool_use_id)
  t.same(Object.keys(resolved), ['behavior', 'chat_session_id', 'seq', 'session_id', 'tool_use_id', 'workspace_id'])
  t.equal(resolved.behavior, 'allow')
  const result = await waitResult(a, chatId, fromA)
  t.equal(result.event.Stream.result, 'Answered: {"Which colour?":"A"}')
  t.same((await a.call('get_chat_snapshot', { chat_session_id: chatId })).pending_controls, [])
  // Answered once: a second answer finds nothing pending.
  t.match(await errorOf(a, 'submit_agent_answer', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id }), /^No pending permission request/)
})

t.test('plan approval: deny with the reference text, then approve', async t => {
  const { client, chatId } = await agentWorld(t)
  let from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'plan: refactor', plan_mode: true })
  let prompt = await client.event('agent-permission-prompt', p => p.tool_name === 'ExitPlanMode')
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.attention_kind, 'Plan')
  t.equal(await errorOf(client, 'submit_agent_answer', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, answers: {} }),
    `Pending tool for ${prompt.tool_use_id} is ExitPlanMode, not AskUserQuestion`)
  await client.call('submit_plan_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: false })
  let result = await waitResult(client, chatId, from)
  t.equal(result.event.Stream.result, 'Plan denied: Plan denied. Please revise the approach.\n\nRevise the plan to address this feedback, then call ExitPlanMode again to present the updated plan for approval. Do not begin implementation until the user approves the revised plan.')

  from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'plan: again', plan_mode: true })
  prompt = await client.waitFor(f => f.json?.event === 'agent-permission-prompt', 5000, from).then(f => f.json.payload)
  await client.call('submit_agent_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: true })
  result = await waitResult(client, chatId, from)
  t.equal(result.event.Stream.result, 'Plan approved', 'approved as presented: no updatedInput, so the agent is not told the plan was edited')
})

t.test('under the default (safe) level a Bash call is asked and can be denied or allowed', async t => {
  // agentUid: agents run as a normal user, so "full" is allowed (a root server refuses it, see flags.test.ts).
  const { client, chatId } = await agentWorld(t, { agents: { agentUid: 1000 } })
  let from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'bash: rm -rf build' })
  let prompt = await client.event('agent-permission-prompt', p => p.tool_name === 'Bash')
  t.same(prompt.input, { command: 'rm -rf build' })
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).pending_controls[0].kind, 'unknown')
  await client.call('submit_agent_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: false, reason: 'not now' })
  t.equal((await waitResult(client, chatId, from)).event.Stream.result, 'Denied: not now')

  from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'bash: ls' })
  prompt = await client.waitFor(f => f.json?.event === 'agent-permission-prompt', 5000, from).then(f => f.json.payload)
  await client.call('submit_agent_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: true })
  t.equal((await waitResult(client, chatId, from)).event.Stream.result, 'Ran: ls')

  // permission_level "full" is bypassPermissions: nothing is asked.
  from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'bash: ls -la', permission_level: 'full' })
  t.equal((await waitResult(client, chatId, from)).event.Stream.result, 'Ran: ls -la')
  t.notOk(client.frames.slice(from).some(f => f.json?.event === 'agent-permission-prompt'))
})

t.test('prompts that go away without an answer are resolved as cancelled on every device', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { server, client: a, chatId } = await agentWorld(t)
  const b = await TestClient.paired(t, server, 'phone')
  // The CLI withdraws its request (control_cancel_request).
  let from = a.frames.length
  await a.call('send_chat_message', { chat_session_id: chatId, content: 'cancel: 300' })
  let prompt = await b.event('agent-permission-prompt', p => p.chat_session_id === chatId)
  let resolved = await b.event('agent-permission-resolved', p => p.tool_use_id === prompt.tool_use_id)
  t.equal(resolved.behavior, 'cancelled')
  t.equal((await waitResult(a, chatId, from)).event.Stream.result, 'Withdrawn')
  t.same((await b.call('get_chat_snapshot', { chat_session_id: chatId })).pending_controls, [])
  t.match(await errorOf(b, 'submit_agent_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: true }), /^No pending permission request/)

  // stop_agent while a prompt is open.
  from = a.frames.length
  await a.call('send_chat_message', { chat_session_id: chatId, content: 'ask: still there?' })
  prompt = await a.waitFor(f => f.json?.event === 'agent-permission-prompt', 5000, from).then(f => f.json.payload)
  const fromB = b.frames.length
  await a.call('stop_agent', { chat_session_id: chatId })
  resolved = await b.waitFor(f => f.json?.event === 'agent-permission-resolved' && f.json.payload.tool_use_id === prompt.tool_use_id, 5000, fromB).then(f => f.json.payload)
  t.equal(resolved.behavior, 'cancelled')
  await waitExit(b, chatId, fromB)
  const evs = eventsOf(b, chatId).filter(e => e.payload.seq >= resolved.seq)
  t.same(evs.map(e => e.event === 'agent-stream' ? Object.keys(e.payload.event)[0] : e.event), ['agent-permission-resolved', 'ProcessExited'], 'before the exit')

  // The agent crashes while a prompt is open: the crash cancels it too.
  from = a.frames.length
  await a.call('send_chat_message', { chat_session_id: chatId, content: 'bash: make' })
  prompt = await a.waitFor(f => f.json?.event === 'agent-permission-prompt', 5000, from).then(f => f.json.payload)
  process.kill(startsOf(argsFile).at(-1)!.pid, 'SIGKILL')
  resolved = await a.waitFor(f => f.json?.event === 'agent-permission-resolved' && f.json.payload.tool_use_id === prompt.tool_use_id, 5000, from).then(f => f.json.payload)
  t.equal(resolved.behavior, 'cancelled')
  t.same((await waitExit(a, chatId, from)).event, { ProcessExited: null })
  t.same((await a.call('get_chat_snapshot', { chat_session_id: chatId })).pending_controls, [])
})
