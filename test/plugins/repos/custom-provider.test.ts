// A custom RepoProvider passed to createServer is the one used: repositories come from it,
// workspaces, setup scripts and required inputs work on top of it.
import { existsSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createServer } from '../../../src/index.js'
import { RepoNotFoundError } from '../../../src/plugins/repos/errors.js'
import type { RepoInfo, RepoProvider } from '../../../src/plugins/repos/types.js'
import { addRepo, errorOf, makeRepo, setup, tempDir } from './_helpers.js'

/** An embedder's read-only catalogue (what an IDE embedding the server might supply). */
class CatalogueProvider implements RepoProvider {
  readonly kind = 'catalogue'
  calls: string[] = []
  constructor (readonly repos: RepoInfo[]) {}
  async list (): Promise<readonly RepoInfo[]> { this.calls.push('list'); return this.repos }
  async get (id: string): Promise<RepoInfo> {
    this.calls.push(`get:${id}`)
    const r = this.repos.find(x => x.id === id)
    if (!r) throw new RepoNotFoundError(id)
    return r
  }
  async resolveInside (repoId: string, rel: string): Promise<string> { return join((await this.get(repoId)).path, rel) }
}

t.test('repositories come from the custom provider', async t => {
  const path = makeRepo(t, 'embedded')
  const provider = new CatalogueProvider([{
    id: 'ide-1',
    path,
    name: 'Embedded',
    setup_script: 'echo "setting up $CLAUDETTE_WORKSPACE_NAME on $CLAUDETTE_BRANCH_NAME"; test -f README.md; exit 3',
    required_inputs: [
      { type: 'string', key: 'ticket', label: 'Ticket', required: true },
      { type: 'boolean', key: 'fast', label: 'Fast', required: true, default: false, description: undefined },
    ],
  }])
  const { client } = await setup(t, { repos: { provider } })
  const list = await client.call('list_repositories')
  t.equal(list.length, 1)
  t.same({ id: list[0].id, name: list[0].name, path_slug: list[0].path_slug, path_valid: list[0].path_valid, sort_order: list[0].sort_order },
    { id: 'ide-1', name: 'Embedded', path_slug: 'embedded', path_valid: true, sort_order: 0 })
  t.ok(provider.calls.includes('list'), 'the provider was asked')
  // keys in alphabetical order at every level and unset members left out, as the reference prints them
  t.same(list[0].required_inputs, [
    { key: 'ticket', label: 'Ticket', required: true, type: 'string' },
    { default: false, key: 'fast', label: 'Fast', required: true, type: 'boolean' },
  ])
  t.same(list[0].required_inputs.map((f: any) => Object.keys(f)), [['key', 'label', 'required', 'type'], ['default', 'key', 'label', 'required', 'type']])

  t.equal(await errorOf(client, 'create_workspace', { repository_id: 'ide-1', name: 'x' }), 'Missing value for required input "ticket".')
  const res = await client.call('create_workspace', { repository_id: 'ide-1', name: 'with-setup', input_values: { ticket: 'T-1' } })
  t.same(res.workspace.input_values, { ticket: 'T-1', fast: 'false' })
  t.same(Object.keys(res.workspace.input_values), ['fast', 'ticket'], 'input_values keys sorted')
  t.same(Object.keys(res.setup_result), ['exit_code', 'output', 'script', 'source', 'success', 'timed_out'])
  t.same(res.setup_result, {
    exit_code: 3,
    output: 'setting up with-setup on claudette/with-setup\n',
    script: provider.repos[0]!.setup_script,
    source: 'settings',
    success: false,
    timed_out: false,
  })
  t.ok(provider.calls.includes('get:ide-1'))
  t.equal(await errorOf(client, 'create_workspace', { repository_id: 'unknown', name: 'x' }), 'Repository not found')
  t.equal(await errorOf(client, 'add_repository', { path }), 'Adding repositories is not supported by this server\'s repository provider')
  t.equal(await errorOf(client, 'remove_repository', { repository_id: 'ide-1' }), 'Removing repositories is not supported by this server\'s repository provider')
})

t.test('a setup script that runs too long is stopped and reported as timed out', async t => {
  const path = makeRepo(t)
  const provider = new CatalogueProvider([{ id: 'r', path, name: 'slow', setup_script: 'echo started; sleep 30' }])
  const { client } = await setup(t, { repos: { provider, setupTimeoutMs: 300 } })
  const started = Date.now()
  const res = await client.call('create_workspace', { repository_id: 'r', name: 'slow' })
  t.ok(Date.now() - started < 10_000)
  t.same({ ...res.setup_result, script: '' }, { exit_code: null, output: 'started\n', script: '', source: 'settings', success: false, timed_out: true })
})

t.test('provider and option errors fail at boot with the option named', async t => {
  const home = tempDir(t)
  await t.rejects(createServer({ home, port: 0, bind: '127.0.0.1', logLevel: 'silent', repos: { provider: { list: async () => [] } } }),
    { code: 'ERR_CONFIG_INVALID', message: 'invalid repos option provider: it must implement get()' })
  await t.rejects(createServer({ home, port: 0, bind: '127.0.0.1', logLevel: 'silent', repos: { branchPrefix: '-x/' } }),
    { code: 'ERR_CONFIG_INVALID', message: "invalid repos option branchPrefix: '-x/' does not make valid branch names" })
  await t.rejects(createServer({ home, port: 0, bind: '127.0.0.1', logLevel: 'silent', repos: { worktreeBase: '/x' } }),
    { code: 'ERR_CONFIG_INVALID' })
})

t.test('worktreeBaseDir and branchPrefix options are used', async t => {
  const path = makeRepo(t)
  const base = tempDir(t)
  const { client } = await setup(t, { repos: { worktreeBaseDir: join(base, 'trees'), branchPrefix: '' } })
  const repo = await addRepo(client, path)
  const { workspace } = await client.call('create_workspace', { repository_id: repo.id, name: 'plain' })
  t.equal(workspace.branch_name, 'plain')
  t.equal(workspace.worktree_path, join(realpathSync(base), 'trees', repo.path_slug, 'plain'))
})

t.test('archiving a workspace whose setup script still runs stops the script first', async t => {
  const path = makeRepo(t)
  const provider = new CatalogueProvider([{ id: 'r', path, name: 'slow', setup_script: 'echo started; sleep 30; touch after-sleep' }])
  const { client } = await setup(t, { repos: { provider, setupTimeoutMs: 60_000 } })
  const started = Date.now()
  const creating = client.request('create_workspace', { repository_id: 'r', name: 'busy' })
  const { workspace } = await client.event('workspace-changed', (p: any) => p.workspace.status === 'Active')
  t.equal(await client.call('archive_workspace', { workspace_id: workspace.id }), null)
  const res = await creating
  t.ok(Date.now() - started < 20_000, 'the script did not run to its end')
  const { output, ...rest } = res.result.setup_result
  t.same(rest, { exit_code: null, script: provider.repos[0]!.setup_script, source: 'settings', success: false, timed_out: false })
  // stopped while running, or (archived before it started) never run
  t.ok(['', 'started\n', 'Setup script not run: the workspace was archived or the server is closing'].includes(output), output)
  t.notOk(existsSync(workspace.worktree_path), 'worktree removed, and nothing wrote into it afterwards')
})
