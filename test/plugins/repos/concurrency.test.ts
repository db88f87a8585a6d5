// Two clients creating workspaces concurrently in one repository: every call succeeds or gets a
// clear error, and git's worktree list matches the database afterwards.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { openAdmin } from '../../../src/index.js'
import { RepoNotFoundError } from '../../../src/plugins/repos/errors.js'
import type { RepoInfo, RepoProvider } from '../../../src/plugins/repos/types.js'
import { TestClient } from '../../helpers/client.js'
import { waitFor } from '../../helpers/wait.js'
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

t.test('remove_repository racing create_workspace never leaves a workspace without its repository', async t => {
  const { client } = await setup(t)
  for (let round = 0; round < 3; round++) {
    const repo = await addRepo(client, makeRepo(t, `race-${round}`))
    const [removed, created] = await Promise.all([
      client.request('remove_repository', { repository_id: repo.id }),
      client.request('create_workspace', { repository_id: repo.id, name: 'late' }),
    ])
    if (removed.error) {
      t.equal(removed.error.message, 'Repository has 1 active workspace; archive it first', 'the create won: the remove is refused')
      t.ok(created.result?.workspace)
    } else {
      t.equal(created.error?.message, 'Repository not found', 'the remove won: the create is refused')
      t.equal(gitIn(repo.path, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1, 'no worktree left')
      t.equal(gitIn(repo.path, 'branch', '--list', 'claudette/late'), '', 'no branch left')
    }
  }
  const repos = new Set((await client.call('list_repositories')).map((r: any) => r.id))
  for (const w of await client.call('list_workspaces')) t.ok(repos.has(w.repository_id), `${w.name} has its repository`)
})

t.test('`repo remove` from another process while git is creating the worktree: the create rolls back', async t => {
  const repoPath = makeRepo(t)
  const { server, client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  // The owner's smudge filter runs inside `git worktree add` (hooks never do): it says so, then
  // waits until the test has removed the repository.
  const marker = join(repoPath, '.git', 'in-checkout')
  const release = join(repoPath, '.git', 'release-checkout')
  mkdirSync(join(repoPath, '.git', 'info'), { recursive: true })
  writeFileSync(join(repoPath, '.git', 'info', 'attributes'), 'README.md filter=gate\n')
  gitIn(repoPath, 'config', 'filter.gate.smudge', `sh -c "touch '${marker}'; while [ ! -e '${release}' ]; do sleep 0.02; done; cat"`)
  const creating = client.request('create_workspace', { repository_id: repo.id, name: 'orphan' })
  await waitFor(() => existsSync(marker), { what: 'the checkout to start' })
  const admin = await openAdmin({ home: server.home })
  t.teardown(() => admin.close())
  t.equal((await admin.repos.remove(repo.id))?.id, repo.id, 'no workspace row yet: the remove goes through')
  writeFileSync(release, '')
  const res = await creating
  t.equal(res.error?.message, 'Repository not found')
  t.same(await client.call('list_workspaces'), [], 'no orphan row')
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1, 'no worktree')
  t.equal(gitIn(repoPath, 'branch', '--list', 'claudette/orphan'), '', 'no branch')
})

/** An embedder's provider whose repositories share a worktree directory (same slug) or one git repository (same path). */
class SharedProvider implements RepoProvider {
  readonly kind = 'shared'
  constructor (readonly repos: RepoInfo[]) {}
  async list (): Promise<readonly RepoInfo[]> { return this.repos }
  async get (id: string): Promise<RepoInfo> {
    const r = this.repos.find(x => x.id === id)
    if (!r) throw new RepoNotFoundError(id)
    return r
  }
  async resolveInside (): Promise<string> { throw new Error('not used') }
}

t.test('repositories sharing a worktree directory or a git repository are serialized too', async t => {
  const p1 = makeRepo(t, 'one')
  const p2 = makeRepo(t, 'two')
  const provider = new SharedProvider([
    { id: 'a', path: p1, name: 'A', path_slug: 'shared' },
    { id: 'b', path: p2, name: 'B', path_slug: 'shared' },
    { id: 'a-again', path: p1, name: 'A again', path_slug: 'elsewhere' },
  ])
  const { client } = await setup(t, { repos: { provider } })
  for (let round = 0; round < 3; round++) {
    const name = `same-${round}`
    const ids = ['a', 'b', 'a-again']
    const results = await Promise.all(ids.map(id => client.request('create_workspace', { repository_id: id, name })))
    const won = new Set(ids.filter((_, i) => results[i].result))
    // a and b share a worktree path, a and a-again a branch: never both; b and a-again may both win
    t.ok(won.size >= 1 && !(won.has('a') && won.has('b')) && !(won.has('a') && won.has('a-again')), `${name}: winners ${[...won].join(', ')}`)
    for (const r of results.filter(r => r.error)) t.match(r.error.message, /^(Worktree path already exists: |Branch 'claudette\/same-\d' already exists$)/, 'the others get a clear error')
    for (const r of results.filter(r => r.result)) {
      t.ok(existsSync(join(r.result.workspace.worktree_path, 'README.md')), 'a winner\'s worktree is intact (no rollback removed it)')
    }
  }
  const list = await client.call('list_workspaces')
  for (const p of [p1, p2]) {
    const trees = gitIn(p, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).map(l => l.slice(9)).slice(1)
    const rows = list.filter((w: any) => provider.repos.find(r => r.id === w.repository_id)!.path === p).map((w: any) => w.worktree_path)
    t.same(trees.sort(), rows.sort(), `${p}: git worktree list = the database`)
  }
})

t.test('`repo remove` from another process while git restores a worktree: the restore rolls back', async t => {
  const repoPath = makeRepo(t)
  const { server, client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'back' })
  await client.call('archive_workspace', { workspace_id: workspace.id })
  const marker = join(repoPath, '.git', 'in-checkout')
  const release = join(repoPath, '.git', 'release-checkout')
  mkdirSync(join(repoPath, '.git', 'info'), { recursive: true })
  writeFileSync(join(repoPath, '.git', 'info', 'attributes'), 'README.md filter=gate\n')
  gitIn(repoPath, 'config', 'filter.gate.smudge', `sh -c "touch '${marker}'; while [ ! -e '${release}' ]; do sleep 0.02; done; cat"`)
  const restoring = client.request('restore_workspace', { workspace_id: workspace.id })
  await waitFor(() => existsSync(marker), { what: 'the checkout to start' })
  const admin = await openAdmin({ home: server.home })
  t.teardown(() => admin.close())
  t.equal((await admin.repos.remove(repo.id))?.id, repo.id, 'the workspace is still archived: the remove goes through')
  writeFileSync(release, '')
  t.equal((await restoring).error?.message, 'Workspace not found')
  t.notOk(existsSync(workspace.worktree_path), 'no worktree directory')
  t.equal(gitIn(repoPath, 'worktree', 'list', '--porcelain').split('\n').filter(l => l.startsWith('worktree ')).length, 1, 'no worktree entry')
  t.match(gitIn(repoPath, 'branch', '--list', 'claudette/back'), /claudette\/back/, 'the branch is kept')
})
