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
import { isSafeRefName } from './git.js'
import { reposMethods } from './methods.js'
import { REPOS_MIGRATIONS } from './migrations.js'
import { ReposOptions } from './options.js'
import { SqliteRepoProvider } from './repositories.js'
import { REPOS_OPTIONS, REPOS_SERVICE, WorkspaceService } from './service.js'
import { REPOS, type RepoProvider } from './types.js'

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
  const { provider: _ignored, ...rest } = opts
  const claudeConfig = process.env.CLAUDE_CONFIG_DIR || join(homedir(), '.claude')
  const claudePlansDir = resolvePath(facts.home, expandTilde(opts.claudePlansDir ?? join(claudeConfig, 'plans')))
  app.di.registerInstance(REPOS_OPTIONS, { ...rest, worktreeBaseDir: await realpath(base), claudePlansDir })
  app.di.registerInstance(REPOS.Provider, custom === undefined ? new SqliteRepoProvider(store) : checkProvider(custom))
  app.di.registerSingleton(REPOS_SERVICE, WorkspaceService)
  const service = resolve(app.di, REPOS_SERVICE)
  app.di.registerInstance(REPOS.Directory, service)
  app.di.registerInstance(REPOS.Git, service)
  resolve(app.di, CORE.Rpc).registerAll(reposMethods(service))
  app.addHook('onClose', async () => service.dispose())
}

export default fp(reposPlugin, { name: 'repos', fastify: '5.x', dependencies: ['store'], decorators: { fastify: ['di'] } })
export { ReposOptions } from './options.js'
export { SqliteRepoProvider, inspectRepositoryPath, detectDefaultBranch, toRepository } from './repositories.js'
export { REPOS_MIGRATIONS } from './migrations.js'
export { WorkspaceService } from './service.js'
