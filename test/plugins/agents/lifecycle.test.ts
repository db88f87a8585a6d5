// Agents stop cleanly: on server close (every process gone), when their workspace is archived,
// and a slow agent start never stalls another session's RPCs (no global lock across spawns):
// both a process that is slow to get ready and a provider whose start() itself hangs.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { Emitter, type AgentEvent, type AgentProvider, type AgentSession } from '../../../src/index.js'
import { eventually, waitFor } from '../../helpers/wait.js'
import { agentWorld, anotherWorkspace, errorOf, FAKE_CLAUDE, startsOf, turn, waitExit, waitResult } from './_helpers.js'

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

t.test('server close stops every agent', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { server, client, chatId, workspace } = await agentWorld(t)
  const other = await anotherWorkspace(client, workspace.repository_id, 'ws-two')
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 60000' })
  await client.call('send_chat_message', { chat_session_id: other.chatId, content: 'ask: waiting forever?' })
  await client.event('agent-permission-prompt')
  // The two fakes start independently: wait until both have recorded their start.
  await eventually(() => startsOf(argsFile).length >= 2, { interval: 50 })
  const pids = startsOf(argsFile).map(s => s.pid)
  t.equal(pids.length, 2)
  t.ok(pids.every(alive))
  const started = Date.now()
  await server.close()
  t.ok(Date.now() - started < 15_000, 'close does not hang')
  t.ok(pids.every(pid => !alive(pid)), 'no agent process survives')
})

t.test('archiving a workspace stops its agents', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { client, chatId, workspace } = await agentWorld(t)
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 60000' })
  await client.waitFor(f => f.json?.payload?.event?.Stream?.subtype === 'init')
  const [start] = startsOf(argsFile)
  await client.call('archive_workspace', { workspace_id: workspace.id })
  t.notOk(alive(start!.pid))
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.agent_status, 'Idle')
})

t.test('a slow agent start does not stall RPCs or turns of other sessions', async t => {
  // Ordering, not wall-clock bounds: the machine running the tests may be loaded.
  const { client, chatId, workspace } = await agentWorld(t, {
    agents: { commands: [{ kind: 'slow', command: FAKE_CLAUDE, env: { FAKE_CLAUDE_START_DELAY_MS: '8000' } }] },
  })
  const fast = await anotherWorkspace(client, workspace.repository_id, 'fast-ws')
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'hello slow', backend_id: 'slow' })
  t.notOk(client.frames.slice(from).some(f => f.json?.payload?.chat_session_id === chatId), 'send_chat_message answered before the slow agent said anything')
  t.equal((await turn(client, fast.chatId, 'quick')).event.Stream.result, 'Echo: quick')
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.session.agent_status, 'Running')
  t.same(snap.live.events, [], 'the slow agent is still starting while the other session finished a turn')
  t.equal((await waitResult(client, chatId, from, 30_000)).event.Stream.result, 'Echo: hello slow')
})

/**
 * A provider whose start() does not resolve until the test opens the gate: stands for any slow
 * start (a spawn that blocks, a wrapper that installs or authenticates first). The registry
 * awaits it for one session only; a lock held across it would stall everything below.
 */
class GatedProvider implements AgentProvider {
  readonly kind = 'gated'
  open!: () => void
  readonly gate = new Promise<void>(resolve => { this.open = resolve })
  readonly disposed: string[] = []
  /** Calls of start() so far (each waits at the gate). */
  starts = 0
  async start (): Promise<AgentSession> {
    this.starts++
    await this.gate
    const emitter = new Emitter<AgentEvent>()
    const id = randomUUID()
    let alive = true
    return {
      id,
      onEvent: emitter.event,
      async send (msg) {
        setImmediate(() => {
          emitter.fire({ type: 'stream', message: { type: 'system', subtype: 'init', session_id: 'gated-1' } })
          emitter.fire({ type: 'stream', message: { type: 'result', subtype: 'success', result: `gated: ${msg.content}` } })
        })
      },
      async answer () {},
      snapshot: () => ({ kind: 'gated', pid: null, alive, commandLine: 'gated' }),
      dispose: () => {
        if (!alive) return
        alive = false
        this.disposed.push(id)
        setImmediate(() => { emitter.fire({ type: 'exit', code: 0, signal: null }); emitter.dispose() })
      },
    }
  }
}

