// The AgentProvider interface with other implementations: the built-in command provider running
// an operator-configured stream-json CLI, and an embedder's in-process provider.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { Emitter, type AgentProvider } from '../../../src/index.js'
import type { AgentEvent, AgentSession } from '../../../src/plugins/agents/types.js'
import { agentWorld, errorOf, FAKE_CLAUDE, startsOf, turn } from './_helpers.js'

t.test('a configured command provider is chosen by backend_id and gets the turn settings as env', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  const { client, chatId } = await agentWorld(t, {
    agents: { commands: [{ kind: 'my-cli', command: FAKE_CLAUDE, args: ['--custom-flag'], env: { FAKE_CLAUDE_ARGS_FILE: argsFile } }] },
  })
  const r = await turn(client, chatId, 'args', { backend_id: 'my-cli', permission_level: 'readonly', model: 'm1' })
  t.equal(r.event.Stream.result, '["--custom-flag"]')
  const [start] = startsOf(argsFile)
  t.same(start!.argv, ['--custom-flag'])
  t.match(start!.env, { CLAUDETTE_AGENT_PERMISSION_LEVEL: 'readonly', CLAUDETTE_AGENT_MODEL: 'm1', CLAUDETTE_AGENT_RESUME: '0', CLAUDETTE_AGENT_PLAN_MODE: '0' })
  t.match(start!.env.CLAUDETTE_AGENT_SESSION_ID, /^[0-9a-f-]{36}$/)
  // An unknown backend falls back to the default provider (as the reference only logs it).
  t.equal((await turn(client, chatId, 'hi', { backend_id: 'anthropic' })).event.Stream.result, 'Echo: hi')
})

/** An in-process agent that answers every message in upper case (STYLE.md's "echo agent"). */
class UpperProvider implements AgentProvider {
  readonly kind = 'upper'
  started = 0
  async start (): Promise<AgentSession> {
    this.started++
    const emitter = new Emitter<AgentEvent>()
    let alive = true
    const fire = (message: Record<string, unknown>): void => { setImmediate(() => { if (alive) emitter.fire({ type: 'stream', message }) }) }
    return {
      id: randomUUID(),
      onEvent: emitter.event,
      async send (msg) {
        fire({ type: 'system', subtype: 'init', session_id: 'upper-1' })
        fire({ type: 'assistant', message: { content: [{ type: 'text', text: msg.content.toUpperCase() }] } })
        fire({ type: 'result', subtype: 'success', result: msg.content.toUpperCase(), total_cost_usd: 0, duration_ms: 1 })
      },
      async answer () {},
      snapshot: () => ({ kind: 'upper', pid: null, alive, commandLine: 'upper' }),
      dispose () { if (!alive) return; alive = false; setImmediate(() => { emitter.fire({ type: 'exit', code: 0, signal: null }); emitter.dispose() }) },
    }
  }
}

t.test('an embedder provider passed in options is used as the default', async t => {
  const upper = new UpperProvider()
  const { client, chatId } = await agentWorld(t, { agents: { providers: [upper], defaultProvider: 'upper' } })
  t.equal((await turn(client, chatId, 'shout')).event.Stream.result, 'SHOUT')
  t.equal((await turn(client, chatId, 'again')).event.Stream.result, 'AGAIN')
  t.equal(upper.started, 1)
  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.same(history.map((m: any) => m.content), ['shout', 'SHOUT', 'again', 'AGAIN'])
  t.equal((await client.call('get_chat_session', { chat_session_id: chatId })).session_id, 'upper-1')
  t.equal(await errorOf(client, 'submit_agent_answer', { chat_session_id: chatId, tool_use_id: 'x' }), 'No pending permission request for tool_use_id x (pending: [])')
})

t.test('bad provider configuration fails at boot with a clear error', async t => {
  const { createServer } = await import('../../../src/index.js')
  await t.rejects(createServer({ home: t.testdir(), port: 0, bind: '127.0.0.1', mdns: false, logLevel: 'silent', agents: { defaultProvider: 'nope' } }),
    { code: 'ERR_AGENT_PROVIDER_CONFIG', message: /defaultProvider: no provider 'nope'/ })
  await t.rejects(createServer({ home: t.testdir(), port: 0, bind: '127.0.0.1', mdns: false, logLevel: 'silent', agents: { commands: [{ kind: 'claude-code', command: 'x' }] } }),
    { code: 'ERR_AGENT_PROVIDER_CONFIG' })
  await t.rejects(createServer({ home: t.testdir(), port: 0, bind: '127.0.0.1', mdns: false, logLevel: 'silent', agents: { claudePath: 3 } as never }),
    { code: 'ERR_CONFIG_INVALID', message: /claudePath/ })
})
