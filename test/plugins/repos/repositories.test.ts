// add_repository / list_repositories / remove_repository: only git work trees, shapes field by field.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { eventually } from '../../helpers/wait.js'
import { addRepo, errorOf, gitIn, makeRepo, setup, tempDir } from './_helpers.js'

const REPO_KEYS = ['archive_script', 'archive_script_auto_run', 'base_branch', 'branch_rename_preferences', 'created_at', 'custom_instructions',
  'default_remote', 'icon', 'id', 'name', 'path', 'path_slug', 'path_valid', 'required_inputs', 'setup_script', 'setup_script_auto_run', 'sort_order']

t.test('add_repository registers a git work tree; list_repositories returns the reference shape', async t => {
  const a = makeRepo(t, 'My Project')
  const b = makeRepo(t, 'second')
  const { client } = await setup(t)
  t.same(await client.call('list_repositories'), [])
  const ra = await addRepo(client, a)
  t.same(Object.keys(ra), REPO_KEYS)
  t.same({ ...ra, id: 'X', created_at: 'T' }, {
    archive_script: null, archive_script_auto_run: false, base_branch: null, branch_rename_preferences: null, created_at: 'T',
    custom_instructions: null, default_remote: null, icon: null, id: 'X', name: 'My Project', path: a, path_slug: 'my-project',
    path_valid: true, required_inputs: null, setup_script: null, setup_script_auto_run: false, sort_order: 0,
  })
  t.match(ra.id, /^[0-9a-f-]{36}$/)
  t.match(ra.created_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
  const rb = await addRepo(client, join(b, 'src', '..'), '  Nice name  ')
  t.equal(rb.name, 'Nice name')
  t.equal(rb.path, b, 'stored as the realpath')
  t.equal(rb.sort_order, 1)
  const list = await client.call('list_repositories')
  t.same(list, [ra, rb])
  // same slug twice gets a suffix
  const c = makeRepo(t, 'my-project')
  t.equal((await addRepo(client, c)).path_slug, 'my-project-2')
  // a hostile display name cannot steer the worktree location
  const d = makeRepo(t, 'd')
  const rd = await addRepo(client, d, '../../etc; rm -rf / --upload-pack=x')
  t.equal(rd.name, '../../etc; rm -rf / --upload-pack=x')
  t.equal(rd.path_slug, 'etc-rm-rf-upload-pack-x')
  const { workspace } = await client.call('create_workspace', { repository_id: rd.id, name: 'w' })
  t.equal(workspace.worktree_path, join((await client.call('load_initial_data')).worktree_base_dir, 'etc-rm-rf-upload-pack-x', 'w'))
  // path_valid really checks the directory: lists may answer from a check up to 1 s old
  // (DirectoryCheck), single lookups check at once
  t.equal((await client.call('list_repositories'))[0].path_valid, true)
  renameSync(a, a + '-moved')
  const moved = Date.now()
  const valid = await eventually(async () => (await client.call('list_repositories'))[0].path_valid === false, { timeout: 3000, interval: 100 })
  t.equal(valid, true, 'path_valid turns false')
  t.ok(Date.now() - moved < 1500, `within the cache's second (${Date.now() - moved} ms)`)
  renameSync(a + '-moved', a)
})

t.test('add_repository refuses what is not a git work tree, with clear errors', async t => {
  const repo = makeRepo(t)
  const dir = tempDir(t)
  mkdirSync(join(dir, 'plain'))
  writeFileSync(join(dir, 'file.txt'), 'x')
  gitIn(dir, 'init', '-q', '--bare', 'bare.git')
  symlinkSync(repo, join(dir, 'link'))
  const { client } = await setup(t)
  t.equal(await errorOf(client, 'add_repository', { path: join(dir, 'plain') }), `Not a git repository: ${join(dir, 'plain')}`)
  t.equal(await errorOf(client, 'add_repository', { path: join(dir, 'missing') }), `Path does not exist: ${join(dir, 'missing')}`)
  t.equal(await errorOf(client, 'add_repository', { path: join(dir, 'file.txt') }), `Not a directory: ${join(dir, 'file.txt')}`)
  t.match(await errorOf(client, 'add_repository', { path: join(dir, 'bare.git') }), /^Not a git (work tree|repository)/)
  t.equal(await errorOf(client, 'add_repository', { path: join(repo, 'src') }), `Not the top of a git work tree: ${join(repo, 'src')} (the repository starts at ${repo})`)
  t.equal(await errorOf(client, 'add_repository', { path: 'relative/dir' }), 'Repository path must be an absolute path: relative/dir')
  t.equal(await errorOf(client, 'add_repository', { path: '/tmp/a\0b' }), 'Repository path must be an absolute path: /tmp/a\\0b')
  t.match(await errorOf(client, 'add_repository', {}), /^Invalid parameter 'path'/)
  t.match(await errorOf(client, 'add_repository', { path: 42 }), /^Invalid parameter 'path'/)
  const r = await addRepo(client, join(dir, 'link'))
  t.equal(r.path, repo, 'a symlink registers its target')
  t.equal(await errorOf(client, 'add_repository', { path: repo }), `Repository already registered: ${repo} (id ${r.id})`)
  t.equal((await client.call('list_repositories')).length, 1)
})

t.test('remove_repository: unknown ids, active workspaces, then removal', async t => {
  const repo = makeRepo(t)
  const { client } = await setup(t)
  const r = await addRepo(client, repo)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: r.id, name: 'busy' })
  t.equal(await errorOf(client, 'remove_repository', { repository_id: 'nope' }), 'Repository not found')
  t.equal(await errorOf(client, 'remove_repository', {}), 'Repository not found')
  t.equal(await errorOf(client, 'remove_repository', { repository_id: r.id }), 'Repository has 1 active workspace; archive it first')
  await client.call('archive_workspace', { workspace_id: ws.id })
  t.equal(await client.call('remove_repository', { repository_id: r.id }), null)
  t.same(await client.call('list_repositories'), [])
  t.same(await client.call('list_workspaces'), [], 'its archived workspaces went with it')
  t.match(gitIn(repo, 'branch', '--list', 'claudette/busy'), /busy/, 'branches stay in git')
  t.equal(await errorOf(client, 'create_workspace', { repository_id: r.id, name: 'again' }), 'Repository not found')
})

t.test('a worktree of this server cannot be registered as a repository', async t => {
  const repo = makeRepo(t)
  const { client } = await setup(t)
  const r = await addRepo(client, repo)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: r.id, name: 'inner' })
  t.equal(await errorOf(client, 'add_repository', { path: ws.worktree_path }), `Cannot register a workspace worktree as a repository: ${ws.worktree_path}`)
})
