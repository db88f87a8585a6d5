// A worktree's `.git` is a file anyone who can write in the worktree can change: pointed at a
// git dir planted in the repository's own content (`evil/` with a config whose core.fsmonitor,
// hooksPath and diff.external run a command), git would run that command as the server user.
// The server pins every git process to the admin dir it recorded and refuses a redirected
// worktree with a clear error: the planted command never runs, other workspaces keep working.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { addRepo, errorOf, makeEvilRepo, setup, writeFile } from './_helpers.js'

const UNSAFE = /^Workspace 'fix-login' is unsafe: its \.git no longer points to .+\/\.git\/worktrees\/fix-login; refusing to run git in it \(fix or remove it by hand\)$/

t.test('a worktree whose .git was redirected by a file write: nothing runs, every call says why', async t => {
  const { repoPath, marker } = makeEvilRepo(t)
  const lines: string[] = []
  const logStream = new Writable({ write (chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb() } })
  const { client } = await setup(t, { logStream, logLevel: 'warn' })
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'fix-login' })
  const wt = ws.worktree_path as string
  const original = readFileSync(join(wt, '.git'), 'utf8')
  t.notOk(existsSync(marker), 'nothing ran while creating the workspace')

  writeFileSync(join(wt, '.git'), 'gitdir: evil\n')
  // The attack is real: plain git in that worktree runs the planted command.
  execFileSync('git', ['status', '--porcelain'], { cwd: wt, stdio: 'ignore', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } })
  t.ok(existsSync(marker), 'control: git in the redirected worktree runs the planted fsmonitor')
  rmSync(marker)

  const noMarker = (what: string): void => { t.notOk(existsSync(marker), `${what}: the planted command did not run`) }
  t.match(await errorOf(client, 'load_diff_files', { workspace_id: ws.id }), UNSAFE, 'load_diff_files refused')
  noMarker('load_diff_files')
  for (const layer of [null, 'committed', 'staged', 'unstaged', 'untracked']) {
    t.match(await errorOf(client, 'load_file_diff', { worktree_path: wt, file_path: 'README.md', merge_base: '', diff_layer: layer }), UNSAFE, `load_file_diff (${layer}) refused`)
    noMarker(`load_file_diff ${layer}`)
  }
  t.match(await errorOf(client, 'archive_workspace', { workspace_id: ws.id }), UNSAFE, 'archive refused')
  noMarker('archive_workspace')
  t.ok(existsSync(join(wt, 'README.md')), 'the refused archive removed nothing')
  t.match(await errorOf(client, 'restore_workspace', { workspace_id: ws.id }), UNSAFE, 'restore refused')
  noMarker('restore_workspace')
  t.match(await errorOf(client, 'create_workspace', { repository_id: repo.id, name: 'fix-login' }), /already exists/)
  noMarker('create_workspace (same name)')

  // Initial data still answers; the unsafe workspace keeps its recorded branch, with a warning.
  const data = await client.call('load_initial_data', {})
  t.equal(data.workspaces.find((w: any) => w.id === ws.id).branch_name, ws.branch_name)
  t.ok(lines.some(l => l.includes('workspace is unsafe') && l.includes(ws.id)), 'a warning names the workspace')
  noMarker('load_initial_data')

  // Another workspace in the same repository works as before.
  const { workspace: other } = await client.call('create_workspace', { repository_id: repo.id, name: 'other' })
  noMarker('create_workspace (another)')
  writeFile(other.worktree_path, 'new.txt', 'x\n')
  const diff = await client.call('load_diff_files', { workspace_id: other.id })
  t.same(diff.files.map((f: any) => f.path), ['new.txt'])
  await client.call('archive_workspace', { workspace_id: other.id })
  await client.call('restore_workspace', { workspace_id: other.id })
  noMarker('the other workspace')

  // Fixed by hand: the workspace works again.
  writeFileSync(join(wt, '.git'), original)
  t.same((await client.call('load_diff_files', { workspace_id: ws.id })).files, [])
  await client.call('archive_workspace', { workspace_id: ws.id })
  noMarker('after the repair')
})

t.test('a .git replaced by a symlink or a directory is refused too', async t => {
  const { repoPath, marker } = makeEvilRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'fix-login' })
  const wt = ws.worktree_path as string
  const original = readFileSync(join(wt, '.git'), 'utf8')
  rmSync(join(wt, '.git'))
  execFileSync('ln', ['-s', 'evil', join(wt, '.git')])
  t.match(await errorOf(client, 'load_diff_files', { workspace_id: ws.id }), UNSAFE, 'a symlink to a planted git dir')
  t.notOk(existsSync(marker))
  rmSync(join(wt, '.git'))
  // A symlink to a file with the right content is still not a regular file.
  writeFileSync(join(wt, 'gitfile'), original)
  execFileSync('ln', ['-s', 'gitfile', join(wt, '.git')])
  t.match(await errorOf(client, 'load_diff_files', { workspace_id: ws.id }), UNSAFE, 'a symlink to a good gitfile')
  rmSync(join(wt, '.git'))
  execFileSync('cp', ['-r', join(wt, 'evil'), join(wt, '.git')])
  t.match(await errorOf(client, 'archive_workspace', { workspace_id: ws.id }), UNSAFE, 'a directory')
  t.notOk(existsSync(marker))
})

t.test('a workspace made before admin dirs were recorded is pinned to git\'s own entry for it', async t => {
  const { repoPath, marker } = makeEvilRepo(t)
  const { server, client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'fix-login' })
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(join(server.home, 'claudette.db'))
  t.teardown(() => db.close())
  const gitDir = (): string | null => db.prepare<[string], { git_dir: string | null }>('SELECT git_dir FROM workspaces WHERE id = ?').get(ws.id)!.git_dir
  const recorded = gitDir()
  t.equal(recorded, join(repoPath, '.git', 'worktrees', 'fix-login'), 'the admin dir git made is recorded')
  db.prepare('UPDATE workspaces SET git_dir = NULL WHERE id = ?').run(ws.id)
  writeFile(ws.worktree_path, 'new.txt', 'x\n')
  t.same((await client.call('load_diff_files', { workspace_id: ws.id })).files.map((f: any) => f.path), ['new.txt'], 'found and used')
  t.equal(gitDir(), recorded, 'and recorded')
  db.prepare('UPDATE workspaces SET git_dir = NULL WHERE id = ?').run(ws.id)
  writeFileSync(join(ws.worktree_path, '.git'), 'gitdir: evil\n')
  t.match(await errorOf(client, 'load_diff_files', { workspace_id: ws.id }), UNSAFE, 'a redirected legacy worktree is refused too')
  t.notOk(existsSync(marker))
})
