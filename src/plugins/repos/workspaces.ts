// The workspace lifecycle: create, archive and restore (git worktrees, rolled back when they
// fail half-way), the lifecycle events other plugins subscribe to, and the WorkspaceDirectory
// they resolve. Operations on one repository are serialized (RegisteredRepositories.underLock).
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, realpath, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { Emitter, toDisposable, type Disposable, type Event } from '../../core/lifecycle.js'
import {
  GitCommandError, InvalidWorkspaceNameError, MissingInputError, NotAGitRepositoryError, RepoNotFoundError, WorkspaceExistsError,
  WorkspaceNotFoundError, WorkspaceStateError,
} from './errors.js'
import { assertSafeRef, isSafeRefName, isValidWorkspaceName } from './git.js'
import type { InitialDataLoader } from './initial-data.js'
import type { Confinement } from './confinement.js'
import { isInside } from './paths.js'
import type { RegisteredRepositories } from './registered-repositories.js'
import { detectDefaultBranch, findWorktreeAdminDir, gitDirs, readGitLink, slugify } from './repositories.js'
import { SetupScripts } from './setup-scripts.js'
import {
  type CreateWorkspaceResult, type InitialDataContributor, type Repository, type RestoreWorkspaceResult, type Workspace,
  type WorkspaceArchivingEvent, type WorkspaceDirectory, type WorkspaceInsertedEvent,
} from './types.js'
import { sameRealPath, type PinnedGit } from './workspace-git.js'
import { toWorkspace, type WorkspaceRow, type WorkspaceRows } from './workspace-rows.js'

/** Checking out or removing a large worktree can take a while. */
const CHECKOUT_TIMEOUT_MS = 10 * 60_000

export interface WorkspacesOptions {
  readonly worktreeBaseDir: string
  readonly branchPrefix: string
  readonly setupTimeoutMs: number
}

type ArchivingListener = (e: WorkspaceArchivingEvent) => void

export class Workspaces implements WorkspaceDirectory, Disposable {
  readonly #scripts: SetupScripts
  // A listener that throws must abort the create: the event fires inside the insert's
  // transaction, and its rows (the default chat session) must commit with the workspace or not at all.
  readonly #onDidInsert = new Emitter<WorkspaceInsertedEvent>(err => { throw err })
  readonly #onDidChange: Emitter<Workspace>
  readonly #archiving: ArchivingListener[] = []
  readonly onDidInsertWorkspace = this.#onDidInsert.event
  readonly onDidChangeWorkspace: Event<Workspace>
  #closed = false

  constructor (
    private readonly rows: WorkspaceRows,
    private readonly repositories: RegisteredRepositories,
    private readonly git: PinnedGit,
    private readonly confinement: Confinement,
    private readonly initialData: InitialDataLoader,
    private readonly log: FastifyBaseLogger,
    private readonly opts: WorkspacesOptions,
  ) {
    this.#scripts = new SetupScripts(opts.setupTimeoutMs)
    this.#onDidChange = new Emitter<Workspace>(err => this.log.warn({ err }, 'workspace-changed listener failed'))
    this.onDidChangeWorkspace = this.#onDidChange.event
  }

  readonly onWillArchiveWorkspace: Event<WorkspaceArchivingEvent> = listener => {
    this.#archiving.push(listener)
    return toDisposable(() => {
      const i = this.#archiving.indexOf(listener)
      if (i >= 0) this.#archiving.splice(i, 1)
    })
  }

  addArchiveHook (hook: (workspace: Workspace) => void | Promise<void>): Disposable {
    return this.onWillArchiveWorkspace(e => { e.waitUntil(Promise.resolve(hook(e.workspace))) })
  }

  // ------------------------------------------------------------------ reads

  async getWorkspace (id: string): Promise<Workspace | null> {
    const r = this.rows.get(id)
    return r ? toWorkspace(r) : null
  }

  async listWorkspaces (): Promise<Workspace[]> { return this.rows.all().map(toWorkspace) }

