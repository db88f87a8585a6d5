// The server's own git calls work on a host with no git identity and no global git config.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { addRepo, makeRepo, setup, writeFile } from './_helpers.js'

const emptyHome = mkdtempSync(join(tmpdir(), 'claudette-nohome-'))
t.teardown(() => rmSync(emptyHome, { recursive: true, force: true }))
// makeRepo's own git calls carry an identity in their env; the server's inherit this process env.
for (const k of Object.keys(process.env)) if (/^GIT_(AUTHOR|COMMITTER)_/.test(k) || k === 'EMAIL') delete process.env[k]
process.env.HOME = emptyHome
process.env.XDG_CONFIG_HOME = emptyHome
process.env.GIT_CONFIG_GLOBAL = join(emptyHome, 'no-such-gitconfig')
process.env.GIT_CONFIG_NOSYSTEM = '1'

t.test('create, diff, archive and restore without a git identity', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'anon' })
  writeFile(workspace.worktree_path, 'new.txt', 'x\n')
  const diff = await client.call('load_diff_files', { workspace_id: workspace.id })
  t.same(diff.staged_files.untracked.map((f: any) => f.path), ['new.txt'])
  t.equal(await client.call('archive_workspace', { workspace_id: workspace.id }), null)
  t.equal((await client.call('restore_workspace', { workspace_id: workspace.id })).workspace.status, 'Active')
})
