// create_workspace → list → archive → restore, with the wire shapes checked field by field.
import { existsSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { addRepo, errorOf, gitIn, makeRepo, setup } from './_helpers.js'

const WORKSPACE_KEYS = ['agent_status', 'branch_name', 'created_at', 'id', 'input_values', 'name', 'repository_id', 'sort_order', 'status', 'status_line', 'worktree_path']
const TS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/

t.test('create, list, archive and restore a workspace', async t => {
  const repoPath = makeRepo(t)
  const { server, client } = await setup(t)
  const repo = await addRepo(client, repoPath)

  const created = await client.call('create_workspace', { repository_id: repo.id, name: 'fix-login' })
  t.same(Object.keys(created), ['default_session_id', 'setup_result', 'workspace'])
  t.match(created.default_session_id, /^[0-9a-f-]{36}$/)
  t.equal(created.setup_result, null)
  const ws = created.workspace
  t.same(Object.keys(ws), WORKSPACE_KEYS)
  t.equal(ws.agent_status, 'Idle')
  t.equal(ws.branch_name, 'claudette/fix-login')
  t.match(ws.created_at, TS)
  t.equal(ws.input_values, null)
  t.equal(ws.name, 'fix-login')
  t.equal(ws.repository_id, repo.id)
  t.equal(ws.sort_order, 0)
  t.equal(ws.status, 'Active')
  t.equal(ws.status_line, '')
  const base = realpathSync(join(server.home, 'workspaces'))
  t.equal(ws.worktree_path, join(base, repo.path_slug, 'fix-login'))
  t.ok(existsSync(join(ws.worktree_path, 'src/a.txt')), 'worktree checked out')
  t.equal(gitIn(ws.worktree_path, 'symbolic-ref', '--short', 'HEAD').trim(), 'claudette/fix-login')
  t.equal(gitIn(ws.worktree_path, 'rev-parse', 'HEAD'), gitIn(repoPath, 'rev-parse', 'main'), 'branched from main')

  const second = await client.call('create_workspace', { repository_id: repo.id, name: 'Second2' })
  t.equal(second.workspace.sort_order, 1)
  t.not(second.default_session_id, created.default_session_id)

  const list = await client.call('list_workspaces')
  t.same(list.map((w: any) => w.name), ['fix-login', 'Second2'])
  t.same(list[0], ws)

  t.equal(await client.call('archive_workspace', { workspace_id: ws.id }), null)
  t.notOk(existsSync(ws.worktree_path), 'worktree removed')
  t.match(gitIn(repoPath, 'branch', '--list', 'claudette/fix-login'), /claudette\/fix-login/, 'branch kept')
  t.notMatch(gitIn(repoPath, 'worktree', 'list'), /fix-login/)
  const archived = (await client.call('list_workspaces')).find((w: any) => w.id === ws.id)
  t.equal(archived.status, 'Archived')
  t.equal(archived.agent_status, 'Stopped')
  t.equal(archived.worktree_path, null)
  t.same(archived, { ...ws, agent_status: 'Stopped', status: 'Archived', worktree_path: null }, 'archived: every other field unchanged')
  t.equal(await errorOf(client, 'archive_workspace', { workspace_id: ws.id }), 'Workspace is already archived')

  const restored = await client.call('restore_workspace', { workspace_id: ws.id })
  t.same(Object.keys(restored), ['workspace', 'worktree_path'])
  t.equal(restored.worktree_path, ws.worktree_path)
  t.equal(restored.workspace.status, 'Active')
  t.same(restored.workspace, ws, 'restored: the workspace as it was created, field for field')
  t.ok(existsSync(join(ws.worktree_path, 'README.md')))
  t.equal(gitIn(ws.worktree_path, 'symbolic-ref', '--short', 'HEAD').trim(), 'claudette/fix-login')
  t.equal(await errorOf(client, 'restore_workspace', { workspace_id: ws.id }), 'Workspace is already active')
})

t.test('reference errors: unknown ids and invalid names', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  t.equal(await errorOf(client, 'create_workspace', { repository_id: 'nope', name: 'bad name' }), 'Repository not found', 'repository checked first')
  t.equal(await errorOf(client, 'create_workspace', {}), 'Repository not found')
  for (const name of ['', '-x', 'x-', 'a b', 'a;b', '--upload-pack=evil', 'a/b', 'ü', '..', 'a'.repeat(101), 'a'.repeat(1000)]) {
    t.equal(await errorOf(client, 'create_workspace', { repository_id: repo.id, name }), `Invalid workspace name: '${name}'`)
  }
  t.equal(await errorOf(client, 'archive_workspace', { workspace_id: 'nope' }), 'Workspace not found')
  t.equal(await errorOf(client, 'restore_workspace', {}), 'Workspace not found')
  await client.call('create_workspace', { repository_id: repo.id, name: 'dup' })
  t.equal(await errorOf(client, 'create_workspace', { repository_id: repo.id, name: 'dup' }), "Workspace 'dup' already exists in this repository")
  // a branch with work of its own is never touched
  const own = gitIn(repoPath, 'commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', 'own work').trim()
  gitIn(repoPath, 'branch', 'claudette/taken', own)
  t.equal(await errorOf(client, 'create_workspace', { repository_id: repo.id, name: 'taken' }), "Branch 'claudette/taken' already exists")
  t.equal((await client.call('list_workspaces')).length, 1, 'failed creates leave nothing behind')
  // a leftover branch with no commits of its own (a create killed half-way) is cleaned up
  gitIn(repoPath, 'branch', 'claudette/leftover')
  t.equal((await client.call('create_workspace', { repository_id: repo.id, name: 'leftover' })).workspace.branch_name, 'claudette/leftover')
})
