// A git failure half-way through create_workspace leaves nothing behind, and says why.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { addRepo, errorOf, gitIn, makeRepo, setup } from './_helpers.js'

t.test('a failing checkout (the owner\'s required filter driver fails): worktree, branch, directory and rows are rolled back', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  // Hooks never run; a checkout does run the owner's filter drivers (docs/workspaces.md).
  const attributes = join(repoPath, '.git', 'info', 'attributes')
  mkdirSync(dirname(attributes), { recursive: true })
  writeFileSync(attributes, '* filter=gate\n')
  gitIn(repoPath, 'config', 'filter.gate.smudge', 'sh -c "echo checkout refused by policy >&2; exit 1"')
  gitIn(repoPath, 'config', 'filter.gate.required', 'true')

  t.match(await errorOf(client, 'create_workspace', { repository_id: repo.id, name: 'half' }), /^git worktree failed: (error|fatal): .*filter.*failed/)
  t.same(await client.call('list_workspaces'), [], 'no row')
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1, 'no worktree')
  t.equal(gitIn(repoPath, 'branch', '--list', 'claudette/half'), '', 'no branch')
  const base = (await client.call('load_initial_data')).worktree_base_dir
  t.notOk(existsSync(join(base, repo.path_slug, 'half')), 'no directory')

  rmSync(attributes)
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'half' })
  t.equal(workspace.name, 'half', 'the same name works once the cause is gone')
  t.same(readdirSync(join(base, repo.path_slug)), ['half'])
})

t.test('restore fails cleanly when the branch is gone or the path is taken', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace: a } = await client.call('create_workspace', { repository_id: repo.id, name: 'a' })
  const { workspace: b } = await client.call('create_workspace', { repository_id: repo.id, name: 'b' })
  await client.call('archive_workspace', { workspace_id: a.id })
  await client.call('archive_workspace', { workspace_id: b.id })
  gitIn(repoPath, 'branch', '-D', 'claudette/a')
  t.equal(await errorOf(client, 'restore_workspace', { workspace_id: a.id }), "Branch 'claudette/a' no longer exists; the workspace cannot be restored")
  writeFileSync(b.worktree_path, 'in the way')
  t.equal(await errorOf(client, 'restore_workspace', { workspace_id: b.id }), `Worktree path already exists: ${b.worktree_path}`)
  rmSync(b.worktree_path)
  t.equal((await client.call('restore_workspace', { workspace_id: b.id })).worktree_path, b.worktree_path)
  t.same((await client.call('list_workspaces')).map((w: any) => [w.name, w.status]), [['a', 'Archived'], ['b', 'Active']])
})

t.test('archive survives a worktree directory deleted behind the server\'s back', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'vanished' })
  rmSync(workspace.worktree_path, { recursive: true, force: true })
  t.equal(await errorOf(client, 'load_diff_files', { workspace_id: workspace.id }), 'Workspace has no worktree')
  t.equal(await client.call('archive_workspace', { workspace_id: workspace.id }), null)
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1, 'pruned')
  t.equal((await client.call('restore_workspace', { workspace_id: workspace.id })).workspace.status, 'Active')
})

t.test('a locked worktree is archived completely and can be restored', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'locked' })
  gitIn(repoPath, 'worktree', 'lock', '--reason', 'someone else', workspace.worktree_path)
  t.equal(await client.call('archive_workspace', { workspace_id: workspace.id }), null)
  t.notOk(existsSync(workspace.worktree_path), 'directory removed')
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1, 'no stale (locked) entry left')
  t.equal((await client.call('restore_workspace', { workspace_id: workspace.id })).worktree_path, workspace.worktree_path)
  // and a locked worktree whose directory was deleted behind our back
  gitIn(repoPath, 'worktree', 'lock', workspace.worktree_path)
  rmSync(workspace.worktree_path, { recursive: true, force: true })
  t.equal(await client.call('archive_workspace', { workspace_id: workspace.id }), null)
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1)
  t.equal((await client.call('restore_workspace', { workspace_id: workspace.id })).workspace.status, 'Active')
})
