import { mkdir, realpath } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigError } from '../../core/errors.js'
import { expandTilde } from '../../core/home.js'
import { parseOptions } from '../../core/options.js'
import { CORE, resolve } from '../../core/tokens.js'
import { STORE } from '../store/types.js'
import { Confinement } from './confinement.js'
import { WorkspaceDiffs } from './diff.js'
import { GitRunner, isSafeRefName } from './git.js'
import { InitialDataLoader } from './initial-data.js'
import { reposMethods } from './methods.js'
import { REPOS_MIGRATIONS } from './migrations.js'
import { ReposOptions } from './options.js'
import { RegisteredRepositories } from './registered-repositories.js'
import { SqliteRepoProvider } from './repositories.js'
import { AppSettings } from './settings.js'
import { REPOS, WORKSPACE_CHANGED_EVENT, type RepoProvider } from './types.js'
import { PinnedGit } from './workspace-git.js'
import { WorkspaceRows } from './workspace-rows.js'
import { Workspaces } from './workspaces.js'

function checkProvider (p: unknown): RepoProvider {
  const o = p as Partial<RepoProvider> | null
  for (const m of ['list', 'get', 'resolveInside'] as const) {
    if (typeof o?.[m] !== 'function') throw new ConfigError(`invalid repos option provider: it must implement ${m}()`)
  }
  return o as RepoProvider
}

/** Repositories, git worktree workspaces, diffs, settings and path confinement. */
const reposPlugin: FastifyPluginAsync<Partial<ReposOptions>> = async (app, raw) => {
  const opts = parseOptions(ReposOptions, raw, 'repos')
  // The provider is the embedder's object: use it as given, not the validated copy.
  const custom = (raw as { provider?: unknown } | undefined)?.provider
  if (!isSafeRefName(`${opts.branchPrefix}x`)) throw new ConfigError(`invalid repos option branchPrefix: '${opts.branchPrefix}' does not make valid branch names`)
  const store = resolve(app.di, STORE.Store)
  store.migrate('repos', REPOS_MIGRATIONS)
  const facts = resolve(app.di, CORE.Facts)
  const base = resolvePath(facts.home, expandTilde(opts.worktreeBaseDir ?? join(facts.home, 'workspaces')))
  await mkdir(base, { recursive: true, mode: 0o700 })
  const claudeConfig = process.env.CLAUDE_CONFIG_DIR || join(homedir(), '.claude')
  const claudePlansDir = resolvePath(facts.home, expandTilde(opts.claudePlansDir ?? join(claudeConfig, 'plans')))
  const worktreeBaseDir = await realpath(base)
  const provider = custom === undefined ? new SqliteRepoProvider(store) : checkProvider(custom)
  const log = resolve(app.di, CORE.Log)
  const rows = new WorkspaceRows(store)
  const gitRunner = new GitRunner(resolve(app.di, CORE.ProcessRunner))
  const repositories = new RegisteredRepositories(provider, rows, gitRunner, log, worktreeBaseDir)
  const git = new PinnedGit(gitRunner, rows, repositories)
  const confinement = new Confinement(rows, provider, git, { claudePlansDir, maxPlanFileBytes: opts.maxPlanFileBytes })
  const initialData = new InitialDataLoader(rows, repositories, git, log, worktreeBaseDir)
  const workspaces = new Workspaces(rows, repositories, git, confinement, initialData, log,
    { worktreeBaseDir, branchPrefix: opts.branchPrefix, setupTimeoutMs: opts.setupTimeoutMs })
  const settings = new AppSettings(store, { worktree_base_dir: () => worktreeBaseDir })
  // The one place the plugin's domain events become wire events.
  const hub = resolve(app.di, CORE.Hub)
  workspaces.onDidChangeWorkspace(workspace => { hub.broadcast(WORKSPACE_CHANGED_EVENT, { workspace }) })
  app.di.registerInstance(REPOS.Provider, provider)
  app.di.registerInstance(REPOS.Directory, workspaces)
  app.di.registerInstance(REPOS.Git, git)
  resolve(app.di, CORE.Rpc).registerAll(reposMethods({ workspaces, repositories, diffs: new WorkspaceDiffs(git, repositories, confinement), initialData, confinement, settings }))
  app.addHook('onClose', async () => workspaces.dispose())
}

export default fp(reposPlugin, { name: 'repos', fastify: '5.x', dependencies: ['store'], decorators: { fastify: ['di'] } })
export { ReposOptions } from './options.js'
export { SqliteRepoProvider, inspectRepositoryPath, detectDefaultBranch, toRepository } from './repositories.js'
export { REPOS_MIGRATIONS } from './migrations.js'
