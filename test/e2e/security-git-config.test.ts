// A repository whose config makes git run commands (core.fsmonitor, core.hooksPath with hooks,
// a filter driver, diff.external, a textconv driver selected by .gitattributes, core.pager): the
// server's own git operations (initial data, diffs, checkpoints, archive) run none of them. The
// owner's filter driver runs only when a worktree is checked out (create, restore), as
// docs/workspaces.md says; hooks never do.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'
import { turn } from '../plugins/agents/_helpers.js'
import { gitIn, makeRepo, tempDir, writeFile } from '../plugins/repos/_helpers.js'

const HOOKS = ['post-checkout', 'reference-transaction', 'post-index-change', 'pre-commit', 'post-commit', 'pre-auto-gc', 'post-rewrite', 'pre-push']

t.test('configured commands never run in server-side git operations; filters only on checkout', async t => {
  const repoPath = makeRepo(t)
  const dir = tempDir(t)
  const log = join(dir, 'ran.log')
  const script = (name: string, body: string): string => {
    const file = join(dir, name)
    writeFileSync(file, `#!/bin/sh\necho ${name} >> '${log}'\n${body}\n`)
    chmodSync(file, 0o755)
    return file
  }
  const hooks = join(dir, 'hooks')
  for (const h of HOOKS) { writeFile(hooks, h, `#!/bin/sh\necho hook:${h} >> '${log}'\n`); chmodSync(join(hooks, h), 0o755) }
  writeFile(repoPath, '.gitattributes', '*.txt filter=spy diff=spy\n')
  gitIn(repoPath, 'add', '.gitattributes')
  gitIn(repoPath, 'commit', '-q', '-m', 'attributes')
  const config: Array<[string, string]> = [
    ['core.fsmonitor', script('fsmonitor', 'exit 0')],
    ['core.hooksPath', hooks],
    ['core.pager', script('pager', 'cat')],
    ['filter.spy.clean', script('clean', 'cat')],
    ['filter.spy.smudge', script('smudge', 'cat')],
    ['filter.spy.required', 'true'],
    ['diff.external', script('extdiff', 'exit 0')],
    ['diff.spy.textconv', script('textconv', 'cat "$1"')],
  ]
  for (const [k, v] of config) gitIn(repoPath, 'config', k, v)
  const ran = (): string[] => { try { return readFileSync(log, 'utf8').split('\n').filter(Boolean) } catch { return [] } }
  const reset = (): void => { rmSync(log, { force: true }) }
  // Control: these settings do run with plain git (so the checks below can fail).
  gitIn(repoPath, 'status', '--porcelain')
  t.ok(ran().includes('fsmonitor'), 'control: plain git status runs the fsmonitor')
  reset()

  const server = await startServer(t)
  const client = await TestClient.paired(t, server)
  const repo = await client.call('add_repository', { path: repoPath })
  t.same(ran(), [], 'add_repository ran nothing')

  const created = await client.call('create_workspace', { repository_id: repo.id, name: 'spied' })
  const ws = created.workspace
  const wt = ws.worktree_path as string
  t.ok(ran().includes('smudge'), 'create (a checkout) runs the owner\'s smudge filter')
  t.same(ran().filter(r => r !== 'smudge'), [], 'create runs no hook, no fsmonitor, nothing else')
  reset()

  // Changes in tracked .txt files: diffs and status would run clean, textconv, fsmonitor, ext diff.
  writeFile(wt, 'src/a.txt', 'one\nTWO\nthree\nfour\n')
  writeFile(wt, 'new.txt', 'new\n')
  gitIn(wt, 'add', 'new.txt')
  reset()

  await client.call('load_initial_data', {})
  t.same(ran(), [], 'load_initial_data ran nothing')
  const diff = await client.call('load_diff_files', { workspace_id: ws.id })
  t.same(diff.files.map((f: any) => f.path), ['new.txt', 'src/a.txt'])
  t.same(ran(), [], 'load_diff_files ran nothing (no clean filter, no fsmonitor)')
  for (const layer of [null, 'committed', 'staged', 'unstaged']) {
    const d = await client.call('load_file_diff', { worktree_path: wt, file_path: layer === 'staged' ? 'new.txt' : 'src/a.txt', merge_base: diff.merge_base, diff_layer: layer })
    t.ok(layer === 'committed' || d.hunks.length > 0, `load_file_diff (${layer}) answers`)
  }
  t.same(ran(), [], 'load_file_diff ran nothing (no textconv, no external diff, no pager)')

  // The end-of-turn checkpoint (git add -A into a temporary index, write-tree, commit-tree, update-ref).
  await turn(client, created.default_session_id, 'write: notes.txt agent notes')
  const cp = client.frames.map(f => f.json).filter(j => j?.event === 'checkpoint-created').at(-1).payload.checkpoint
  t.same(ran(), [], 'the checkpoint ran nothing (no clean filter, no reference-transaction hook)')
  t.equal(cp.has_file_state, true, 'the checkpoint recorded the worktree')
  t.equal(gitIn(wt, 'show', `${cp.commit_hash as string}:notes.txt`), 'agent notes\n', 'unfiltered content, as the worktree has it')

  // A nested repository committed in the worktree (a submodule's .git is the worktree's to write):
  // its own config runs a command when git recurses into it. The server never recurses.
  const sub = join(wt, 'sub')
  mkdirSync(sub)
  gitIn(sub, 'init', '-q')
  writeFile(sub, 'README', 'sub\n')
  gitIn(sub, 'add', '.')
  gitIn(sub, 'commit', '-q', '-m', 'sub')
  gitIn(sub, 'config', 'core.fsmonitor', script('subfsmonitor', 'exit 0'))
  gitIn(wt, 'add', 'sub')
  gitIn(wt, '-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-m', 'nested')
  writeFile(sub, 'README', 'changed\n')
  gitIn(wt, 'status', '--porcelain')
  t.ok(ran().includes('subfsmonitor'), 'control: plain git status recurses into the nested repository')
  reset()
  await client.call('load_diff_files', { workspace_id: ws.id })
  await turn(client, created.default_session_id, 'write: notes.txt after the nested repository')
  t.same(ran(), [], 'diffs and checkpoints never recurse into a nested repository')

  await client.call('archive_workspace', { workspace_id: ws.id })
  t.same(ran(), [], 'archive ran nothing')
  await client.call('restore_workspace', { workspace_id: ws.id })
  t.ok(ran().includes('smudge'), 'restore (a checkout) runs the owner\'s smudge filter')
  t.same(ran().filter(r => r !== 'smudge'), [], 'restore runs no hook, no fsmonitor, nothing else')
  reset()
  await client.call('load_diff_files', { workspace_id: ws.id })
  t.same(ran(), [], 'the restored workspace\'s diff ran nothing')
})
