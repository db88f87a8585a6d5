// An agent at the default `standard` level edits files in its worktree without asking, and the
// worktree's `.git` is one of them. Pointed at a git dir the repository's content carries
// (`evil/`, whose config runs a command from core.fsmonitor, hooks and diff.external), the
// end-of-turn checkpoint and the diffs would run that command as the server user. They refuse.
import { existsSync } from 'node:fs'
import { Writable } from 'node:stream'
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { makeEvilRepo } from '../repos/_helpers.js'
import { errorOf, turn } from './_helpers.js'

const UNSAFE = /^Workspace 'fix-login' is unsafe: its \.git no longer points to .+\/\.git\/worktrees\/fix-login; refusing to run git in it \(fix or remove it by hand\)$/

t.test('the fake agent redirects .git at the standard level: the checkpoint and the diffs run nothing', async t => {
  const { repoPath, marker } = makeEvilRepo(t)
  const lines: string[] = []
  const logStream = new Writable({ write (chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb() } })
  const server = await startServer(t, { logStream, logLevel: 'warn' })
  const client = await TestClient.paired(t, server)
  const repo = await client.call('add_repository', { path: repoPath })
  const created = await client.call('create_workspace', { repository_id: repo.id, name: 'fix-login' })
  const ws = created.workspace
  const chatId = created.default_session_id as string

  const checkpoints = (): any[] => client.frames.map(f => f.json).filter(j => j?.event === 'checkpoint-created').map(j => j.payload.checkpoint)
  await turn(client, chatId, 'write: notes.txt before')
  t.match(checkpoints().at(-1), { has_file_state: true }, 'control: a checkpoint records file state while .git is intact')

  const res = await turn(client, chatId, 'write: .git gitdir: evil')
  t.equal(res.event.Stream.subtype ?? 'success', 'success', 'the turn ends normally')
  t.notOk(client.frames.some(f => f.json?.event === 'agent-permission-prompt'), 'no permission prompt at the standard level')
  t.notOk(existsSync(marker), 'the end-of-turn checkpoint did not run the planted command')
  t.match(checkpoints().at(-1), { commit_hash: null, has_file_state: false }, 'the checkpoint is recorded without file state')
  t.ok(lines.some(l => l.includes('checkpoint commit failed') && /Workspace 'fix-login' is unsafe/.test(l)), 'the warning says why')

  await turn(client, chatId, 'write: more.txt after')
  t.notOk(existsSync(marker), 'the next checkpoint did not run it either')
  t.match(checkpoints().at(-1), { has_file_state: false })

  t.match(await errorOf(client, 'load_diff_files', { workspace_id: ws.id }), UNSAFE)
  t.match(await errorOf(client, 'load_file_diff', { worktree_path: ws.worktree_path, file_path: 'notes.txt', merge_base: '', diff_layer: null }), UNSAFE)
  t.match(await errorOf(client, 'archive_workspace', { workspace_id: ws.id }), UNSAFE)
  t.match(await errorOf(client, 'restore_workspace', { workspace_id: ws.id }), UNSAFE)
  t.notOk(existsSync(marker), 'no call ran the planted command')

  const other = await client.call('create_workspace', { repository_id: repo.id, name: 'other' })
  await turn(client, other.default_session_id, 'write: x.txt y')
  t.match(checkpoints().at(-1), { has_file_state: true }, 'another workspace of the same repository still checkpoints')
  t.notOk(existsSync(marker))
})
