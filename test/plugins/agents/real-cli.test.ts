// The agents plugin against the real Claude Code CLI (the exact devDependency version) talking to
// a Messages-API stub on 127.0.0.1: a text turn, Write, a Bash permission prompt approved and
// denied from a second device, AskUserQuestion and plan approval. The stub records what the CLI
// sent, so each test checks what the model was shown as well as what the clients saw.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { lastUserText, stubText, toolResults, transcript, type StubReply, type StubScript } from '../../helpers/messages-stub.js'
import { waitResult } from './_helpers.js'
import { realCli, realWorld, skipUnlessRealClaude } from './_realcli.js'

const skip = skipUnlessRealClaude()
const tool = (name: string, input: Record<string, unknown>): StubReply => ({ blocks: [{ type: 'tool_use', name, input }] })

/**
 * The model of these tests: a prompt's first word picks a tool call; after a tool result it
 * answers with that result, so the client sees what the CLI reported to the model.
 */
const script: StubScript = req => {
  const results = toolResults(req.body)
  if (results.length > 0) return stubText(`Tool said: ${results.map(r => `${r.is_error ? 'error: ' : ''}${r.text}`).join(' | ')}`)
  const prompt = lastUserText(req.body)
  if (prompt.includes('WRITE-FILE')) return tool('Write', { file_path: join(cwdOf(req.body), 'notes.txt'), content: 'written by the agent\n' })
  if (prompt.includes('RUN-BASH')) return tool('Bash', { command: 'touch made-by-bash.txt', description: 'Create a file' })
  if (prompt.includes('ASK-USER')) {
    return tool('AskUserQuestion', { questions: [{ question: 'Which colour?', header: 'Colour', multiSelect: false, options: [{ label: 'Red', description: 'warm' }, { label: 'Blue', description: 'cold' }] }] })
  }
  if (prompt.includes('MAKE-PLAN')) return tool('ExitPlanMode', { plan: '1. Add a README section\n2. Done' })
  return stubText('Hello from the stub model')
}

/** The worktree the CLI reports to the model (its system prompt names the working directory). */
function cwdOf (body: any): string {
  const text = JSON.stringify(body.system) + transcript(body)
  return /Primary working directory: (\S+?)(\\n|\s)/.exec(text)?.[1] ?? ''
}

t.test('a text turn: streamed text, saved message, the request the model got', { skip }, async t => {
  const cli = await realCli(t, script)
  const { client, chatId } = await realWorld(t, cli)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'Say hello', model: '-stub-model' })
  const result = await waitResult(client, chatId, from, 60_000)
  t.equal(result.event.Stream.result, 'Hello from the stub model')
  t.equal(result.event.Stream.subtype, 'success')
  const deltas = client.frames.slice(from).filter(f => f.json?.payload?.event?.Stream?.type === 'stream_event')
  t.ok(deltas.length > 0, 'partial messages were streamed')
  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.same(history.map((m: any) => [m.role, m.content]), [['User', 'Say hello'], ['Assistant', 'Hello from the stub model']])
  const [turn] = cli.stub.turns
  t.ok(lastUserText(turn!.body).includes('Say hello'), 'the model got the prompt')
  t.equal(turn!.body.model, '-stub-model', 'a model name starting with "-" reaches the API as the model')
  t.equal(turn!.headers['x-api-key'], 'sk-ant-test-dummy-key')
  t.same(cli.stub.foreign, [], 'no traffic to any other host')
})

t.test('Write is pre-approved at the standard level; the file lands in the worktree and the checkpoint', { skip }, async t => {
  const cli = await realCli(t, script)
  const { client, chatId, worktree } = await realWorld(t, cli)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'WRITE-FILE please' })
  const cp = await client.event('checkpoint-created', p => p.chat_session_id === chatId, 60_000)
  const result = await waitResult(client, chatId, from, 60_000)
  t.match(result.event.Stream.result, /^Tool said: /)
  t.equal(readFileSync(join(worktree, 'notes.txt'), 'utf8'), 'written by the agent\n')
  t.equal(cp.checkpoint.has_file_state, true)
  t.equal(client.frames.slice(from).filter(f => f.json?.event === 'agent-permission-prompt').length, 0, 'nothing was asked')
  const turns = await client.call('load_completed_turns', { chat_session_id: chatId })
  t.ok(JSON.stringify(turns).includes('notes.txt'), 'the tool activity is recorded')
})

