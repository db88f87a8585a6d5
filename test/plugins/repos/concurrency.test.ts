// Two clients creating workspaces concurrently in one repository: every call succeeds or gets a
// clear error, and git's worktree list matches the database afterwards.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { addRepo, gitIn, makeRepo, setup } from './_helpers.js'

t.test('concurrent create_workspace from two clients keeps the repository consistent', async t => {
  const repoPath = makeRepo(t)
  const { server, client: c1 } = await setup(t)
  const c2 = await TestClient.paired(t, server, 'second-device')
  const repo = await addRepo(c1, repoPath)

  const names = Array.from({ length: 6 }, (_, i) => `task-${i}`)
  // distinct names from both clients, plus the same name from both at once
  const calls = [
    ...names.map((name, i) => (i % 2 === 0 ? c1 : c2).request('create_workspace', { repository_id: repo.id, name })),
    c1.request('create_workspace', { repository_id: repo.id, name: 'same' }),
    c2.request('create_workspace', { repository_id: repo.id, name: 'same' }),
  ]
  const results = await Promise.all(calls)
  for (const r of results.slice(0, names.length)) t.ok(r.result?.workspace, `created ${r.result?.workspace?.name}`)
  const same = results.slice(names.length)
  t.equal(same.filter(r => r.result).length, 1, 'one of the two same-name creates wins')
  t.equal(same.find(r => r.error)?.error.message, "Workspace 'same' already exists in this repository", 'the other gets a clear error')

  const list = await c1.call('list_workspaces')
  t.equal(list.length, names.length + 1)
  t.same(list.map((w: any) => w.sort_order).sort((a: number, b: number) => a - b), [0, 1, 2, 3, 4, 5, 6], 'distinct sort orders')
  const worktrees = gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).map(l => l.slice(9))
  t.same(worktrees.slice(1).sort(), list.map((w: any) => w.worktree_path).sort(), 'git worktree list = the database')

  // archive everything concurrently too
  const archived = await Promise.all(list.map((w: any, i: number) => (i % 2 ? c1 : c2).call('archive_workspace', { workspace_id: w.id })))
  t.same(archived, list.map(() => null))
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1)
})
