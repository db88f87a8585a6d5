// Names a device sets (its own client_name, repository and chat names) reach the operator's
// terminal through `claudette-server sessions list` and `repo list`. They are stored without
// control or bidi characters, and the CLIs escape any that rows stored earlier still hold.
// Uses the built CLI: run `npm run build` first when running this file alone.
import { join } from 'node:path'
import Sqlite from 'better-sqlite3'
import t from 'tap'
import { addRepo, errorOf, makeRepo } from '../plugins/repos/_helpers.js'
import { pairingToken } from '../helpers/server.js'
import { connectFrom, runCli, startSecureServer } from './security-support.js'

// Title rewrite (OSC 0 … BEL), carriage return, erase line, a C1 CSI, and a right-to-left override.
const HOSTILE = 'ev\x1b]0;pwned\x07il\r\x1b[2K\u009b31m\u202ename\u2066\u200f\x7f'
const CLEAN = 'ev]0;pwnedil [2K31mname'
/** Every character that must never reach a terminal raw. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

t.test('names with control characters are stored clean and printed clean', async t => {
  const { server, logs } = await startSecureServer(t)
  const c = await connectFrom(t, server)
  const paired = await c.request('authenticate', { pairing_token: pairingToken(server), client_name: HOSTILE })
  logs.secrets.add(paired.result.session_token)
  const sessions = await c.call('list_sessions') as Array<{ name: string, current: boolean }>
  t.equal(sessions.find(s => s.current)?.name, CLEAN, 'device name stored without controls')

  const blank = await connectFrom(t, server)
  const res = await blank.request('authenticate', { pairing_token: pairingToken(server), client_name: '\x1b\x07\u202e\r\n' })
  logs.secrets.add(res.result.session_token)
  t.ok((await blank.call('list_sessions')).some((s: { name: string, current: boolean }) => s.current && s.name === 'Unknown client'),
    'a name of controls only gets the default name')

  const repoPath = makeRepo(t)
  const repo = await addRepo(c, repoPath, HOSTILE)
  t.equal(repo.name, CLEAN, 'repository name returned clean')
  t.equal((await c.call('list_repositories')).find((r: { id: string }) => r.id === repo.id)?.name, CLEAN, 'repository name stored clean')

  t.match(await errorOf(c, 'create_workspace', { repository_id: repo.id, name: 'a\x1b[2Kb' }), /^Invalid workspace name/, 'workspace names were already limited to letters, digits and -')
  const { workspace, default_session_id: chatId } = await c.call('create_workspace', { repository_id: repo.id, name: 'names' })
  t.ok(workspace.id)
  await c.call('rename_chat_session', { chat_session_id: chatId, name: HOSTILE })
  t.equal((await c.call('get_chat_session', { chat_session_id: chatId })).name, CLEAN, 'chat name stored clean')
  t.match(await errorOf(c, 'rename_chat_session', { chat_session_id: chatId, name: '\u202e\x1b\x00' }), /empty/i, 'a chat name of controls only is refused like an empty one')

  // Rows stored before names were cleaned: written straight into the database.
  const db = new Sqlite(join(server.home, 'claudette.db'))
  db.prepare('UPDATE device_sessions SET name = ? WHERE name = ?').run(HOSTILE + '\nFAKE-ROW', CLEAN)
  db.prepare('UPDATE repositories SET name = ? WHERE id = ?').run(HOSTILE, repo.id)
  db.close()

  const list = await runCli(['--home', server.home, 'sessions', 'list'])
  t.equal(list.code, 0, list.stderr)
  t.notMatch(list.stdout, RAW, 'sessions list prints no control characters')
  t.match(list.stdout, 'ev\\x1b]0;pwned\\x07il\\x0d', 'they print as visible escapes')
  t.match(list.stdout, '\\u202ename', 'bidi controls too')
  t.notOk(list.stdout.split('\n').some(l => l.startsWith('FAKE-ROW')), 'a newline in a name makes no row of its own')
  const listJson = await runCli(['--home', server.home, 'sessions', 'list', '--json'])
  t.notMatch(listJson.stdout, RAW, 'sessions list --json prints no control characters')
  t.ok((JSON.parse(listJson.stdout) as Array<{ name: string }>).some(s => s.name === HOSTILE + '\nFAKE-ROW'), 'and is still the exact JSON of the stored name')

  const repos = await runCli(['--home', server.home, 'repo', 'list'])
  t.equal(repos.code, 0, repos.stderr)
  t.notMatch(repos.stdout, RAW, 'repo list prints no control characters')
  t.match(repos.stdout, '\\u202ename')

  // The operator's own `repo add --name` is cleaned the same way.
  const other = makeRepo(t, 'other')
  const added = await runCli(['--home', server.home, '--json', 'repo', 'add', other, '--name', HOSTILE])
  t.equal(added.code, 0, added.stderr)
  t.equal(JSON.parse(added.stdout).name, CLEAN)

  t.equal((await c.call('server_info')).name, server.name)
  logs.check(t)
})