t.test('a Bash prompt approved, then one denied, each from a second device', { skip }, async t => {
  const cli = await realCli(t, script)
  const { server, client: desktop, chatId, worktree } = await realWorld(t, cli)
  const phone = await TestClient.paired(t, server, 'phone')

  let from = desktop.frames.length
  let phoneFrom = phone.frames.length
  await desktop.call('send_chat_message', { chat_session_id: chatId, content: 'RUN-BASH now' })
  let prompt = await phone.event('agent-permission-prompt', p => p.chat_session_id === chatId, 60_000)
  t.equal(prompt.tool_name, 'Bash')
  t.equal(prompt.input.command, 'touch made-by-bash.txt')
  t.notOk(existsSync(join(worktree, 'made-by-bash.txt')), 'nothing ran before the answer')
  t.same(await phone.call('submit_agent_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: true }), null)
  const resolved = await desktop.event('agent-permission-resolved', p => p.tool_use_id === prompt.tool_use_id)
  t.equal(resolved.behavior, 'allow')
  let result = await waitResult(desktop, chatId, from, 60_000)
  t.ok(existsSync(join(worktree, 'made-by-bash.txt')), 'the approved command ran')
  let sent = toolResults(cli.stub.turns.at(-1)!.body)
  t.equal(sent.length, 1)
  t.equal(sent[0]!.tool_use_id, prompt.tool_use_id, 'the model got the result of the approved call')
  t.equal(sent[0]!.is_error, false)
  t.match(result.event.Stream.result, /^Tool said: /)

  from = desktop.frames.length
  phoneFrom = phone.frames.length
  await desktop.call('send_chat_message', { chat_session_id: chatId, content: 'RUN-BASH again' })
  prompt = await phone.waitFor(f => f.json?.event === 'agent-permission-prompt' && f.json.payload.chat_session_id === chatId, 60_000, phoneFrom).then(f => f.json.payload)
  await phone.call('submit_agent_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: false, reason: 'Not on my machine' })
  result = await waitResult(desktop, chatId, from, 60_000)
  sent = toolResults(cli.stub.turns.at(-1)!.body)
  t.equal(sent[0]!.tool_use_id, prompt.tool_use_id)
  t.equal(sent[0]!.is_error, true, 'the model learned the call was denied')
  t.match(sent[0]!.text, /Not on my machine/)
  t.match(result.event.Stream.result, /^Tool said: error: .*Not on my machine/)
})

t.test('AskUserQuestion: the answer reaches the model', { skip }, async t => {
  const cli = await realCli(t, script)
  const { client, chatId } = await realWorld(t, cli)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'ASK-USER something' })
  const prompt = await client.event('agent-permission-prompt', p => p.chat_session_id === chatId, 60_000)
  t.equal(prompt.tool_name, 'AskUserQuestion')
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.attention_kind, 'Ask')
  await client.call('submit_agent_answer', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, answers: { 'Which colour?': 'Blue' } })
  await waitResult(client, chatId, from, 60_000)
  const [sent] = toolResults(cli.stub.turns.at(-1)!.body)
  t.equal(sent!.tool_use_id, prompt.tool_use_id)
  t.match(sent!.text, /Which colour\?"="Blue"/)
})

t.test('plan mode: the approved plan reaches the model unedited', { skip }, async t => {
  // As in Claude Code's plan mode: the model writes its plan to the plan file the CLI named, then
  // calls ExitPlanMode, whose permission request carries that plan.
  const cli = await realCli(t, req => {
    const results = toolResults(req.body)
    const planFile = /create your plan at (\S+?\.md)/.exec(transcript(req.body))?.[1]
    if (results.length === 0 && planFile) return tool('Write', { file_path: planFile, content: '# Plan\n\n1. Add a README section\n' })
    if (results.length > 0 && !transcript(req.body).includes('plan mode')) return tool('ExitPlanMode', {})
    return script(req, cli.stub)
  })
  const { client, chatId } = await realWorld(t, cli)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'MAKE-PLAN for the docs', plan_mode: true })
  const prompt = await client.event('agent-permission-prompt', p => p.chat_session_id === chatId, 60_000)
  t.equal(prompt.tool_name, 'ExitPlanMode')
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.attention_kind, 'Plan')
  await client.call('submit_plan_approval', { chat_session_id: chatId, tool_use_id: prompt.tool_use_id, approved: true })
  await waitResult(client, chatId, from, 60_000)
  const [sent] = toolResults(cli.stub.turns.at(-1)!.body)
  t.equal(sent!.tool_use_id, prompt.tool_use_id)
  t.equal(sent!.is_error, false)
  t.match(sent!.text, /## Approved Plan:\n# Plan\n\n1\. Add a README section/, 'the model got the approved plan')
  t.notMatch(sent!.text, /edited by user/i, 'nobody edited the plan, so the model is not told so')
})
