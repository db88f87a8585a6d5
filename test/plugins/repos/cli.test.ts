// `claudette-server repo add/list/remove` (the built CLI), and a running server seeing the change.
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { runCli, SERVER_BIN } from '../../helpers/cli.js'
import { startServer } from '../../helpers/server.js'
import { makeRepo, tempDir } from './_helpers.js'

t.test('repo add, list and remove from the server CLI', async t => {
  const home = tempDir(t)
  const repoPath = makeRepo(t, 'cli repo')
  const server = await startServer(t, { home })
  const client = await TestClient.paired(t, server)

  // a path with `..` is resolved from the current directory
  const added = await runCli(SERVER_BIN, ['--home', home, 'repo', 'add', join(repoPath, 'src', '..'), '--name', 'CLI Repo'])
  t.equal(added.code, 0, added.stderr)
  const m = /^Added repository CLI Repo \(([0-9a-f-]{36})\) at (.+)\n$/.exec(added.stdout)
  t.ok(m, added.stdout)
  if (!m) return
  const id = m[1]!
  t.equal(m[2], repoPath)

  const live = await client.call('list_repositories')
  t.same(live.map((r: any) => [r.id, r.name, r.path, r.path_valid]), [[id, 'CLI Repo', repoPath, true]], 'the running server sees it at once')

  const [json, table, dup] = await Promise.all([
    runCli(SERVER_BIN, ['--home', home, 'repo', 'list', '--json']),
    runCli(SERVER_BIN, ['--home', home, 'repo', 'list']),
    runCli(SERVER_BIN, ['--home', home, 'repo', 'add', repoPath]),
  ])
  t.same(JSON.parse(json.stdout), live)
  t.match(table.stdout, /^ID\s+NAME\s+PATH\s+VALID\n/)
  t.match(table.stdout, `${id}  CLI Repo  ${repoPath}  yes`)
  t.equal(dup.code, 1)
  t.equal(dup.stderr, `error: Repository already registered: ${repoPath} (id ${id})\n`)

  const { workspace } = await client.call('create_workspace', { repository_id: id, name: 'busy' })
  const [busy, missing, worktree] = await Promise.all([
    runCli(SERVER_BIN, ['--home', home, 'repo', 'remove', id]),
    runCli(SERVER_BIN, ['--home', home, 'repo', 'remove', 'nope']),
    runCli(SERVER_BIN, ['--home', home, 'repo', 'add', join(workspace.worktree_path, 'src')]),
  ])
  t.equal(worktree.code, 1)
  t.equal(worktree.stderr, `error: Not the top of a git work tree: ${join(workspace.worktree_path, 'src')} (the repository starts at ${workspace.worktree_path})\n`)
  const wtAdd = await runCli(SERVER_BIN, ['--home', home, 'repo', 'add', workspace.worktree_path])
  t.equal(wtAdd.code, 1)
  t.equal(wtAdd.stderr, `error: Cannot register a workspace worktree as a repository: ${workspace.worktree_path}\n`, 'a workspace of this server is not a repository')
  t.equal(busy.code, 1)
  t.equal(busy.stderr, 'error: Repository has 1 active workspace; archive it first\n')
  t.equal(missing.code, 1)
  t.equal(missing.stderr, "error: no repository matches 'nope' (see 'claudette-server repo list')\n")
  await client.call('archive_workspace', { workspace_id: workspace.id })

  const removed = await runCli(SERVER_BIN, ['--home', home, 'repo', 'remove', id.slice(0, 8)])
  t.equal(removed.code, 0, removed.stderr)
  t.equal(removed.stdout, `Removed repository CLI Repo (${id}).\n`)
  t.same(await client.call('list_repositories'), [])
})

t.test('repo remove with a prefix several ids share says so, and removes nothing', async t => {
  const home = tempDir(t)
  t.equal((await runCli(SERVER_BIN, ['--home', home, 'show-connection-string'])).code, 0) // creates the home and database
  // Two rows whose random ids happen to share a prefix (written the way the provider stores them).
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(join(home, 'claudette.db'))
  const insert = db.prepare('INSERT INTO repositories (id, path, name, path_slug) VALUES (?, ?, ?, ?)')
  insert.run('abcd0000-0000-4000-8000-000000000001', makeRepo(t, 'one'), 'one', 'one')
  insert.run('abcd0000-0000-4000-8000-000000000002', makeRepo(t, 'two'), 'two', 'two')
  db.close()
  const ambiguous = await runCli(SERVER_BIN, ['--home', home, 'repo', 'remove', 'abcd0000'])
  t.equal(ambiguous.code, 1)
  t.equal(ambiguous.stderr, "error: 'abcd0000' is the start of 2 repository ids; give more of the id (see 'claudette-server repo list')\n")
  t.equal(JSON.parse((await runCli(SERVER_BIN, ['--home', home, 'repo', 'list', '--json'])).stdout).length, 2, 'nothing removed')
  const one = await runCli(SERVER_BIN, ['--home', home, 'repo', 'remove', 'abcd0000-0000-4000-8000-000000000001'])
  t.equal(one.code, 0, one.stderr)
})