  getRepository (id: string): Promise<Repository | null> { return this.repositories.get(id) }

  confinePath (path: string): Promise<string> { return this.confinement.confinePath(path) }

  resolveInWorkspace (workspaceId: string, relPath: string): Promise<string> { return this.confinement.resolveInWorkspace(workspaceId, relPath) }

  addInitialDataContributor (fn: InitialDataContributor): Disposable { return this.initialData.addContributor(fn) }

  async workspaceEnv (workspaceId: string): Promise<Record<string, string>> {
    const ws = await this.getWorkspace(workspaceId)
    if (!ws) return {}
    const repo = await this.getRepository(ws.repository_id)
    const env: Record<string, string> = {
      CLAUDETTE_WORKSPACE_NAME: ws.name,
      CLAUDETTE_WORKSPACE_ID: ws.id,
      CLAUDETTE_WORKSPACE_PATH: ws.worktree_path ?? '',
      CLAUDETTE_BRANCH_NAME: ws.branch_name,
    }
    if (repo) {
      env.CLAUDETTE_ROOT_PATH = repo.path
      env.CLAUDETTE_DEFAULT_BRANCH = (repo.path_valid ? await detectDefaultBranch(this.git.runner, repo.path, { baseBranch: repo.base_branch, defaultRemote: repo.default_remote }) : null) ?? ''
    }
    return env
  }

  // ------------------------------------------------------------------ create

  async createWorkspace (p: { repository_id: string, name: string, input_values?: Record<string, string> }): Promise<CreateWorkspaceResult> {
    const repo = await this.repositories.require(p.repository_id)
    if (!isValidWorkspaceName(p.name)) throw new InvalidWorkspaceNameError(p.name)
    const inputs = this.#checkInputs(repo, p.input_values)
    if (!repo.path_valid) throw new NotAGitRepositoryError(`Repository path is missing or not a directory: ${repo.path}`)
    const branch = assertSafeRef(this.opts.branchPrefix + p.name, 'branch name')
    const { workspace, sessionId } = await this.repositories.underLock(repo, async () => {
      // Still registered now that the lock is held? (A remove_repository may have run meanwhile.)
      await this.repositories.require(repo.id)
      return this.#createLocked(repo, p.name, branch, inputs)
    })
    // Registered before anyone can see the workspace, so an archive that follows at once finds it.
    const setup = this.#scripts.run(repo, workspace, () => this.workspaceEnv(workspace.id))
    this.#changed(workspace)
    return { default_session_id: sessionId, setup_result: await setup, workspace }
  }

