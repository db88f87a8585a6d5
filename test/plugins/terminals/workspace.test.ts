// spawn_pty's cwd must lie inside a registered repository or workspace; with a workspace_id the
// shell starts in its worktree with the CLAUDETTE_WORKSPACE_* environment (wire doc §6).
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { inputFrame, registeredRepo, repoIds, SHELL_OPTS, waitForOutput } from './_helpers.js'

t.test('workspace placement, environment and confinement', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const c = await TestClient.paired(t, server)
  const repo = await registeredRepo(t, c)
  mkdirSync(join(repo, 'sub'))
  const created = await c.call('create_workspace', { repository_id: repoIds.get(repo), name: 'feature-x' })
  const ws = created.workspace
  t.ok(ws.worktree_path)

  // default cwd: the worktree; env from the workspace
  const { pty_id: id } = await c.call('spawn_pty', { workspace_id: ws.id })
  c.sendBinary(inputFrame(id, 'echo "[$(pwd)|$CLAUDETTE_WORKSPACE_ID|$CLAUDETTE_WORKSPACE_NAME|$CLAUDETTE_WORKSPACE_PATH|$CLAUDETTE_ROOT_PATH|$TERM]"\n'))
  const out = await waitForOutput(c, id, s => /\[\/.*\]\r\n/.test(s))
  const [, line] = /\[(\/[^\]]*)\]\r\n/.exec(out)!
  const [pwd, wsId, wsName, wsPath, root, term] = line!.split('|')
  t.equal(pwd, realpathSync(ws.worktree_path))
  t.equal(wsId, ws.id)
  t.equal(wsName, 'feature-x')
  t.equal(wsPath, ws.worktree_path)
  t.equal(realpathSync(root!), repo)
  t.equal(term, 'xterm-256color')
  const [entry] = await c.call('list_ptys')
  t.match(entry, { pty_id: id, workspace_id: ws.id, cwd: realpathSync(ws.worktree_path) })

  // a relative cwd is taken inside the workspace; an absolute one inside a repository
  const { pty_id: rel } = await c.call('spawn_pty', { workspace_id: ws.id, cwd: '.' })
  t.ok(rel)
  const { pty_id: sub } = await c.call('spawn_pty', { cwd: join(repo, 'sub') })
  c.sendBinary(inputFrame(sub, 'pwd\n'))
  await waitForOutput(c, sub, s => s.includes(`${join(repo, 'sub')}\r\n`))

  // outside every repository: refused, nothing spawned
  const outside = realpathSync(mkdtempSync(join(tmpdir(), 'claudette-outside-')))
  t.teardown(() => rmSync(outside, { recursive: true, force: true }))
  const before = (await c.call('list_ptys')).length
  for (const cwd of ['/', '/tmp', outside, join(repo, '..'), join(repo, 'sub', '..', '..')]) {
    const res = await c.request('spawn_pty', { cwd })
    t.ok(res.error, `refused: ${cwd}`)
  }
  symlinkSync('/etc', join(repo, 'etc-link'))
  t.ok((await c.request('spawn_pty', { cwd: join(repo, 'etc-link') })).error, 'a symlink out of the repository is refused')
  t.equal((await c.request('spawn_pty', { workspace_id: 'no-such-workspace' })).error.message, 'Workspace not found')
  t.equal((await c.call('list_ptys')).length, before)
})

t.test('archiving a workspace closes the terminals running in it, and only those', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const c = await TestClient.paired(t, server)
  const repo = await registeredRepo(t, c)
  const { workspace: ws } = await c.call('create_workspace', { repository_id: repoIds.get(repo), name: 'doomed' })
  const { pty_id: inWs } = await c.call('spawn_pty', { workspace_id: ws.id })
  const { pty_id: inRepo } = await c.call('spawn_pty', { cwd: repo })
  const exit = c.event('pty-exit', p => p.pty_id === inWs, 10_000)
  t.equal(await c.call('archive_workspace', { workspace_id: ws.id }), null)
  t.equal((await exit).pty_id, inWs, 'the workspace shell got pty-exit')
  t.same((await c.call('list_ptys')).map((p: { pty_id: number }) => p.pty_id), [inRepo], 'the repository shell keeps running')
})
