// workspace-changed is broadcast to every authenticated connection; archive hooks run first.
import t from 'tap'
import { resolve } from '../../../src/core/tokens.js'
import { REPOS } from '../../../src/plugins/repos/types.js'
import { TestClient } from '../../helpers/client.js'
import { addRepo, errorOf, gitIn, makeRepo, setup } from './_helpers.js'

t.test('create, archive and restore broadcast workspace-changed to all clients', async t => {
  const repoPath = makeRepo(t)
  const { server, client: c1 } = await setup(t)
  const c2 = await TestClient.paired(t, server, 'watcher')
  const unauth = await TestClient.connect(t, server)
  const repo = await addRepo(c1, repoPath)
  const dir = resolve(server.app.di, REPOS.Directory)
  const seen: string[] = []
  dir.onDidChangeWorkspace(w => seen.push(`${w.name}:${w.status}`))
  const hookCalls: string[] = []
  dir.addArchiveHook(async w => { hookCalls.push(`${w.id}:${w.status}`) })
  dir.addArchiveHook(() => { throw new Error('a failing hook does not block archiving') })

  const { workspace } = await c1.call('create_workspace', { repository_id: repo.id, name: 'evt' })
  for (const c of [c1, c2]) {
    const p = await c.event('workspace-changed', x => x.workspace.status === 'Active')
    t.same(p, { workspace })
  }
  await c2.call('archive_workspace', { workspace_id: workspace.id })
  t.same(hookCalls, [`${workspace.id}:Active`], 'archive hook saw the workspace before it was archived')
  for (const c of [c1, c2]) {
    const p = await c.event('workspace-changed', x => x.workspace.status === 'Archived')
    t.equal(p.workspace.id, workspace.id)
    t.equal(p.workspace.worktree_path, null)
  }
  await c1.call('restore_workspace', { workspace_id: workspace.id })
  await c2.event('workspace-changed', x => x.workspace.status === 'Active' && c2.frames.filter(f => f.json?.event === 'workspace-changed').length === 3)
  t.same(seen, ['evt:Active', 'evt:Archived', 'evt:Active'])
  t.notOk(unauth.frames.some(f => f.json?.event), 'unauthenticated connections get no events')
  const ev = c1.frames.find(f => f.json?.event === 'workspace-changed')!
  t.ok(ev.text!.startsWith('{"event":"workspace-changed","payload":{"workspace":{"agent_status":'), 'event envelope without id')
})

t.test('onDidInsertWorkspace fires inside the insert\'s transaction: a listener that throws rolls the whole create back', async t => {
  const repoPath = makeRepo(t)
  const { server, client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const dir = resolve(server.app.di, REPOS.Directory)
  const inserted: string[] = []
  const refuse = dir.onDidInsertWorkspace(e => { inserted.push(e.workspace.id); throw new Error('refused by a listener') })

  t.equal(await errorOf(client, 'create_workspace', { repository_id: repo.id, name: 'tx' }), 'Internal error')
  t.equal(inserted.length, 1)
  t.same(await client.call('list_workspaces'), [], 'no workspace row')
  t.same(await client.call('list_chat_sessions', { workspace_id: inserted[0] }), [], 'nor the chat session the agents plugin inserted before')
  t.equal(gitIn(repoPath, 'branch', '--list', 'claudette/tx'), '', 'the worktree and branch are rolled back')

  await refuse.dispose()
  const { default_session_id: chatId, workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'tx' })
  const sessions = await client.call('list_chat_sessions', { workspace_id: workspace.id })
  t.same(sessions.map((s: any) => [s.id, s.name, s.sort_order, s.created_at]), [[chatId, 'New chat', 0, workspace.created_at]], 'the first chat session, made with the workspace')
})
