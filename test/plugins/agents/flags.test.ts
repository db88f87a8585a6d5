// The claude command line: the reference's stream-json flags, the permission mapping with the
// safe default, and model/effort/plan/settings passed through; the workspace env and cwd.
import { join } from 'node:path'
import t from 'tap'
import { claudeArgs } from '../../../src/plugins/agents/index.js'
import { agentWorld, errorOf, startsOf, turn } from './_helpers.js'

const base = {
  cwd: '/w', workspaceId: 'w', chatSessionId: 'c', agentSessionId: 'sid', resume: false, permissionLevel: 'standard' as const,
  planMode: false, fastMode: false, thinkingEnabled: false, chromeEnabled: false, disable1mContext: false, env: {},
}
const after = (args: string[], flag: string): string | undefined =>
  args.includes(flag) ? args[args.indexOf(flag) + 1] : args.find(a => a.startsWith(`${flag}=`))?.slice(flag.length + 1)

t.test('claudeArgs: mapping of levels and options', async t => {
  const std = claudeArgs(base)
  t.same(std.slice(0, 9), ['--print', '--output-format', 'stream-json', '--input-format', 'stream-json', '--verbose', '--include-partial-messages', '--permission-prompt-tool', 'stdio'])
  t.equal(after(std, '--session-id'), 'sid')
  t.equal(after(std, '--permission-mode'), undefined, 'standard: no bypass')
  t.equal(after(std, '--allowedTools'), 'Agent,Read,Write,Edit,Glob,Grep,WebSearch,WebFetch,AskUserQuestion,ExitPlanMode')
  t.equal(after(claudeArgs({ ...base, permissionLevel: 'readonly' }), '--allowedTools'), 'Agent,Read,Glob,Grep,WebSearch,WebFetch,AskUserQuestion,ExitPlanMode')
  const full = claudeArgs({ ...base, permissionLevel: 'bypass' })
  t.equal(after(full, '--permission-mode'), 'bypassPermissions')
  t.notOk(full.includes('--allowedTools'))
  t.equal(after(claudeArgs({ ...base, permissionLevel: 'bypass', planMode: true }), '--permission-mode'), 'plan')
  const rich = claudeArgs({ ...base, model: 'opus', effort: 'high', fastMode: true, thinkingEnabled: true, chromeEnabled: true, customInstructions: 'Be brief' })
  t.equal(after(rich, '--model'), 'opus')
  t.ok(rich.includes('--model=opus'), 'the model is one argv value')
  const dashed = claudeArgs({ ...base, model: '--dangerously-skip-permissions' })
  t.ok(dashed.includes('--model=--dangerously-skip-permissions'), 'a model name starting with "-" stays the value of --model')
  t.notOk(dashed.includes('--dangerously-skip-permissions'), 'and is never an argument of its own')
  t.equal(after(rich, '--effort'), 'high')
  t.same(JSON.parse(after(rich, '--settings')!), { fastMode: true, alwaysThinkingEnabled: true })
  t.ok(rich.includes('--chrome'))
  t.equal(after(rich, '--append-system-prompt'), 'Be brief')
  t.notOk(claudeArgs({ ...base, effort: 'auto' }).includes('--effort'))
  const resumed = claudeArgs({ ...base, resume: true, model: 'opus', chromeEnabled: true, customInstructions: 'x' })
  t.equal(after(resumed, '--resume'), 'sid')
  t.equal(after(resumed, '--model'), 'opus', 'the model is passed on resume too (no silent fall back to the default)')
  t.notOk(resumed.includes('--chrome') || resumed.includes('--append-system-prompt') || resumed.includes('--session-id'))
})

