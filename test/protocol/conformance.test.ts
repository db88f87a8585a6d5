// The protocol's schemas describe what a real server sends. Every method of the method table is
// called on a real server (fresh home, a real git repository, the fake claude, real ptys) and its
// result is checked against the method's result schema; every event seen on the way is checked
// against its payload schema. Objects are checked strictly: a field the server sends that the
// protocol does not name fails as much as a field it names that the server leaves out.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Events, Methods, WIRE_TERMINAL_LIMITS, type MethodName } from '../../src/protocol/index.js'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer, tempHome } from '../helpers/server.js'
import { git, waitResult } from '../plugins/agents/_helpers.js' // also puts the fake claude first in PATH
import { mismatches } from './_conformance.js'

const makeRepo = (dir: string): string => {
  mkdirSync(dir, { recursive: true })
  git(dir, 'init', '-q', '-b', 'main')
  writeFileSync(join(dir, 'README.md'), '# project\n')
  git(dir, 'add', '.')
  git(dir, 'commit', '-q', '-m', 'initial')
  return dir
}

t.test('every method answers, and every event arrives, in the shape its schema describes', async t => {
  const root = tempHome(t)
  const plans = join(root, 'plans')
  mkdirSync(plans)
  writeFileSync(join(plans, 'plan.md'), '# plan\n')
  // The widest terminal limits, so the registered rows/cols bounds are the table's.
  const server = await startServer(t, { repos: { worktreeBaseDir: join(root, 'trees'), claudePlansDir: plans }, terminals: { ...WIRE_TERMINAL_LIMITS } })

  // The server registers exactly the table's methods (authenticate is the handshake's), each with the table's params schema.
  const rpc = server.app.rpc
  t.same(rpc.names, Object.keys(Methods).filter(m => m !== 'authenticate').sort(), 'registered methods = the method table')
  // refresh_claude_flags is registered without a params schema (the registry's default, `{type: "object"}`).
  const paramsDiffer = rpc.names.filter(m => m !== 'refresh_claude_flags' && JSON.stringify(rpc.schemaOf(m)) !== JSON.stringify(Methods[m as MethodName].params))
  t.same(paramsDiffer, [], 'every method validates its params with the protocol schema')

  const called = new Set<string>()
  const results = new Map<string, number>()
  const conforms = (method: MethodName, result: unknown): void => {
    called.add(method)
    results.set(method, (results.get(method) ?? 0) + 1)
    const issues = mismatches(Methods[method].result, result)
    t.same(issues, [], `${method} result conforms`, { result })
  }

  // list_methods describes the server to its devices only, like every method but authenticate.
  const anonymous = await TestClient.connect(t, server)
  t.same((await anonymous.request('list_methods')).error?.message, 'Must authenticate first', 'list_methods needs authentication')

  // The handshake: pairing, then a session token.
  const pairing = await TestClient.connect(t, server)
  const paired = await pairing.request('authenticate', { client_name: 'conformance', pairing_token: pairingToken(server) })
  conforms('authenticate', paired.result)
  const client = await TestClient.connect(t, server)
  conforms('authenticate', (await client.request('authenticate', { session_token: paired.result.session_token })).result)
  const call = async (method: MethodName, params?: Record<string, unknown>): Promise<any> => {
    const result = await client.call(method, params)
    conforms(method, result)
    return result
  }

  // A fresh home.
  await call('server_info')
  const described = await call('list_methods') as Array<{ name: string, params: Record<string, unknown> }>
  t.same(described.map(m => m.name), rpc.names, 'list_methods names every registered method')
  t.same(described.find(m => m.name === 'create_workspace')?.params, JSON.parse(JSON.stringify(Methods.create_workspace.params)), 'with its params schema as JSON')
  await call('list_sessions')
  await call('list_repositories')
  await call('list_workspaces')
  await call('load_initial_data')
  await call('list_ptys')
  await call('refresh_claude_flags')
  await call('get_app_setting', { key: 'worktree_base_dir' })
  await call('get_app_setting', { key: 'no-such-key' })
  await call('set_app_setting', { key: 'conformance', value: 'yes' })
  await call('get_app_setting', { key: 'conformance' })

  // Repositories and workspaces.
  const repo = await call('add_repository', { path: makeRepo(join(root, 'repo')) })
  const spare = await call('add_repository', { path: makeRepo(join(root, 'spare')), name: 'spare' })
  await call('remove_repository', { repository_id: spare.id })
  const created = await call('create_workspace', { repository_id: repo.id, name: 'conformance' })
  const ws = created.workspace
  const chatId = created.default_session_id as string
  await call('list_repositories')
  await call('list_workspaces')
  writeFileSync(join(ws.worktree_path, 'README.md'), '# project\nchanged\n')
  writeFileSync(join(ws.worktree_path, 'new.txt'), 'new\n')
  const diff = await call('load_diff_files', { workspace_id: ws.id })
  await call('load_file_diff', { worktree_path: ws.worktree_path, file_path: 'README.md', merge_base: diff.merge_base })
  await call('load_file_diff', { worktree_path: ws.worktree_path, file_path: 'new.txt', merge_base: diff.merge_base, diff_layer: 'untracked' })
  await call('read_plan_file', { path: join(plans, 'plan.md') })

  // Chat sessions and agents (the fake claude).
  await call('list_chat_sessions', { workspace_id: ws.id })
  await call('get_chat_session', { chat_session_id: chatId })
  const extra = await call('create_chat_session', { workspace_id: ws.id })
  await call('rename_chat_session', { chat_session_id: extra.id, name: 'renamed' })
  await call('get_chat_snapshot', { chat_session_id: chatId })

  let from = client.frames.length
  await call('send_chat_message', { chat_session_id: chatId, content: 'sleep: 1000' })
  await call('steer_queued_chat_message', { chat_session_id: chatId, content: 'steered' })
  await waitResult(client, chatId, from)
  await waitResult(client, chatId, client.frames.findIndex((f, i) => i >= from && f.json?.event === 'agent-stream' && f.json.payload.event?.Stream?.type === 'result') + 1)
  await call('get_chat_snapshot', { chat_session_id: chatId, limit: 1 })

  const prompted = async (content: string, extraParams: Record<string, unknown> = {}): Promise<string> => {
    const start = client.frames.length
    await call('send_chat_message', { chat_session_id: chatId, content, ...extraParams })
    const f = await client.waitFor(fr => fr.json?.event === 'agent-permission-prompt', 10_000, start)
    // The snapshot while a prompt waits: pending_controls and a running live turn.
    await call('get_chat_snapshot', { chat_session_id: chatId })
    return f.json.payload.tool_use_id
  }
  from = client.frames.length
  let toolUseId = await prompted('ask: Which colour?')
  await call('submit_agent_answer', { chat_session_id: chatId, tool_use_id: toolUseId, answers: { 'Which colour?': 'blue' } })
  await waitResult(client, chatId, from)
  from = client.frames.length
  toolUseId = await prompted('plan: refactor', { plan_mode: true })
  await call('submit_plan_approval', { chat_session_id: chatId, tool_use_id: toolUseId, approved: true })
  await waitResult(client, chatId, from)
  from = client.frames.length
  toolUseId = await prompted('bash: echo conformance', { permission_level: 'standard' })
  await call('submit_agent_approval', { chat_session_id: chatId, tool_use_id: toolUseId, approved: false, reason: 'not now' })
  await waitResult(client, chatId, from)

  await call('load_chat_history', { chat_session_id: chatId })
  await call('load_completed_turns', { chat_session_id: chatId })
  await call('load_initial_data')
  await call('stop_agent', { chat_session_id: chatId })
  await call('reset_agent_session', { chat_session_id: chatId })
  await call('archive_chat_session', { chat_session_id: extra.id }) // another one is active: null
  await call('archive_chat_session', { chat_session_id: chatId }) // the last active one: its successor

  // Terminals.
  const { pty_id: ptyId } = await call('spawn_pty', { workspace_id: ws.id, cwd: ws.worktree_path, rows: 24, cols: 80 })
  await call('write_pty', { pty_id: ptyId, data: [...Buffer.from('echo conformance\n')] })
  await client.event('pty-output', p => p.pty_id === ptyId)
  await call('resize_pty', { pty_id: ptyId, rows: 30, cols: 100 })
  await call('list_ptys')
  await call('detach_pty', { pty_id: ptyId })
  await call('attach_pty', { pty_id: ptyId })
  await call('attach_pty', { pty_id: ptyId, since: 0 })
  await call('set_pty_encoding', { encoding: 'json' })
  client.sendBinary(Buffer.from([0x02, 0x00])) // too short to carry a pty id
  await client.event('pty-input-error')
  client.sendBinary(Buffer.from([0x02, 0x7f, 0xff, 0xff, 0xff, 0x41])) // a pty id that does not exist
  await client.event('pty-input-error', p => p.pty_id !== null)
  await call('close_pty', { pty_id: ptyId })
  await client.event('pty-exit', p => p.pty_id === ptyId)
  await call('list_ptys')

  // Archive and restore (workspace-changed), then a second device revoked.
  await call('archive_workspace', { workspace_id: ws.id })
  await call('restore_workspace', { workspace_id: ws.id })
  await client.event('workspace-changed', p => p.workspace.status === 'Active')
  const other = await TestClient.paired(t, server, 'other')
  const sessions = await call('list_sessions')
  await call('revoke_session', { session_id: sessions.find((s: any) => s.name === 'other').id })
  await other.closed

  t.same(Object.keys(Methods).filter(m => !called.has(m)), [], 'every method of the table was called')

  // Every event the client saw is in the event table and conforms to its payload schema.
  const seen = new Set<string>()
  for (const f of client.frames) {
    if (typeof f.json?.event !== 'string') continue
    const name = f.json.event as string
    t.ok(Object.hasOwn(Events, name), `event ${name} is in the protocol's event table`)
    if (!Object.hasOwn(Events, name)) continue
    const issues = mismatches(Events[name as keyof typeof Events], f.json.payload)
    if (!seen.has(name) || issues.length > 0) t.same(issues, [], `${name} payload conforms`, { payload: f.json.payload })
    seen.add(name)
  }
  t.same(Object.keys(Events).filter(e => !seen.has(e)).sort(), [], 'every event of the table was seen')
})

t.test('the checker bites: a missing, an extra and a mistyped field', async t => {
  const info = { alive: true, cols: 80, cwd: '/tmp', exit_code: null, output_bytes: 0, pty_id: 1, rows: 24, signal: null, workspace_id: null }
  const schema = Methods.list_ptys.result
  t.same(mismatches(schema, [info]), [])
  const { output_bytes: _gone, ...missing } = info
  t.not(mismatches(schema, [missing]).length, 0, 'a field the schema requires is missing')
  t.not(mismatches(schema, [{ ...info, extra: 1 }]).length, 0, 'a field the schema does not name')
  t.not(mismatches(schema, [{ ...info, exit_code: 'x' }]).length, 0, 'a field of the wrong type')
})
