// The real Claude Code CLI across process lifetimes: stop mid-turn and resume, a server restart in
// the middle of a chat, a process that fails at start-up (the conversation survives it), and
// permission_level "full" on a server that runs as root.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer, tempHome } from '../../helpers/server.js'
import { lastUserText, stubText, transcript, type StubScript } from '../../helpers/messages-stub.js'
import { waitExit, waitResult } from './_helpers.js'
import { realCli, realWorld, skipUnlessRealClaude } from './_realcli.js'

const skip = skipUnlessRealClaude()

/** Echoes the prompt; a prompt with SLOW answers only after a minute (a turn to stop). */
const script: StubScript = req => {
  const prompt = lastUserText(req.body)
  const said = /PROMPT-(\w+)/.exec(prompt)?.[1] ?? '?'
  return prompt.includes('SLOW') ? { blocks: [{ type: 'text', text: 'too late' }], delayMs: 60_000 } : stubText(`REPLY-${said}`)
}

t.test('stop mid-turn reports {"ProcessExited": null}; the next turn resumes the conversation', { skip }, async t => {
  const cli = await realCli(t, script)
  const { client, chatId } = await realWorld(t, cli)
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-one' })
  await waitResult(client, chatId, 0, 60_000)
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-two SLOW' })
  // Stop once the model is answering (the stub holds its reply back).
  await client.waitFor(f => f.json?.payload?.chat_session_id === chatId && f.json.payload.event?.Stream?.event?.type === 'message_start', 60_000, from)
  await client.call('stop_agent', { chat_session_id: chatId })
  const exit = await waitExit(client, chatId, from, 30_000)
  t.same(exit.event, { ProcessExited: null }, 'a stop has no exit code, although Claude Code exits 143 on SIGTERM')
  const stored = (await client.call('get_chat_session', { chat_session_id: chatId })).session_id
  t.ok(stored, 'the CLI conversation id is kept')

  const next = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-three' })
  t.equal((await waitResult(client, chatId, next, 60_000)).event.Stream.result, 'REPLY-three')
  const seen = transcript(cli.stub.turns.at(-1)!.body)
  t.match(seen, /PROMPT-one/, 'the model got the earlier messages after the resume')
  t.match(seen, /REPLY-one/)
  t.equal((await client.call('get_chat_session', { chat_session_id: chatId })).session_id, stored, 'same conversation')
})

t.test('a server restart mid-turn, then a start that fails: the conversation survives both', { skip }, async t => {
  const cli = await realCli(t, script)
  const home = tempHome(t)
  const first = await realWorld(t, cli, { home })
  const { chatId } = first
  await first.client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-before' })
  await waitResult(first.client, chatId, 0, 60_000)
  const stored = (await first.client.call('get_chat_session', { chat_session_id: chatId })).session_id
  t.ok(stored)
  // The server goes down while a turn runs (the model is still answering).
  const from0 = first.client.frames.length
  await first.client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-cut SLOW' })
  await first.client.waitFor(f => f.json?.payload?.chat_session_id === chatId && f.json.payload.event?.Stream?.event?.type === 'message_start', 60_000, from0)
  await first.server.close()

  // Same home, a CLI that exits at start-up (an option it does not know): it dies before it reads a turn.
  const broken = await startServer(t, { home, agents: { ...cli.agents, claudeArgs: ['--no-such-option-here'] } })
  const c2 = await TestClient.paired(t, broken)
  await c2.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-during' })
  const exit = await waitExit(c2, chatId, 0, 60_000)
  t.not(exit.event.ProcessExited, 0, 'the CLI failed at start-up')
  t.equal((await c2.call('get_chat_session', { chat_session_id: chatId })).session_id, stored, 'a start-up failure keeps the resumable conversation')
  await broken.close()

  const third = await TestClient.paired(t, await startServer(t, { home, agents: cli.agents }))
  await third.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-after' })
  t.equal((await waitResult(third, chatId, 0, 60_000)).event.Stream.result, 'REPLY-after')
  const seen = transcript(cli.stub.turns.at(-1)!.body)
  t.match(seen, /PROMPT-before/, 'after the restart the model still got the earlier messages')
  t.match(seen, /REPLY-before/)
})

t.test('a resume of a conversation the CLI does not have drops the id: the next turn starts a new one', { skip }, async t => {
  const cli = await realCli(t, script)
  // Made before the server, so that it is removed after the server (and the CLI writing into it)
  // has closed: teardowns run last in, first out.
  const freshConfig = tempHome(t)
  const { client, chatId } = await realWorld(t, cli)
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-one' })
  await waitResult(client, chatId, 0, 60_000)
  await client.call('stop_agent', { chat_session_id: chatId })
  const stored = (await client.call('get_chat_session', { chat_session_id: chatId })).session_id
  // A new config directory: the CLI no longer has the conversation.
  process.env.CLAUDE_CONFIG_DIR = freshConfig
  let from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-two' })
  const exit = await waitExit(client, chatId, from, 60_000)
  t.not(exit.event.ProcessExited, 0)
  t.ok(client.frames.slice(from).some(f => /No conversation found/.test(f.json?.payload?.event?.Stderr ?? '')), 'the CLI said why')
  t.equal((await client.call('get_chat_session', { chat_session_id: chatId })).session_id, null, 'the id that cannot be resumed is dropped')
  from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-three' })
  t.equal((await waitResult(client, chatId, from, 60_000)).event.Stream.result, 'REPLY-three')
  const now = (await client.call('get_chat_session', { chat_session_id: chatId })).session_id
  t.ok(now && now !== stored, 'a new conversation')
})

const isRoot = process.geteuid?.() === 0
t.test('"full" on a root server: a clear error, no process, the conversation kept', { skip: skip || (isRoot ? false : 'the server does not run as root here') }, async t => {
  const cli = await realCli(t, script)
  const { client, chatId } = await realWorld(t, cli)
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-one' })
  await waitResult(client, chatId, 0, 60_000)
  const stored = (await client.call('get_chat_session', { chat_session_id: chatId })).session_id
  const requests = cli.stub.requests.length
  const res = await client.request('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-full', permission_level: 'full' })
  t.match(res.error?.message, /^Permission level "full" is not available: this server runs its agents as root/)
  t.match(res.error?.message, /"standard"/, 'says what the user can choose instead')
  t.match(res.error?.message, /normal user/, 'and what the owner can do')
  t.equal(cli.stub.requests.length, requests, 'no agent ran')
  t.equal((await client.call('get_chat_session', { chat_session_id: chatId })).session_id, stored, 'the conversation is kept')
  // The same chat goes on at another level.
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'PROMPT-standard', permission_level: 'standard' })
  t.equal((await waitResult(client, chatId, from, 60_000)).event.Stream.result, 'REPLY-standard')
  t.match(transcript(cli.stub.turns.at(-1)!.body), /PROMPT-one/)
})