t.test('over the wire: default level is standard, settings reach the process, changes restart it', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  // agentUid: the agents run as a normal user, so "full" is bypassPermissions even where the tests run as root.
  const { client, chatId, worktree, workspace } = await agentWorld(t, { agents: { agentUid: 1000 } }, 'flags-ws')
  await turn(client, chatId, 'one', { model: 'sonnet', effort: 'low', backend_id: null, mentioned_files: null })
  await turn(client, chatId, 'two', { model: 'sonnet', effort: 'low' })
  await turn(client, chatId, 'two and a half', { model: null, effort: 'low' })
  let starts = startsOf(argsFile)
  t.equal(starts.length, 1, 'same settings (no model = the current one): the process is kept across turns')
  const [first] = starts
  t.equal(after(first!.argv, '--model'), 'sonnet')
  t.equal(after(first!.argv, '--effort'), 'low')
  t.notOk(first!.argv.includes('bypassPermissions'), 'the default is not bypass')
  t.ok(first!.argv.includes('--allowedTools'))
  t.equal(first!.cwd, worktree)
  t.equal(first!.env.CLAUDETTE_WORKSPACE_ID, workspace.id)
  t.equal(first!.env.CLAUDETTE_WORKSPACE_NAME, 'flags-ws')
  t.notOk('CLAUDECODE' in first!.env)

  await turn(client, chatId, 'three', { permission_level: 'full', disable_1m_context: true, effort: 'low' })
  starts = startsOf(argsFile)
  t.equal(starts.length, 2, 'a new level restarts the process')
  t.equal(after(starts[1]!.argv, '--permission-mode'), 'bypassPermissions')
  t.equal(after(starts[1]!.argv, '--resume'), after(first!.argv, '--session-id'), 'and resumes the conversation')
  t.equal(after(starts[1]!.argv, '--model'), 'sonnet', 'with the model the conversation had')
  t.equal(starts[1]!.env.CLAUDE_CODE_DISABLE_1M_CONTEXT, '1')
  await turn(client, chatId, 'four', { permission_level: 'whatever' })
  t.equal(after(startsOf(argsFile)[2]!.argv, '--allowedTools'), 'Agent,Read,Glob,Grep,WebSearch,WebFetch,AskUserQuestion,ExitPlanMode', 'unknown level = read-only')
  // A different model is a new process too (the reference kept the old one silently).
  await turn(client, chatId, 'five', { permission_level: 'whatever', model: 'opus' })
  starts = startsOf(argsFile)
  t.equal(starts.length, 4)
  t.equal(after(starts[3]!.argv, '--model'), 'opus')
  t.ok(starts[3]!.argv.includes('--resume'))
  t.equal((await turn(client, chatId, 'args', { permission_level: 'whatever' })).event.Stream.result.includes('"--model=opus"'), true, 'the fake saw it')
  t.equal(startsOf(argsFile).length, 4)
})

t.test('allowBypassPermissions: false downgrades "full" to standard', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { client, chatId } = await agentWorld(t, { agents: { allowBypassPermissions: false } })
  await turn(client, chatId, 'x', { permission_level: 'full' })
  t.notOk(startsOf(argsFile)[0]!.argv.includes('bypassPermissions'))
})

t.test('"full" where the agents run as root: a clear error that says why and what to do, nothing started', async t => {
  const argsFile = join(t.testdir(), 'starts.jsonl')
  process.env.FAKE_CLAUDE_ARGS_FILE = argsFile
  t.teardown(() => { delete process.env.FAKE_CLAUDE_ARGS_FILE })
  const { client, chatId } = await agentWorld(t, { agents: { agentUid: 0 } })
  const msg = await errorOf(client, 'send_chat_message', { chat_session_id: chatId, content: 'x', permission_level: 'full' })
  t.match(msg, /^Permission level "full" is not available: this server runs its agents as root, and Claude Code refuses/)
  t.match(msg, /"standard" or "readonly"/)
  t.match(msg, /as a normal user/)
  t.same(startsOf(argsFile), [], 'no process was started')
  t.same((await client.call('load_chat_history', { chat_session_id: chatId })).map((m: any) => m.content), ['x'], 'the message is kept')
  t.equal((await turn(client, chatId, 'y', { permission_level: 'standard' })).event.Stream.result, 'Echo: y', 'another level works')
  // Plan mode never bypasses, so it is allowed at any level.
  t.equal((await turn(client, chatId, 'z', { permission_level: 'full', plan_mode: true })).event.Stream.result, 'Echo: z')
})

t.test('the sandbox signal of the server environment never reaches an agent', async t => {
  process.env.IS_SANDBOX = '1'
  t.teardown(() => { delete process.env.IS_SANDBOX })
  const { client, chatId } = await agentWorld(t)
  t.equal((await turn(client, chatId, 'env: IS_SANDBOX')).event.Stream.result, '')
  t.equal((await turn(client, chatId, 'env: PATH')).event.Stream.result, process.env.PATH, 'the rest of the environment does')
})
