// load_initial_data: what the Claudette apps call right after authenticate.
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { resolve } from '../../../src/core/tokens.js'
import { REPOS } from '../../../src/plugins/repos/types.js'
import { addRepo, gitIn, makeRepo, setup, tempDir, writeFile } from './_helpers.js'

t.test('load_initial_data with repositories, workspaces and default branches', async t => {
  const a = makeRepo(t, 'alpha')
  const b = makeRepo(t, 'beta')
  gitIn(b, 'checkout', '-q', '-b', 'develop') // the main checkout's branch is the default when there is no remote
  const c = makeRepo(t, 'gamma')
  const { server, client } = await setup(t)

  const empty = await client.call('load_initial_data', {})
  t.same(empty, { default_branches: {}, last_messages: [], repositories: [], workspaces: [], worktree_base_dir: realpathSync(join(server.home, 'workspaces')) })
  t.equal(client.frames.at(-1)!.text!.indexOf('{"id":'), 0)

  const ra = await addRepo(client, a)
  const rb = await addRepo(client, b)
  const rc = await addRepo(client, c)
  const { workspace: w1 } = await client.call('create_workspace', { repository_id: ra.id, name: 'one' })
  const { workspace: w2 } = await client.call('create_workspace', { repository_id: ra.id, name: 'two' })
  await client.call('archive_workspace', { workspace_id: w2.id })
  gitIn(w1.worktree_path, 'checkout', '-q', '-b', 'renamed-by-agent')
  gitIn(c, 'checkout', '-q', '--detach')
  gitIn(c, 'branch', '-q', '-m', 'main', 'trunk')

  const data = await client.call('load_initial_data')
  t.same(Object.keys(data), ['default_branches', 'last_messages', 'repositories', 'workspaces', 'worktree_base_dir'])
  t.same(data.default_branches, { [ra.id]: 'main', [rb.id]: 'develop' }, 'repos where detection fails are left out')
  t.same(Object.keys(data.default_branches), [ra.id, rb.id].sort(), 'keys in alphabetical order')
  t.same(data.repositories.map((r: any) => r.id), [ra.id, rb.id, rc.id])
  t.same(data.repositories[0], ra)
  t.same(data.last_messages, [])
  t.equal(data.workspaces.length, 2, 'archived included')
  const one = data.workspaces.find((w: any) => w.id === w1.id)
  t.equal(one.branch_name, 'renamed-by-agent', 'active workspaces show the current git branch')
  gitIn(w1.worktree_path, 'checkout', '-q', '--detach')
  t.equal((await client.call('load_initial_data')).workspaces.find((w: any) => w.id === w1.id).branch_name, '(detached)')
  t.equal(data.workspaces.find((w: any) => w.id === w2.id).status, 'Archived')
})

t.test('the remote HEAD branch wins over the checked-out branch; workspaces start from it', async t => {
  const upstream = makeRepo(t, 'upstream')
  const clone = join(tempDir(t), 'clone')
  gitIn(upstream, 'clone', '-q', upstream, clone)
  gitIn(clone, 'checkout', '-q', '-b', 'feature')
  writeFile(clone, 'feature.txt', 'f\n')
  gitIn(clone, 'add', '.')
  gitIn(clone, 'commit', '-q', '-m', 'feature work')
  const { client } = await setup(t)
  const repo = await addRepo(client, clone)
  t.same((await client.call('load_initial_data')).default_branches, { [repo.id]: 'main' })
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'from-main' })
  t.equal(gitIn(workspace.worktree_path, 'rev-parse', 'HEAD'), gitIn(clone, 'rev-parse', 'main'), 'branched from main, not the checked-out feature branch')
  const diff = await client.call('load_diff_files', { workspace_id: workspace.id })
  t.equal(diff.merge_base, gitIn(clone, 'rev-parse', 'main').trim())
  t.equal((await client.call('load_initial_data')).workspaces[0].branch_name, 'claudette/from-main')
})

t.test('other plugins contribute parts of load_initial_data; a failing contributor is ignored', async t => {
  const { server, client } = await setup(t)
  const dir = resolve(server.app.di, REPOS.Directory)
  const msg = { cache_creation_tokens: null, cache_read_tokens: null, chat_session_id: 's', content: 'hi', cost_usd: null, created_at: '2026-01-01 00:00:00', duration_ms: null, id: 'm', input_tokens: null, output_tokens: null, role: 'User' as const, thinking: null, workspace_id: 'w' }
  const d1 = dir.addInitialDataContributor(async () => ({ last_messages: [msg] }))
  dir.addInitialDataContributor(() => { throw new Error('boom') })
  t.same((await client.call('load_initial_data')).last_messages, [msg])
  await d1.dispose()
  t.same((await client.call('load_initial_data')).last_messages, [])
})

t.test('a branch name the repository reports that is not a safe ref is never used', async t => {
  const repoPath = makeRepo(t)
  // the remote's HEAD names a branch that looks like a git option (git itself accepts this file)
  mkdirSync(join(repoPath, '.git', 'refs', 'remotes', 'origin'), { recursive: true })
  writeFileSync(join(repoPath, '.git', 'refs', 'remotes', 'origin', 'HEAD'), 'ref: refs/remotes/origin/--output=pwned\n')
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  t.same((await client.call('load_initial_data')).default_branches, { [repo.id]: 'main' }, 'falls back to the checked-out branch')
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'safe-base' })
  t.equal(gitIn(workspace.worktree_path, 'rev-parse', 'HEAD'), gitIn(repoPath, 'rev-parse', 'refs/heads/main'))
  t.equal((await client.call('load_diff_files', { workspace_id: workspace.id })).merge_base, gitIn(repoPath, 'rev-parse', 'refs/heads/main').trim())
  t.notOk(existsSync(join(repoPath, 'pwned')))
})
