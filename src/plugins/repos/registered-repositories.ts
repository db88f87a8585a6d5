// The repositories the server works on, as the wire sees them: the RepoProvider's list with
// path_valid, add and remove with the server's checks, and the per-repository lock that
// serializes every operation on a repository's worktrees.
import { realpath } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { stripControls } from '../../core/text.js'
import { NotAGitRepositoryError, RepoExistsError, RepoInUseError, RepoNotFoundError, RepoOperationUnsupportedError } from './errors.js'
import { KeyedMutex, type GitRunner } from './git.js'
import { isInside } from './paths.js'
import { DirectoryCheck, gitDirs, inspectRepositoryPath, slugify, toRepository } from './repositories.js'
import type { RepoProvider, Repository } from './types.js'
import type { WorkspaceRows } from './workspace-rows.js'

export class RegisteredRepositories {
  readonly #locks = new KeyedMutex()
  /** path_valid in lists may be up to a second old (DirectoryCheck); single lookups check now. */
  readonly #dirs = new DirectoryCheck(1000)

  constructor (
    readonly provider: RepoProvider,
    private readonly rows: WorkspaceRows,
    private readonly git: GitRunner,
    private readonly log: FastifyBaseLogger,
    private readonly worktreeBaseDir: string,
  ) {}

  async list (): Promise<Repository[]> {
    return Promise.all((await this.provider.list()).map(r => toRepository(r, p => this.#dirs.isDir(p))))
  }

  async get (id: string): Promise<Repository | null> {
    try {
      return await toRepository(await this.provider.get(id))
    } catch (err) {
      if (err instanceof RepoNotFoundError) return null
      throw err
    }
  }

  /** The repository, or RepoNotFoundError (also for the empty id). */
  async require (id: string): Promise<Repository> {
    const repo = id === '' ? null : await this.get(id)
    if (!repo) throw new RepoNotFoundError(id)
    return repo
  }

  /** Whether the provider, asked synchronously (inside a transaction), still has `id`; true if it cannot tell. */
  isStillRegistered (id: string): boolean {
    return this.provider.isRegistered ? this.provider.isRegistered(id) : true
  }

  async add (path: string, name?: string): Promise<Repository> {
    if (!this.provider.add) throw new RepoOperationUnsupportedError('Adding repositories is not supported by this server\'s repository provider')
    const real = await inspectRepositoryPath(this.git, path)
    if (isInside(this.worktreeBaseDir, real) || this.rows.activeWorktreeContaining(real)) throw new NotAGitRepositoryError(`Cannot register a workspace worktree as a repository: ${path}`)
    const existing = (await this.provider.list()).find(r => r.path === real)
    if (existing) throw new RepoExistsError(real, existing.id)
    const clean = stripControls(name ?? '')
    const info = await this.provider.add({ path: real, ...(clean ? { name: clean } : {}) })
    this.log.info({ repositoryId: info.id, path: real }, 'repository added')
    return toRepository(info)
  }

  async remove (id: string): Promise<Repository> {
    const repo = await this.require(id)
    if (!this.provider.remove) throw new RepoOperationUnsupportedError('Removing repositories is not supported by this server\'s repository provider')
    const remove = this.provider.remove.bind(this.provider)
    return this.underLock(repo, async () => {
      const active = this.rows.countActive(repo.id)
      if (active > 0) throw new RepoInUseError(repo.id, active)
      // The provider first: if it refuses, the archived workspaces are still there.
      await remove(repo.id)
      // Archived workspaces go with it (their branches stay in git).
      this.rows.deleteOfRepository(repo.id)
      this.log.info({ repositoryId: repo.id }, 'repository removed')
      return repo
    })
  }

  /**
   * Runs fn with the repository's operations serialized. Two keys, always taken in this order
   * (so no deadlock): the git common dir (one git repository may be registered under several
   * ids, or as a linked worktree of another registered one: `git worktree add/remove/prune` of
   * each must not interleave) and the directory its worktrees go in (`<base>/<slug>`, which
   * repositories of a custom provider may share: one create's rollback must never remove
   * another's new worktree).
   */
  async underLock<T> (repo: Repository, fn: () => Promise<T>): Promise<T> {
    let gitKey = repo.path
    try {
      const dirs = await gitDirs(repo.path)
      gitKey = await realpath(dirs ? dirs.common : repo.path)
    } catch { /* a missing repository: its path */ }
    const dirKey = join(this.worktreeBaseDir, slugify(repo.path_slug))
    return this.#locks.run(`git:${gitKey}`, () => this.#locks.run(`dir:${dirKey}`, fn))
  }

  /** Waits for the operations in flight, at most `timeoutMs` (so no worktree is left half made). */
  async drain (timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#locks.drain(), new Promise(resolve => { timer = setTimeout(resolve, timeoutMs); timer.unref() })])
    clearTimeout(timer)
  }
}
