// The client CLI's workspace, repository and discovery commands as real child processes against
// a real server (not on a terminal: no questions asked): pair --name as the server lists it,
// repos, workspaces list/create/archive/restore with --json and id prefixes, methods (every
// registered method, from list_methods), and term with no flags printing the choice and exit 2.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { CLIENT_BIN, SERVER_BIN, runCli } from '../helpers/cli.js'
import { startServer, tempHome } from '../helpers/server.js'

const makeRepo = (dir: string): string => {
  execFileSync('git', ['init', '-q', '-b', 'main', dir])
  execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'init'])
  return dir
}

t.test('pair --name, repos, workspaces, methods and term without a terminal', async t => {
  const root = tempHome(t)
  const server = await startServer(t, { name: 'ws-box', repos: { worktreeBaseDir: join(root, 'trees') } })
  const home = tempHome(t)
  const env = { CLAUDETTE_CLIENT_HOME: home }
  const cli = (...args: string[]) => runCli(CLIENT_BIN, args, { env })

  // The device name is what the server's operator sees; the local name is separate.
  const p = await cli('pair', server.connectionString, '--name', 'ci laptop', '--alias', 'box')
  t.equal(p.code, 0, p.stderr)
  t.match(p.stdout, /as 'box'/)
  const sessions = await runCli(SERVER_BIN, ['--home', server.home, 'sessions', 'list', '--json'])
  t.same(JSON.parse(sessions.stdout).map((s: { name: string }) => s.name), ['ci laptop'], 'sessions list shows the device name')
  const table = await runCli(SERVER_BIN, ['--home', server.home, 'sessions', 'list'])
  t.match(table.stdout, /\bci laptop\b/)
  t.equal((await cli('pair', server.connectionString, '--name', ' ')).code, 2, 'an empty device name is a usage error')

  t.match((await cli('repos', 'box')).stdout, /^No repositories\. Register one on the server/m)
  const repoPath = makeRepo(join(root, 'app'))
  t.equal((await runCli(SERVER_BIN, ['--home', server.home, 'repo', 'add', repoPath])).code, 0)
  const repos = await cli('repos', 'box')
  t.equal(repos.code, 0, repos.stderr)
  t.match(repos.stdout, /^ID\s+NAME\s+PATH\s+VALID\s+BASE BRANCH$/m)
  t.match(repos.stdout, new RegExp(`\\bapp\\s+${repoPath}\\s+yes\\b`))
  const repoJson = JSON.parse((await cli('repos', 'box', '--json')).stdout) as Array<{ id: string, name: string }>
  t.equal(repoJson[0]!.name, 'app')

  // term with no workspace at all: says how to make one, in flags.
  const none = await cli('term', 'box')
  t.equal(none.code, 2)
  t.match(none.stderr, /^error: box has no active workspace; create one \(claudette workspaces box create --repo <repo>\) or give --cwd <path>/)

  const noRepo = await cli('workspaces', 'box', 'create')
  t.equal(noRepo.code, 2)
  t.match(noRepo.stderr, /needs --repo/)
  const badRepo = await cli('workspaces', 'box', 'create', '--repo', 'nope')
  t.equal(badRepo.code, 2)
  t.match(badRepo.stderr, /no repository matches 'nope' \(see 'claudette repos box'\)/)
  const created = await cli('workspaces', 'box', 'create', '--repo', 'app', '--name', 'first')
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^Created workspace first \([0-9a-f-]+\) of app on branch \S+ at /m)
  // By an id prefix, with --json: the wire result.
  const second = JSON.parse((await cli('workspaces', 'box', 'create', '--repo', repoJson[0]!.id.slice(0, 6), '--name', 'second', '--json')).stdout)
  t.equal(second.workspace.name, 'second')
  const list = await cli('workspaces', 'box')
  t.match(list.stdout, /^ID\s+NAME\s+REPOSITORY\s+BRANCH\s+STATUS\s+AGENT\s+CREATED$/m)
  t.match(list.stdout, /\bfirst\s+app\s+\S+\s+Active\b/)
  t.match(list.stdout, /\bsecond\s+app\s+\S+\s+Active\b/)

  const archived = await cli('workspaces', 'box', 'archive', second.workspace.id.slice(0, 8))
  t.equal(archived.code, 0, archived.stderr)
  t.match(archived.stdout, /^Archived workspace second/m)
  const afterArchive = JSON.parse((await cli('workspaces', 'box', 'list', '--json')).stdout) as Array<{ name: string, status: string }>
  t.equal(afterArchive.find(w => w.name === 'second')!.status, 'Archived')

  // No terminal: term with no flags and no remembered workspace prints the active ones and exits 2.
  const choose = await cli('term', 'box')
  t.equal(choose.code, 2)
  t.match(choose.stdout, /\bfirst\s+app\b/)
  t.notMatch(choose.stdout, /\bsecond\b/, 'archived workspaces are not offered')
  t.equal(choose.stderr, 'error: choose a workspace with --workspace <id|name> (or give --cwd <path>)\n')
  const wrongWs = await cli('term', 'box', '--workspace', 'nothing-like-it')
  t.equal(wrongWs.code, 2)
  t.match(wrongWs.stderr, /no workspace matches 'nothing-like-it' \(see 'claudette workspaces box'\)/)
  t.notMatch(wrongWs.stderr, /workspace_id/, 'errors name flags, not wire fields')
  const archivedWs = await cli('term', 'box', '--workspace', 'second')
  t.equal(archivedWs.code, 2)
  t.equal(archivedWs.stderr, `error: workspace 'second' is archived; restore it first: claudette workspaces box restore ${second.workspace.id}\n`)

  const restored = await cli('workspaces', 'box', 'restore', 'second')
  t.equal(restored.code, 0, restored.stderr)
  t.match(restored.stdout, /^Restored workspace second/m)
  const bad = await cli('workspaces', 'box', 'archive')
  t.equal(bad.code, 2)
  const badAction = await cli('workspaces', 'box', 'explode')
  t.equal(badAction.code, 2)

  // methods: every method the server registered, with its parameters.
  const methods = await cli('methods', 'box')
  t.equal(methods.code, 0, methods.stderr)
  const shown = methods.stdout.split('\n').slice(1).filter(Boolean).map(l => l.split(/\s+/)[0])
  t.same(shown, server.app.rpc.names, 'every registered method, sorted')
  t.match(methods.stdout, /^create_workspace\s+repository_id\?: string, name\?: string, preserve_name\?: boolean, input_values\?: object$/m)
  t.match(methods.stdout, /^server_info\s+—$/m)
  const asJson = JSON.parse((await cli('methods', 'box', '--json')).stdout) as Array<{ name: string, params: unknown }>
  t.same(asJson.map(m => m.name), server.app.rpc.names)
  const one = JSON.parse((await cli('methods', 'box', 'archive_workspace')).stdout)
  t.equal(one.type, 'object')
  t.ok(one.properties.workspace_id, 'one method: its JSON Schema')
  const unknown = await cli('methods', 'box', 'nope')
  t.equal(unknown.code, 2)
})