t.test('an agent start that never returns holds up only its own session', async t => {
  const gated = new GatedProvider()
  const { client, chatId, workspace } = await agentWorld(t, { agents: { providers: [gated] } })
  const other = await anotherWorkspace(client, workspace.repository_id, 'other-ws')
  let answered = false
  const slowSend = client.request('send_chat_message', { chat_session_id: chatId, content: 'slow one', backend_id: 'gated' })
    .then(res => { answered = true; return res })
  // While that start hangs: another session runs full turns, and this session's own RPCs answer.
  t.equal((await turn(client, other.chatId, 'quick')).event.Stream.result, 'Echo: quick')
  t.equal((await turn(client, other.chatId, 'again')).event.Stream.result, 'Echo: again')
  const snap = await client.call('get_chat_snapshot', { chat_session_id: chatId })
  t.equal(snap.session.agent_status, 'Running')
  t.same(snap.messages.map((m: any) => m.content), ['slow one'], 'the user message is saved before the start')
  t.equal(await errorOf(client, 'submit_agent_answer', { chat_session_id: chatId, tool_use_id: 'x' }), 'Agent session is not active')
  t.same(await client.call('steer_queued_chat_message', { chat_session_id: chatId, content: 'later' }), { queue_depth: 1, queued: true })
  t.equal(answered, false, 'send_chat_message waits for its own agent to start')

  const from = client.frames.length
  gated.open()
  t.same((await slowSend).result, null)
  const first = await waitResult(client, chatId, from)
  t.equal(first.event.Stream.result, 'gated: slow one')
  const after = client.frames.findIndex(f => f.json?.payload === first) + 1
  t.equal((await waitResult(client, chatId, after)).event.Stream.result, 'gated: later', 'the steered message runs next')
})

t.test('an agent stopped while it is starting is disposed as soon as its start returns', async t => {
  const gated = new GatedProvider()
  const { client, chatId } = await agentWorld(t, { agents: { providers: [gated], defaultProvider: 'gated' } })
  const slowSend = client.request('send_chat_message', { chat_session_id: chatId, content: 'never mind' })
  await waitFor(() => gated.starts === 1, { what: 'the agent to be starting' })
  t.same(await client.call('stop_agent', { chat_session_id: chatId }), null)
  t.equal((await client.call('get_chat_snapshot', { chat_session_id: chatId })).session.agent_status, 'Idle')
  gated.open()
  t.same((await slowSend).result, null)
  await eventually(() => gated.disposed.length > 0, { interval: 20 })
  t.equal(gated.disposed.length, 1, 'the late session was stopped')
  t.notOk(client.frames.some(f => f.json?.payload?.event?.Stream?.type === 'result'), 'and never ran the turn')
  t.same((await client.call('load_chat_history', { chat_session_id: chatId })).map((m: any) => m.content), ['never mind', 'Agent stopped'])
})

const gone = (pid: number): Promise<boolean> => eventually(() => !alive(pid), { interval: 20 })

t.test('processes an agent started die with it: when it is stopped and when it crashes', async t => {
  const { client, chatId } = await agentWorld(t)
  const pidOf = (r: any): number => Number(/^child (\d+)$/.exec(r.event.Stream.result)![1])
  const first = pidOf(await turn(client, chatId, 'child'))
  t.ok(alive(first), 'the tool process runs')
  await client.call('stop_agent', { chat_session_id: chatId })
  t.ok(await gone(first), 'stop_agent killed the tool process too')

  // A crash: the tool still holds the agent's stdout, yet the exit is reported and it is killed.
  const second = pidOf(await turn(client, chatId, 'child'))
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'crash: 4' })
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: 4 })
  t.ok(await gone(second), 'the crashed agent\'s tool process was killed')
  t.equal((await turn(client, chatId, 'still fine?')).event.Stream.result, 'Echo: still fine?')
})

t.test('an agent that ignores SIGTERM and the end of its input is killed after stopTimeoutMs', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  const { server, client, chatId } = await agentWorld(t, {
    agents: { stopTimeoutMs: 300, commands: [{ kind: 'stubborn', command: FAKE_CLAUDE, env: { FAKE_CLAUDE_IGNORE_SIGTERM: '1', FAKE_CLAUDE_ARGS_FILE: argsFile } }] },
  })
  await turn(client, chatId, 'hi', { backend_id: 'stubborn' })
  const [start] = startsOf(argsFile)
  const from = client.frames.length
  await client.call('stop_agent', { chat_session_id: chatId })
  t.notOk(alive(start!.pid), 'stop_agent returned once SIGKILL took it')
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: null })
  // And on close.
  await turn(client, chatId, 'again', { backend_id: 'stubborn' })
  const second = startsOf(argsFile)[1]!
  await server.close()
  t.notOk(alive(second.pid), 'server.close() waited for SIGKILL')
})

t.test('a descendant that left the agent\'s process group cannot hold up the exit report', async t => {
  const { client, chatId } = await agentWorld(t)
  const r = await turn(client, chatId, 'child: detached')
  const pid = Number(/^child (\d+)$/.exec(r.event.Stream.result)![1])
  t.teardown(() => { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } })
  const from = client.frames.length
  await client.call('send_chat_message', { chat_session_id: chatId, content: 'crash: 5' })
  t.same((await waitExit(client, chatId, from)).event, { ProcessExited: 5 }, 'reported although the pipe is still open')
  t.equal((await turn(client, chatId, 'next')).event.Stream.result, 'Echo: next')
})
