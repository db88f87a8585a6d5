// chat_sessions belongs to the agents plugin's migrations; databases made while the repos
// plugin's first step created it keep working: no step runs again, the data stays, and they end
// with the same schema as a fresh database.
import { join } from 'node:path'
import t from 'tap'
import { AgentStore, AGENTS_MIGRATIONS } from '../../../src/plugins/agents/store.js'
import { REPOS_MIGRATIONS } from '../../../src/plugins/repos/migrations.js'
import { openStore } from '../../../src/plugins/store/index.js'
import type { Store } from '../../../src/plugins/store/types.js'
import { tempHome } from '../../helpers/server.js'
import { RELEASED_AGENTS_MIGRATIONS, RELEASED_REPOS_MIGRATIONS } from './_released-migrations.js'

type TestContext = Parameters<typeof tempHome>[0]

function open (t: TestContext): Store {
  const store = openStore(join(tempHome(t), 'claudette.db'))
  t.teardown(() => store.close())
  return store
}

const schema = (store: Store): unknown[] =>
  store.db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE \'sqlite\\_%\' ESCAPE \'\\\' ORDER BY type, name').all()

const versions = (store: Store): unknown[] => store.db.prepare('SELECT owner, version FROM schema_migrations ORDER BY owner').all()

/** What the server does at boot: the repos plugin's migrations, then the agents plugin's (AgentStore). */
function migrateAsTheServer (store: Store): AgentStore {
  store.migrate('repos', REPOS_MIGRATIONS)
  return new AgentStore(store)
}

function fresh (t: TestContext): Store {
  const store = open(t)
  migrateAsTheServer(store)
  return store
}

t.test('a database made by the released migrations: nothing runs again, the data stays, the schema is a fresh one', async t => {
  const store = open(t)
  store.migrate('repos', RELEASED_REPOS_MIGRATIONS)
  store.migrate('agents', RELEASED_AGENTS_MIGRATIONS)
  const before = versions(store)
  store.db.exec(`INSERT INTO workspaces (id, repository_id, name, branch_name, worktree_path) VALUES ('w', 'r', 'one', 'claudette/one', '/tmp/one');
    INSERT INTO chat_sessions (id, workspace_id, created_at) VALUES ('c', 'w', '2026-01-01 00:00:00');
    INSERT INTO chat_messages (id, workspace_id, chat_session_id, role, content) VALUES ('m', 'w', 'c', 'User', 'hi');`)

  const agents = migrateAsTheServer(store)
  t.same(versions(store), before, 'the recorded migration versions are unchanged')
  t.same(schema(store), schema(fresh(t)), 'the same schema as a fresh database')
  t.match(agents.getSession('c'), { id: 'c', name: 'New chat', status: 'Active', workspace_id: 'w' })
  t.same(agents.history('c').map(m => m.content), ['hi'])
  store.db.exec('DELETE FROM workspaces WHERE id = \'w\'')
  t.equal(agents.getSession('c'), null, 'chat sessions still go with their workspace')
})

t.test('a home whose repos tables the released CLI made (`repo add` before the first start)', async t => {
  const store = open(t)
  store.migrate('repos', RELEASED_REPOS_MIGRATIONS)
  migrateAsTheServer(store)
  t.same(versions(store), [{ owner: 'agents', version: AGENTS_MIGRATIONS.length }, { owner: 'repos', version: REPOS_MIGRATIONS.length }])
  t.same(schema(store), schema(fresh(t)))
})

t.test('a fresh database has chat_sessions from the agents plugin, and the released number of steps', async t => {
  const store = open(t)
  store.migrate('repos', REPOS_MIGRATIONS)
  t.notOk(store.db.prepare('SELECT name FROM sqlite_master WHERE name = \'chat_sessions\'').get(), 'not from the repos plugin')
  new AgentStore(store)
  t.ok(store.db.prepare('SELECT name FROM sqlite_master WHERE name = \'chat_sessions\'').get())
  t.equal(REPOS_MIGRATIONS.length, RELEASED_REPOS_MIGRATIONS.length, 'a released server still opens the database')
  t.equal(AGENTS_MIGRATIONS.length, RELEASED_AGENTS_MIGRATIONS.length)
})