  #checkInputs (repo: Repository, given: Record<string, string> | undefined): Record<string, string> | null {
    const values: Record<string, string> = { ...(given ?? {}) }
    for (const field of repo.required_inputs ?? []) {
      if (Object.hasOwn(values, field.key)) continue // a client's keys: never an inherited `constructor`
      if (field.default !== undefined) values[field.key] = String(field.default)
      else if (field.required !== false) throw new MissingInputError(field.key)
    }
    return Object.keys(values).length > 0 ? values : null
  }

  #worktreePath (repo: Repository, name: string): string {
    return join(this.opts.worktreeBaseDir, slugify(repo.path_slug), name)
  }

  async #createLocked (repo: Repository, name: string, branch: string, inputs: Record<string, string> | null): Promise<{ workspace: Workspace, sessionId: string }> {
    if (this.rows.hasName(repo.id, name)) throw new WorkspaceExistsError(`Workspace '${name}' already exists in this repository`)
    const path = this.#worktreePath(repo, name)
    // A kill between `git worktree add` and the row insert leaves our worktree and branch
    // without a row. Its id was never returned, so nothing uses it: roll it back, so the name
    // can be created again instead of failing with "Branch already exists" forever.
    if (await this.#isInterruptedCreate(repo.path, path, branch)) await this.#rollbackCreate(repo.path, path, branch)
    if (await this.git.refExists(repo.path, `refs/heads/${branch}`)) throw new WorkspaceExistsError(`Branch '${branch}' already exists`)
    if (existsSync(path)) throw new WorkspaceExistsError(`Worktree path already exists: ${path}`)
    const defaultBranch = await detectDefaultBranch(this.git.runner, repo.path, { baseBranch: repo.base_branch, defaultRemote: repo.default_remote })
    const remote = repo.default_remote && isSafeRefName(repo.default_remote) ? repo.default_remote : 'origin'
    const candidates = defaultBranch ? [`refs/heads/${defaultBranch}`, `refs/remotes/${remote}/${defaultBranch}`, 'HEAD'] : ['HEAD']
    let base: string | null = null
    for (const c of candidates) if (await this.git.refExists(repo.path, c)) { base = c; break }
    if (!base) throw new GitCommandError('Repository has no commits to start a workspace from', null)

    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    try {
      // A checkout: the owner's filter drivers run (git-lfs), nothing else (docs/workspaces.md).
      await this.git.repoGit(repo.path, ['worktree', 'add', '--no-track', '-b', branch, '--', path, base], { timeoutMs: CHECKOUT_TIMEOUT_MS, ownerFilters: true })
      const gitDir = await this.git.newAdminDir(repo.path, path)
      return this.rows.transaction(() => {
        // The built-in provider's repositories live in this database, where `repo remove` (another
        // process) may have deleted this one while git ran: checked in the same transaction, so
        // either the remove sees this workspace (and refuses) or this insert fails (and rolls back).
        if (!this.repositories.isStillRegistered(repo.id)) throw new RepoNotFoundError(repo.id)
        const workspace = toWorkspace(this.rows.insert({ repositoryId: repo.id, name, branch, worktreePath: path, gitDir, inputs }))
        const sessionId = randomUUID()
        this.#onDidInsert.fire({ workspace, defaultSessionId: sessionId })
        return { workspace, sessionId }
      })
    } catch (err) {
      await this.#rollbackCreate(repo.path, path, branch)
      this.log.warn({ err, repositoryId: repo.id, name }, 'create_workspace failed; rolled back')
      throw err
    }
  }

  /**
   * True for the leftover of a create cut short by a crash: a clean worktree at our own path
   * (inside worktreeBaseDir), checked out on the workspace's branch, that no row refers to.
   * A user's own branch or a worktree with changes is never matched.
   */
  async #isInterruptedCreate (repoPath: string, path: string, branch: string): Promise<boolean> {
    if (!isInside(this.opts.worktreeBaseDir, path)) return false
    if (!existsSync(path)) return this.#isOrphanBranch(repoPath, branch, path)
    if (this.rows.hasWorktreePath(path)) return false
    try {
      const real = await realpath(path)
      const list = (await this.git.repoGit(repoPath, ['worktree', 'list', '--porcelain'])).stdout
      const entry = list.split(/\n\n/).find(e => { const head = e.split('\n')[0]; return head === `worktree ${path}` || head === `worktree ${real}` })
      // A `git worktree add` that died half-way (its stderr pipe closed with the killed server)
      // leaves our worktree locked "initializing" and possibly half checked out: never finished,
      // never returned to anyone.
      if (entry?.split('\n').includes('locked initializing')) return true
      if (!entry?.split('\n').includes(`branch refs/heads/${branch}`)) return false
      // Pinned to git's own entry for the path, and only if the worktree's .git still points there.
      const dirs = await gitDirs(repoPath)
      const admin = dirs ? await findWorktreeAdminDir(dirs.common, real) : null
      const link = admin ? await readGitLink(path) : null
      if (!admin || !link || (link !== admin && !await sameRealPath(link, admin))) return false
      return (await this.git.runner.run({ gitDir: admin, workTree: path }, ['status', '--porcelain', '--ignore-submodules=all'], { cwd: path })).stdout.trim() === ''
    } catch { return false }
  }

  /**
   * A kill right after `git worktree add -b` can leave the branch without its directory. It is a
   * leftover when no workspace row names it, no worktree has it checked out, and it holds no
   * commit that another branch lacks (deleting it loses nothing).
   */
  async #isOrphanBranch (repoPath: string, branch: string, path: string): Promise<boolean> {
    if (this.rows.hasBranch(branch)) return false
    if (!await this.git.refExists(repoPath, `refs/heads/${branch}`)) return false
    try {
      await this.git.repoGit(repoPath, ['worktree', 'prune'])
      const list = (await this.git.repoGit(repoPath, ['worktree', 'list', '--porcelain'])).stdout
      // Checked out somewhere else than our (missing, possibly still locked) worktree path: not ours.
      const holder = list.split(/\n\n/).find(e => e.split('\n').includes(`branch refs/heads/${branch}`))
      if (holder && holder.split('\n')[0] !== `worktree ${path}`) return false
      const unique = await this.git.repoGit(repoPath, ['rev-list', '--count', `refs/heads/${branch}`, '--not', `--exclude=${branch}`, '--branches'])
      return unique.stdout.trim() === '0'
    } catch { return false }
  }

  /** Undoes a half-made workspace: the worktree, its directory and the new branch. Never throws. */
  async #rollbackCreate (repoPath: string, path: string, branch: string): Promise<void> {
    const quiet = async (fn: () => Promise<unknown>): Promise<void> => { try { await fn() } catch { /* best effort */ } }
    await quiet(() => this.git.repoGit(repoPath, ['worktree', 'unlock', '--', path]))
    await quiet(() => this.git.repoGit(repoPath, ['worktree', 'remove', '--force', '--force', '--', path]))
    if (isInside(this.opts.worktreeBaseDir, path)) await quiet(() => rm(path, { recursive: true, force: true }))
    await quiet(() => this.git.repoGit(repoPath, ['worktree', 'prune']))
    await quiet(() => this.git.repoGit(repoPath, ['branch', '-D', '--', branch]))
  }

  // ------------------------------------------------------------------ archive and restore

  /**
   * Runs fn under the workspace's repository lock with the row as it is once the lock is held
   * (another operation may have changed it while we waited).
   */
  async #withWorkspaceLocked<T> (id: string, fn: (cur: WorkspaceRow, repo: Repository) => Promise<T>): Promise<T> {
    const row = this.rows.get(id)
    if (!row) throw new WorkspaceNotFoundError(id)
    const repo = await this.repositories.require(row.repository_id)
    return this.repositories.underLock(repo, async () => {
      const cur = this.rows.get(id)
      if (!cur) throw new WorkspaceNotFoundError(id)
      return fn(cur, repo)
    })
  }

  /** onWillArchiveWorkspace: each listener in turn, the next once what the previous passed to waitUntil has settled. */
  async #fireArchiving (cur: WorkspaceRow): Promise<void> {
    for (const listener of [...this.#archiving]) {
      const work: Array<Promise<unknown>> = []
      try {
        listener({ workspace: toWorkspace(cur), waitUntil: p => { work.push(p) } })
      } catch (err) { this.log.warn({ err, workspaceId: cur.id }, 'archive hook failed') }
      for (const r of await Promise.allSettled(work)) {
        if (r.status === 'rejected') this.log.warn({ err: r.reason, workspaceId: cur.id }, 'archive hook failed')
      }
    }
  }

  async archiveWorkspace (id: string): Promise<null> {
    const ws = await this.#withWorkspaceLocked(id, async (cur, repo) => {
      if (cur.status === 'Archived') throw new WorkspaceStateError('Workspace is already archived')
      const path = cur.worktree_path
      // A redirected worktree is refused before anything changes (git worktree remove would read its .git).
      const target = path && existsSync(path) ? await this.git.workspaceTarget(cur, repo.path) : null
      // A setup script still running in the worktree (create_workspace has not answered yet) is
      // stopped first: it must not go on writing into a directory that is being removed.
      await this.#scripts.stop(id)
      await this.#fireArchiving(cur)
      // A lock (`git worktree lock`, by a user or a tool) would keep git's entry for the removed
      // directory: prune skips locked entries and restore would fail on "missing but locked".
      const admin = target?.gitDir ?? cur.git_dir
      if (path && (!admin || existsSync(join(admin, 'locked')))) {
        try { await this.git.repoGit(repo.path, ['worktree', 'unlock', '--', path]) } catch { /* not locked after all */ }
      }
      if (path && existsSync(path)) {
        try {
          // --force: no `git status` inside the worktree (nothing runs there).
          await this.git.repoGit(repo.path, ['worktree', 'remove', '--force', '--', path], { timeoutMs: CHECKOUT_TIMEOUT_MS })
        } catch (err) {
          // Not (or no longer) a registered worktree: remove the directory only if it is ours.
          if (!isInside(this.opts.worktreeBaseDir, path)) throw err
          await rm(path, { recursive: true, force: true })
        }
      }
      try { await this.git.repoGit(repo.path, ['worktree', 'prune']) } catch { /* nothing to prune */ }
      this.rows.markArchived(id)
      this.log.info({ workspaceId: id }, 'workspace archived')
      return toWorkspace(this.rows.get(id)!)
    })
    this.#changed(ws)
    return null
  }

  async restoreWorkspace (id: string): Promise<RestoreWorkspaceResult> {
    const ws = await this.#withWorkspaceLocked(id, async (cur, repo) => {
      if (cur.status === 'Active') {
        // A redirected worktree says so (rather than only "already active").
        if (cur.worktree_path && existsSync(cur.worktree_path)) await this.git.workspaceTarget(cur, repo.path)
        throw new WorkspaceStateError('Workspace is already active')
      }
      const branch = cur.branch_name
      if (!isSafeRefName(branch) || !await this.git.refExists(repo.path, `refs/heads/${branch}`)) {
        throw new GitCommandError(`Branch '${branch}' no longer exists; the workspace cannot be restored`, null)
      }
      const path = this.#worktreePath(repo, cur.name)
      if (existsSync(path)) throw new WorkspaceExistsError(`Worktree path already exists: ${path}`)
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      // Drop entries of worktree directories deleted behind our back (git refuses to add over one).
      try { await this.git.repoGit(repo.path, ['worktree', 'prune']) } catch { /* best effort */ }
      try {
        // A checkout: the owner's filter drivers run (git-lfs), nothing else (docs/workspaces.md).
        await this.git.repoGit(repo.path, ['worktree', 'add', '--', path, branch], { timeoutMs: CHECKOUT_TIMEOUT_MS, ownerFilters: true })
        const gitDir = await this.git.newAdminDir(repo.path, path)
        // `repo remove` from another process may have deleted the repository (and this archived
        // row) while git ran: then the new worktree belongs to nothing and is rolled back.
        const restored = this.rows.transaction(() => this.repositories.isStillRegistered(repo.id) && this.rows.markRestored(id, path, gitDir))
        if (!restored) throw new WorkspaceNotFoundError(id)
      } catch (err) {
        try { await this.git.repoGit(repo.path, ['worktree', 'remove', '--force', '--', path]) } catch { /* not created */ }
        await rm(path, { recursive: true, force: true })
        try { await this.git.repoGit(repo.path, ['worktree', 'prune']) } catch { /* best effort */ }
        throw err
      }
      this.log.info({ workspaceId: id }, 'workspace restored')
      return toWorkspace(this.rows.get(id)!)
    })
    this.#changed(ws)
    return { workspace: ws, worktree_path: ws.worktree_path! }
  }

  #changed (ws: Workspace): void {
    this.#onDidChange.fire(ws)
  }

  async dispose (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#scripts.dispose()
    // Let git operations in flight finish, so no worktree is left half made.
    await this.repositories.drain(10_000)
    this.#onDidChange.dispose()
    this.#onDidInsert.dispose()
    this.#archiving.length = 0
    this.initialData.dispose()
  }
}
