import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { constants, existsSync } from 'node:fs'
import { lstat, mkdir, open, realpath, rm } from 'node:fs/promises'
import { basename, dirname, extname, join, normalize } from 'node:path'
import type { Statement } from 'better-sqlite3'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import { Emitter, toDisposable, type Disposable } from '../../core/lifecycle.js'
import type { ProcessRunner } from '../../core/process-runner.js'
import { stripControls } from '../../core/text.js'
import type { ConnectionHub } from '../../core/rpc/hub.js'
import { CORE, token } from '../../core/tokens.js'
import { STORE, type Store } from '../store/types.js'
import {
  GitCommandError, InvalidRefError, InvalidWorkspaceNameError, MissingInputError, NotAGitRepositoryError, PathNotAllowedError,
  PlanFileError, RepoExistsError, RepoInUseError, RepoNotFoundError, RepoOperationUnsupportedError, UnsafeWorkspaceError, WorkspaceExistsError,
  WorkspaceNoWorktreeError, WorkspaceNotFoundError, WorkspaceStateError,
} from './errors.js'
import { diffFiles, fileDiff, mergeBase } from './diff.js'
import { assertSafeRef, bindGit, GitRunner, isCommitId, isSafeRefName, isValidWorkspaceName, KeyedMutex, type BoundGit, type GitResult, type GitTarget } from './git.js'
import { sqlNow } from './migrations.js'
import type { ReposOptions } from './options.js'
import { checkAbsolutePath, isInside, resolveAbsoluteIn, resolveInsideRoot } from './paths.js'
import {
  currentBranch, detectDefaultBranch, DirectoryCheck, findWorktreeAdminDir, gitDirs, inspectRepositoryPath, isDir, isWorktreeAdminDirOf,
  readGitLink, slugify, sortedObject, SqliteRepoProvider, toRepository, workspaceWorktreeAt,
} from './repositories.js'
import { AppSettings } from './settings.js'
import {
  REPOS, WORKSPACE_CHANGED_EVENT,
  type CreateWorkspaceResult, type DiffFilesResult, type FileDiff, type InitialData, type RepoProvider, type Repository,
  type RestoreWorkspaceResult, type SetupResult, type Workspace, type WorkspaceDirectory, type WorkspaceGit,
} from './types.js'

/** The parsed plugin options, with the worktree base resolved to an existing real directory. */
export type ResolvedReposOptions = Omit<ReposOptions, 'provider'> & { worktreeBaseDir: string, claudePlansDir: string }
export const REPOS_OPTIONS = token<ResolvedReposOptions>('ReposOptions')

interface WorkspaceRow {
  id: string, repository_id: string, name: string, branch_name: string, worktree_path: string | null,
  status: 'Active' | 'Archived', status_line: string, created_at: string, sort_order: number, input_values: string | null,
  /** The worktree's git admin dir as recorded when it was made (null: archived, or made before it was recorded). */
  git_dir: string | null
}

const parseValues = (json: string | null): Record<string, string> | null => {
  if (!json) return null
  try {
    const v = JSON.parse(json) as unknown
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, string> : null
  } catch { return null }
}

/** A DB row as the wire Workspace (keys in the reference's alphabetical order). */
const toWorkspace = (r: WorkspaceRow): Workspace => ({
  agent_status: r.status === 'Active' ? 'Idle' : 'Stopped',
  branch_name: r.branch_name,
  created_at: r.created_at,
  id: r.id,
  input_values: (v => v && sortedObject(v))(parseValues(r.input_values)),
  name: r.name,
  repository_id: r.repository_id,
  sort_order: r.sort_order,
  status: r.status,
  status_line: r.status_line,
  worktree_path: r.worktree_path,
})

const MAX_SETUP_OUTPUT = 1024 * 1024

/** Whether two paths name the same file (realpath); false if either is missing. */
async function sameRealPath (a: string, b: string): Promise<boolean> {
  try { return await realpath(a) === await realpath(b) } catch { return false }
}

/** SIGKILL to a setup script's process group (it was spawned detached, as its group leader). */
function killGroup (child: ChildProcess): void {
  try { process.kill(-child.pid!, 'SIGKILL') } catch { child.kill('SIGKILL') }
}
/** Checking out or removing a large worktree can take a while. */
const CHECKOUT_TIMEOUT_MS = 10 * 60_000
/** git processes load_initial_data runs at once. */
const INITIAL_DATA_CONCURRENCY = 8

/** Promise.all with at most `limit` calls in flight. */
async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!) }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
interface SetupEntry { child: ChildProcess | null, cancelled: boolean, readonly workspaceId: string, readonly exited: Promise<void> }
type ArchiveHook = (workspace: Workspace) => void | Promise<void>
type Contributor = () => Promise<Partial<InitialData>> | Partial<InitialData>

/**
 * Workspaces (git worktrees) on top of a RepoProvider: create/archive/restore with rollback,
 * diffs, path confinement, settings. Operations on one repository are serialized.
 */
@injectable()
export class WorkspaceService implements WorkspaceDirectory, WorkspaceGit, Disposable {
  readonly settings: AppSettings
  /** The server's one git runner (also what `REPOS.Git` runs through). */
  readonly git: GitRunner
  readonly #locks = new KeyedMutex()
  readonly #archiveHooks = new Set<ArchiveHook>()
  readonly #contributors = new Set<Contributor>()
  readonly #onDidChange: Emitter<Workspace>
  readonly onDidChangeWorkspace
  /** Setup scripts starting or running, with their workspace and a promise that settles when each has exited. */
  readonly #scripts = new Set<SetupEntry>()
  #closed = false

  constructor (
    @inject(STORE.Store) private readonly store: Store,
    @inject(REPOS.Provider) readonly provider: RepoProvider,
    @inject(CORE.Hub) private readonly hub: ConnectionHub,
    @inject(CORE.Log) private readonly log: FastifyBaseLogger,
    @inject(REPOS_OPTIONS) private readonly opts: ResolvedReposOptions,
    @inject(CORE.ProcessRunner) runner: ProcessRunner,
  ) {
    this.git = new GitRunner(runner)
    this.settings = new AppSettings(store, { worktree_base_dir: () => opts.worktreeBaseDir })
    this.#onDidChange = new Emitter<Workspace>(err => this.log.warn({ err }, 'workspace-changed listener failed'))
    this.onDidChangeWorkspace = this.#onDidChange.event
  }

  get worktreeBaseDir (): string { return this.opts.worktreeBaseDir }

  // ------------------------------------------------------------------ repositories

  /** path_valid in lists may be up to a second old (DirectoryCheck); single lookups check now. */
  readonly #dirs = new DirectoryCheck(1000)

  async listRepositories (): Promise<Repository[]> {
    return Promise.all((await this.provider.list()).map(r => toRepository(r, p => this.#dirs.isDir(p))))
  }

  async getRepository (id: string): Promise<Repository | null> {
    try {
      return await toRepository(await this.provider.get(id))
    } catch (err) {
      if (err instanceof RepoNotFoundError) return null
      throw err
    }
  }

  async #requireRepo (id: string): Promise<Repository> {
    const repo = id === '' ? null : await this.getRepository(id)
    if (!repo) throw new RepoNotFoundError(id)
    return repo
  }

  async addRepository (path: string, name?: string): Promise<Repository> {
    if (!this.provider.add) throw new RepoOperationUnsupportedError('Adding repositories is not supported by this server\'s repository provider')
    const real = await inspectRepositoryPath(this.git, path)
    if (isInside(this.opts.worktreeBaseDir, real) || workspaceWorktreeAt(this.store, real)) throw new NotAGitRepositoryError(`Cannot register a workspace worktree as a repository: ${path}`)
    const existing = (await this.provider.list()).find(r => r.path === real)
    if (existing) throw new RepoExistsError(real, existing.id)
    const clean = stripControls(name ?? '')
    const info = await this.provider.add({ path: real, ...(clean ? { name: clean } : {}) })
    this.log.info({ repositoryId: info.id, path: real }, 'repository added')
    return toRepository(info)
  }

  async removeRepository (id: string): Promise<Repository> {
    const repo = await this.#requireRepo(id)
    if (!this.provider.remove) throw new RepoOperationUnsupportedError('Removing repositories is not supported by this server\'s repository provider')
    const remove = this.provider.remove.bind(this.provider)
    return this.#underRepoLock(repo, async () => {
      const active = this.#db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM workspaces WHERE repository_id = ? AND status = \'Active\'').get(repo.id)!.n
      if (active > 0) throw new RepoInUseError(repo.id, active)
      // The provider first: if it refuses, the archived workspaces are still there.
      await remove(repo.id)
      // Archived workspaces go with it (their branches stay in git).
      this.#db.prepare('DELETE FROM workspaces WHERE repository_id = ?').run(repo.id)
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
  async #underRepoLock<T> (repo: Repository, fn: () => Promise<T>): Promise<T> {
    let gitKey = repo.path
    try {
      const dirs = await gitDirs(repo.path)
      gitKey = await realpath(dirs ? dirs.common : repo.path)
    } catch { /* a missing repository: its path */ }
    const dirKey = join(this.opts.worktreeBaseDir, slugify(repo.path_slug))
    return this.#locks.run(`git:${gitKey}`, () => this.#locks.run(`dir:${dirKey}`, fn))
  }

  // ------------------------------------------------------------------ workspaces

  get #db () { return this.store.db }

  /**
   * Runs fn under the workspace's repository lock with the row as it is once the lock is held
   * (another operation may have changed it while we waited).
   */
  async #withWorkspaceLocked<T> (id: string, fn: (cur: WorkspaceRow, repo: Repository) => Promise<T>): Promise<T> {
    const row = this.#row(id)
    if (!row) throw new WorkspaceNotFoundError(id)
    const repo = await this.#requireRepo(row.repository_id)
    return this.#underRepoLock(repo, async () => {
      const cur = this.#row(id)
      if (!cur) throw new WorkspaceNotFoundError(id)
      return fn(cur, repo)
    })
  }

  // The hot reads are prepared once (list_workspaces and friends run them on every call; better-sqlite3
  // does not cache statements, and preparing costs more than the query). Prepared on first use.
  #qRow: Statement<[string], WorkspaceRow> | null = null
  #qRows: Statement<[], WorkspaceRow> | null = null

  #row (id: string): WorkspaceRow | undefined {
    this.#qRow ??= this.#db.prepare<[string], WorkspaceRow>('SELECT * FROM workspaces WHERE id = ?')
    return this.#qRow.get(id)
  }

  #rows (): WorkspaceRow[] {
    this.#qRows ??= this.#db.prepare<[], WorkspaceRow>('SELECT * FROM workspaces ORDER BY repository_id, sort_order, created_at, id')
    return this.#qRows.all()
  }

  async getWorkspace (id: string): Promise<Workspace | null> {
    const r = this.#row(id)
    return r ? toWorkspace(r) : null
  }

  async listWorkspaces (): Promise<Workspace[]> { return this.#rows().map(toWorkspace) }

  async loadInitialData (): Promise<InitialData> {
    const repositories = await this.listRepositories()
    const repoPaths = new Map(repositories.map(r => [r.id, r.path]))
    const workspaces = await mapLimit(this.#rows(), INITIAL_DATA_CONCURRENCY, async r => {
      const w = toWorkspace(r)
      const repoPath = repoPaths.get(r.repository_id)
      if (w.status === 'Active' && w.worktree_path && repoPath !== undefined && await isDir(w.worktree_path)) {
        let target: GitTarget
        try {
          target = await this.#workspaceTarget(r, repoPath)
        } catch (err) {
          // One redirected worktree does not fail the whole answer: it keeps its recorded branch.
          this.log.warn({ err, workspaceId: r.id }, 'workspace is unsafe; its branch was not read')
          return w
        }
        const fromDisk = await currentBranch(target.gitDir)
        if (fromDisk !== undefined) w.branch_name = fromDisk ?? '(detached)'
        else {
          try {
            w.branch_name = (await this.git.run(target, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: w.worktree_path, timeoutMs: 15_000 })).stdout.trim() || '(detached)'
          } catch { w.branch_name = '(detached)' }
        }
      }
      return w
    })
    const found: Record<string, string> = {}
    const valid = repositories.filter(r => r.path_valid)
    const branches = await mapLimit(valid, INITIAL_DATA_CONCURRENCY, r => detectDefaultBranch(this.git, r.path, { baseBranch: r.base_branch, defaultRemote: r.default_remote }))
    valid.forEach((r, i) => { const b = branches[i]; if (b) found[r.id] = b })
    const default_branches = sortedObject(found)
    const data: InitialData = { default_branches, last_messages: [], repositories, workspaces, worktree_base_dir: this.opts.worktreeBaseDir }
    for (const fn of [...this.#contributors]) {
      try {
        Object.assign(data, await fn())
      } catch (err) {
        this.log.warn({ err }, 'load_initial_data contributor failed')
      }
    }
    return data
  }

  async createWorkspace (p: { repository_id: string, name: string, input_values?: Record<string, string> }): Promise<CreateWorkspaceResult> {
    const repo = await this.#requireRepo(p.repository_id)
    if (!isValidWorkspaceName(p.name)) throw new InvalidWorkspaceNameError(p.name)
    const inputs = this.#checkInputs(repo, p.input_values)
    if (!repo.path_valid) throw new NotAGitRepositoryError(`Repository path is missing or not a directory: ${repo.path}`)
    const branch = assertSafeRef(this.opts.branchPrefix + p.name, 'branch name')
    const { workspace, sessionId } = await this.#underRepoLock(repo, async () => {
      // Still registered now that the lock is held? (A remove_repository may have run meanwhile.)
      await this.#requireRepo(repo.id)
      return this.#createLocked(repo, p.name, branch, inputs)
    })
    // Registered before anyone can see the workspace, so an archive that follows at once finds it.
    const setup = this.#runSetup(repo, workspace)
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

  async #refExists (repoPath: string, ref: string): Promise<boolean> {
    try {
      await this.#repoGit(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { timeoutMs: 15_000 })
      return true
    } catch { return false }
  }

  // ------------------------------------------------------------------ git, pinned

  /** git on a repository, pinned to its git dir (`<repo>/.git`, the owner's, never a worktree's). */
  async #repoGit (repoPath: string, args: readonly string[], opts: { timeoutMs?: number, ownerFilters?: boolean } = {}): Promise<GitResult> {
    const dirs = await gitDirs(repoPath)
    if (!dirs) throw new NotAGitRepositoryError(`Not a git repository: ${repoPath}`)
    return this.git.run({ gitDir: dirs.gitDir }, args, { ...opts, cwd: repoPath })
  }

  /**
   * The pinned git target of an active workspace's worktree: the admin dir recorded when the
   * worktree was made, with the worktree as work tree. Refuses (UnsafeWorkspaceError) a worktree
   * whose `.git` is not a regular file pointing there. Runs no git.
   */
  async #workspaceTarget (row: WorkspaceRow, repoPath: string): Promise<GitTarget> {
    const wt = row.worktree_path
    if (!wt) throw new WorkspaceNoWorktreeError(row.id)
    let admin = row.git_dir
    if (!admin) {
      // Made before admin dirs were recorded: the entry git keeps for this worktree in the
      // repository (its `gitdir` file names `<worktree>/.git`), recorded from now on.
      const dirs = await gitDirs(repoPath)
      admin = dirs ? await findWorktreeAdminDir(dirs.common, wt) : null
      if (!admin) throw new UnsafeWorkspaceError(row.name, join(dirs?.common ?? join(repoPath, '.git'), 'worktrees', basename(wt)))
      this.#db.prepare('UPDATE workspaces SET git_dir = ? WHERE id = ? AND worktree_path = ?').run(admin, row.id, wt)
    }
    const link = await readGitLink(wt)
    if (link !== admin && !(link && await sameRealPath(link, admin))) throw new UnsafeWorkspaceError(row.name, admin)
    return { gitDir: admin, workTree: wt }
  }

  /** The admin dir `git worktree add` just made for `wt` (checked to be the repository's). */
  async #newAdminDir (repoPath: string, wt: string): Promise<string> {
    const link = await readGitLink(wt)
    const dirs = await gitDirs(repoPath)
    if (!link || !dirs || !await isWorktreeAdminDirOf(dirs.common, link)) throw new GitCommandError(`git worktree add left an unexpected .git in ${wt}`, null)
    return link
  }

  /** An active workspace with its worktree, pinned and checked (see #workspaceTarget). */
  async #pinnedWorkspace (id: string): Promise<{ row: WorkspaceRow, path: string, repo: Repository, target: GitTarget }> {
    const { row, path, repo } = await this.#activeWorkspace(id)
    return { row, path, repo, target: await this.#workspaceTarget(row, repo.path) }
  }

  async runInWorkspace (workspaceId: string, args: readonly string[], opts: { env?: Record<string, string>, timeoutMs?: number, maxBuffer?: number, okCodes?: readonly number[] } = {}): Promise<GitResult> {
    const { path, target } = await this.#pinnedWorkspace(workspaceId)
    return this.git.run(target, args, { ...opts, cwd: path })
  }

  async #createLocked (repo: Repository, name: string, branch: string, inputs: Record<string, string> | null): Promise<{ workspace: Workspace, sessionId: string }> {
    const taken = this.#db.prepare<[string, string], { id: string }>('SELECT id FROM workspaces WHERE repository_id = ? AND name = ?').get(repo.id, name)
    if (taken) throw new WorkspaceExistsError(`Workspace '${name}' already exists in this repository`)
    const path = this.#worktreePath(repo, name)
    // Reliability fix (issue 10, found by test/reliability/crash-workspace.test.ts): a kill
    // between `git worktree add` and the row insert leaves our worktree and branch without a
    // row. Its id was never returned, so nothing uses it: roll it back, so the name can be
    // created again instead of failing with "Branch already exists" forever.
    if (await this.#isInterruptedCreate(repo.path, path, branch)) await this.#rollbackCreate(repo.path, path, branch)
    if (await this.#refExists(repo.path, `refs/heads/${branch}`)) throw new WorkspaceExistsError(`Branch '${branch}' already exists`)
    if (existsSync(path)) throw new WorkspaceExistsError(`Worktree path already exists: ${path}`)
    const defaultBranch = await detectDefaultBranch(this.git, repo.path, { baseBranch: repo.base_branch, defaultRemote: repo.default_remote })
    const remote = repo.default_remote && isSafeRefName(repo.default_remote) ? repo.default_remote : 'origin'
    const candidates = defaultBranch ? [`refs/heads/${defaultBranch}`, `refs/remotes/${remote}/${defaultBranch}`, 'HEAD'] : ['HEAD']
    let base: string | null = null
    for (const c of candidates) if (await this.#refExists(repo.path, c)) { base = c; break }
    if (!base) throw new GitCommandError('Repository has no commits to start a workspace from', null)

    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    try {
      // A checkout: the owner's filter drivers run (git-lfs), nothing else (docs/workspaces.md).
      await this.#repoGit(repo.path, ['worktree', 'add', '--no-track', '-b', branch, '--', path, base], { timeoutMs: CHECKOUT_TIMEOUT_MS, ownerFilters: true })
      return this.#insertWorkspace(repo, name, branch, path, await this.#newAdminDir(repo.path, path), inputs)
    } catch (err) {
      await this.#rollbackCreate(repo.path, path, branch)
      this.log.warn({ err, repositoryId: repo.id, name }, 'create_workspace failed; rolled back')
      throw err
    }
  }

  #insertWorkspace (repo: Repository, name: string, branch: string, path: string, gitDir: string, inputs: Record<string, string> | null): { workspace: Workspace, sessionId: string } {
    const db = this.#db
    return db.transaction(() => {
      // The built-in provider's repositories live in this database, where `repo remove` (another
      // process) may have deleted this one while git ran: checked in the same transaction, so
      // either the remove sees this workspace (and refuses) or this insert fails (and rolls back).
      if (this.provider instanceof SqliteRepoProvider && !db.prepare<[string], { id: string }>('SELECT id FROM repositories WHERE id = ?').get(repo.id)) {
        throw new RepoNotFoundError(repo.id)
      }
      const order = db.prepare<[string], { n: number | null }>('SELECT MAX(sort_order) AS n FROM workspaces WHERE repository_id = ?').get(repo.id)?.n ?? -1
      const id = randomUUID()
      const now = sqlNow()
      db.prepare(`INSERT INTO workspaces (id, repository_id, name, branch_name, worktree_path, status, status_line, created_at, sort_order, input_values, git_dir)
                  VALUES (?, ?, ?, ?, ?, 'Active', '', ?, ?, ?, ?)`).run(id, repo.id, name, branch, path, now, order + 1, inputs ? JSON.stringify(inputs) : null, gitDir)
      const sessionId = randomUUID()
      db.prepare(`INSERT INTO chat_sessions (id, workspace_id, session_id, name, name_edited, turn_count, sort_order, status, created_at, archived_at, cli_invocation)
                  VALUES (?, ?, NULL, 'New chat', 0, 0, 0, 'Active', ?, NULL, NULL)`).run(sessionId, id, now)
      return { workspace: toWorkspace(this.#row(id)!), sessionId }
    }).immediate()
  }

  /** Undoes a half-made workspace: the worktree, its directory and the new branch. Never throws. */
  /**
   * True for the leftover of a create cut short by a crash: a clean worktree at our own path
   * (inside worktreeBaseDir), checked out on the workspace's branch, that no row refers to.
   * A user's own branch or a worktree with changes is never matched.
   */
  async #isInterruptedCreate (repoPath: string, path: string, branch: string): Promise<boolean> {
    if (!isInside(this.opts.worktreeBaseDir, path)) return false
    if (!existsSync(path)) return this.#isOrphanBranch(repoPath, branch, path)
    if (this.#db.prepare<[string], { id: string }>('SELECT id FROM workspaces WHERE worktree_path = ?').get(path)) return false
    try {
      const real = await realpath(path)
      const list = (await this.#repoGit(repoPath, ['worktree', 'list', '--porcelain'])).stdout
      const entry = list.split(/\n\n/).find(e => { const head = e.split('\n')[0]; return head === `worktree ${path}` || head === `worktree ${real}` })
      // A `git worktree add` that died half-way (its stderr pipe closed with the killed server)
      // leaves our worktree locked "initializing" and possibly half checked out: never finished,
      // never returned to anyone (issue 10, crash-workspace.test.ts).
      if (entry?.split('\n').includes('locked initializing')) return true
      if (!entry?.split('\n').includes(`branch refs/heads/${branch}`)) return false
      // Pinned to git's own entry for the path, and only if the worktree's .git still points there.
      const dirs = await gitDirs(repoPath)
      const admin = dirs ? await findWorktreeAdminDir(dirs.common, real) : null
      const link = admin ? await readGitLink(path) : null
      if (!admin || !link || (link !== admin && !await sameRealPath(link, admin))) return false
      return (await this.git.run({ gitDir: admin, workTree: path }, ['status', '--porcelain', '--ignore-submodules=all'], { cwd: path })).stdout.trim() === ''
    } catch { return false }
  }

  /**
   * A kill right after `git worktree add -b` can leave the branch without its directory. It is a
   * leftover when no workspace row names it, no worktree has it checked out, and it holds no
   * commit that another branch lacks (deleting it loses nothing).
   */
  async #isOrphanBranch (repoPath: string, branch: string, path: string): Promise<boolean> {
    if (this.#db.prepare<[string], { id: string }>('SELECT id FROM workspaces WHERE branch_name = ?').get(branch)) return false
    if (!await this.#refExists(repoPath, `refs/heads/${branch}`)) return false
    try {
      await this.#repoGit(repoPath, ['worktree', 'prune'])
      const list = (await this.#repoGit(repoPath, ['worktree', 'list', '--porcelain'])).stdout
      // Checked out somewhere else than our (missing, possibly still locked) worktree path: not ours.
      const holder = list.split(/\n\n/).find(e => e.split('\n').includes(`branch refs/heads/${branch}`))
      if (holder && holder.split('\n')[0] !== `worktree ${path}`) return false
      const unique = await this.#repoGit(repoPath, ['rev-list', '--count', `refs/heads/${branch}`, '--not', `--exclude=${branch}`, '--branches'])
      return unique.stdout.trim() === '0'
    } catch { return false }
  }

  async #rollbackCreate (repoPath: string, path: string, branch: string): Promise<void> {
    const quiet = async (fn: () => Promise<unknown>): Promise<void> => { try { await fn() } catch { /* best effort */ } }
    await quiet(() => this.#repoGit(repoPath, ['worktree', 'unlock', '--', path]))
    await quiet(() => this.#repoGit(repoPath, ['worktree', 'remove', '--force', '--force', '--', path]))
    if (isInside(this.opts.worktreeBaseDir, path)) await quiet(() => rm(path, { recursive: true, force: true }))
    await quiet(() => this.#repoGit(repoPath, ['worktree', 'prune']))
    await quiet(() => this.#repoGit(repoPath, ['branch', '-D', '--', branch]))
  }

  /** Starts the setup script; registered in #scripts synchronously (before the first await). */
  #runSetup (repo: Repository, ws: Workspace): Promise<SetupResult | null> {
    const script = repo.setup_script?.trim()
    if (!script || !ws.worktree_path || this.#closed) return Promise.resolve(null)
    let exited!: () => void
    const entry: SetupEntry = { child: null, cancelled: false, workspaceId: ws.id, exited: new Promise<void>(resolve => { exited = resolve }) }
    this.#scripts.add(entry)
    const notRun = (): SetupResult => {
      this.#scripts.delete(entry)
      exited()
      return { exit_code: null, output: 'Setup script not run: the workspace was archived or the server is closing', script, source: 'settings', success: false, timed_out: false }
    }
    return this.workspaceEnv(ws.id).then(wsEnv => new Promise<SetupResult>(resolve => {
      if (entry.cancelled || this.#closed) { resolve(notRun()); return }
      const env = { ...process.env, ...wsEnv }
      const child = spawn('/bin/sh', ['-c', script], { cwd: ws.worktree_path!, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      entry.child = child
      let output = ''
      let timedOut = false
      const onData = (b: Buffer): void => { if (output.length < MAX_SETUP_OUTPUT) output += b.toString('utf8') }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      const timer = setTimeout(() => { timedOut = true; killGroup(child) }, this.opts.setupTimeoutMs)
      timer.unref()
      const done = (code: number | null): void => {
        clearTimeout(timer)
        this.#scripts.delete(entry)
        exited()
        resolve({ exit_code: code, output: output.slice(0, MAX_SETUP_OUTPUT), script, source: 'settings', success: code === 0 && !timedOut, timed_out: timedOut })
      }
      child.on('error', err => { output += String(err.message); done(null) })
      child.on('close', code => done(code))
    }), () => notRun())
  }

  async archiveWorkspace (id: string): Promise<null> {
    const ws = await this.#withWorkspaceLocked(id, async (cur, repo) => {
      if (cur.status === 'Archived') throw new WorkspaceStateError('Workspace is already archived')
      const path = cur.worktree_path
      // A redirected worktree is refused before anything changes (git worktree remove would read its .git).
      const target = path && existsSync(path) ? await this.#workspaceTarget(cur, repo.path) : null
      // A setup script still running in the worktree (create_workspace has not answered yet) is
      // stopped first: it must not go on writing into a directory that is being removed.
      const setups = [...this.#scripts].filter(s => s.workspaceId === id)
      for (const s of setups) { s.cancelled = true; if (s.child) killGroup(s.child) }
      await Promise.all(setups.map(s => s.exited))
      for (const hook of [...this.#archiveHooks]) {
        try { await hook(toWorkspace(cur)) } catch (err) { this.log.warn({ err, workspaceId: id }, 'archive hook failed') }
      }
      // A lock (`git worktree lock`, by a user or a tool) would keep git's entry for the removed
      // directory: prune skips locked entries and restore would fail on "missing but locked".
      const admin = target?.gitDir ?? cur.git_dir
      if (path && (!admin || existsSync(join(admin, 'locked')))) {
        try { await this.#repoGit(repo.path, ['worktree', 'unlock', '--', path]) } catch { /* not locked after all */ }
      }
      if (path && existsSync(path)) {
        try {
          // --force: no `git status` inside the worktree (nothing runs there).
          await this.#repoGit(repo.path, ['worktree', 'remove', '--force', '--', path], { timeoutMs: CHECKOUT_TIMEOUT_MS })
        } catch (err) {
          // Not (or no longer) a registered worktree: remove the directory only if it is ours.
          if (!isInside(this.opts.worktreeBaseDir, path)) throw err
          await rm(path, { recursive: true, force: true })
        }
      }
      try { await this.#repoGit(repo.path, ['worktree', 'prune']) } catch { /* nothing to prune */ }
      this.#db.prepare('UPDATE workspaces SET status = \'Archived\', worktree_path = NULL, git_dir = NULL WHERE id = ?').run(id)
      this.log.info({ workspaceId: id }, 'workspace archived')
      return toWorkspace(this.#row(id)!)
    })
    this.#changed(ws)
    return null
  }

  async restoreWorkspace (id: string): Promise<RestoreWorkspaceResult> {
    const ws = await this.#withWorkspaceLocked(id, async (cur, repo) => {
      if (cur.status === 'Active') {
        // A redirected worktree says so (rather than only "already active").
        if (cur.worktree_path && existsSync(cur.worktree_path)) await this.#workspaceTarget(cur, repo.path)
        throw new WorkspaceStateError('Workspace is already active')
      }
      const branch = cur.branch_name
      if (!isSafeRefName(branch) || !await this.#refExists(repo.path, `refs/heads/${branch}`)) {
        throw new GitCommandError(`Branch '${branch}' no longer exists; the workspace cannot be restored`, null)
      }
      const path = this.#worktreePath(repo, cur.name)
      if (existsSync(path)) throw new WorkspaceExistsError(`Worktree path already exists: ${path}`)
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      // Drop entries of worktree directories deleted behind our back (git refuses to add over one).
      try { await this.#repoGit(repo.path, ['worktree', 'prune']) } catch { /* best effort */ }
      try {
        // A checkout: the owner's filter drivers run (git-lfs), nothing else (docs/workspaces.md).
        await this.#repoGit(repo.path, ['worktree', 'add', '--', path, branch], { timeoutMs: CHECKOUT_TIMEOUT_MS, ownerFilters: true })
        const gitDir = await this.#newAdminDir(repo.path, path)
        // `repo remove` from another process may have deleted the repository (and this archived
        // row) while git ran: then the new worktree belongs to nothing and is rolled back.
        const db = this.#db
        const restored = db.transaction(() => {
          if (this.provider instanceof SqliteRepoProvider && !db.prepare<[string], { id: string }>('SELECT id FROM repositories WHERE id = ?').get(repo.id)) return false
          return db.prepare('UPDATE workspaces SET status = \'Active\', worktree_path = ?, git_dir = ? WHERE id = ? AND status = \'Archived\'').run(path, gitDir, id).changes === 1
        }).immediate()
        if (!restored) throw new WorkspaceNotFoundError(id)
      } catch (err) {
        try { await this.#repoGit(repo.path, ['worktree', 'remove', '--force', '--', path]) } catch { /* not created */ }
        await rm(path, { recursive: true, force: true })
        try { await this.#repoGit(repo.path, ['worktree', 'prune']) } catch { /* best effort */ }
        throw err
      }
      this.log.info({ workspaceId: id }, 'workspace restored')
      return toWorkspace(this.#row(id)!)
    })
    this.#changed(ws)
    return { workspace: ws, worktree_path: ws.worktree_path! }
  }

  #changed (ws: Workspace): void {
    this.#onDidChange.fire(ws)
    this.hub.broadcast(WORKSPACE_CHANGED_EVENT, { workspace: ws })
  }

  // ------------------------------------------------------------------ diffs and files

  /** The active workspace and its existing worktree, with the reference errors in their order. */
  async #activeWorkspace (id: string): Promise<{ row: WorkspaceRow, path: string, repo: Repository }> {
    const row = this.#row(id)
    if (!row) throw new WorkspaceNotFoundError(id)
    if (row.status !== 'Active' || !row.worktree_path || !await isDir(row.worktree_path)) throw new WorkspaceNoWorktreeError(id)
    const repo = await this.#requireRepo(row.repository_id)
    return { row, path: row.worktree_path, repo }
  }

  async #mergeBase (repo: Repository, git: BoundGit): Promise<string> {
    const b = await detectDefaultBranch(this.git, repo.path, { baseBranch: repo.base_branch, defaultRemote: repo.default_remote })
    const remote = repo.default_remote && isSafeRefName(repo.default_remote) ? repo.default_remote : 'origin'
    return mergeBase(git, b, remote)
  }

  async loadDiffFiles (workspaceId: string): Promise<DiffFilesResult> {
    const { path, repo, target } = await this.#pinnedWorkspace(workspaceId)
    const git = bindGit(this.git, target, path)
    const mb = await this.#mergeBase(repo, git)
    const { files, staged_files } = await diffFiles(git, path, mb)
    return { files, merge_base: mb, staged_files }
  }

  /** A worktree path from a client: must be (the realpath of) an active workspace of this server. */
  async #worktreeFromClient (p: string): Promise<{ path: string, row: WorkspaceRow }> {
    checkAbsolutePath(p, 'worktree path')
    let real: string
    try { real = await realpath(p) } catch { throw new PathNotAllowedError('Invalid worktree path: not a workspace of this server') }
    for (const row of this.#rows()) {
      if (row.status !== 'Active' || !row.worktree_path) continue
      let wt: string
      try { wt = await realpath(row.worktree_path) } catch { continue }
      if (wt === real) return { path: wt, row }
    }
    throw new PathNotAllowedError('Invalid worktree path: not a workspace of this server')
  }

  async loadFileDiff (p: { worktree_path: string, file_path: string, merge_base: string, diff_layer?: string | null }): Promise<FileDiff> {
    const { path, row } = await this.#worktreeFromClient(p.worktree_path)
    const repo = await this.#requireRepo(row.repository_id)
    const git = bindGit(this.git, await this.#workspaceTarget(row, repo.path), path)
    const real = await resolveInsideRoot(path, p.file_path)
    if (await isDir(real)) throw new PathNotAllowedError('Invalid file path: is a directory')
    const rel = normalize(p.file_path).replace(/\/+$/, '')
    const layer = p.diff_layer ?? null
    let base = p.merge_base
    if (layer !== 'staged' && layer !== 'unstaged' && layer !== 'untracked') {
      if (base === '') base = await this.#mergeBase(repo, git)
      else if (!isCommitId(base) && !isSafeRefName(base)) throw new InvalidRefError(`Invalid merge base: '${base.length > 100 ? base.slice(0, 100) + '…' : base}'`)
    }
    const d = await fileDiff(git, path, rel, base, layer)
    return { hunks: d.hunks, is_binary: d.is_binary, path: p.file_path }
  }

  async readPlanFile (p: string): Promise<string> {
    checkAbsolutePath(p)
    // Containment is checked before existence, so a client cannot probe for files elsewhere.
    const outside = (): Error => new PathNotAllowedError('Plan file must be inside an active workspace of this server')
    const worktrees = await this.#activeWorktrees()
    const plans = await realpath(this.opts.claudePlansDir).catch(() => null)
    const real = await resolveAbsoluteIn(p, plans === null ? worktrees : [...worktrees, plans], outside)
    // In Claude Code's plans directory only its own kind of file, `plans/*.md`, after symlinks.
    if (!worktrees.some(w => isInside(w, real)) && (dirname(real) !== plans || extname(real) !== '.md')) throw outside()
    let st
    try { st = await lstat(real) } catch { throw new PlanFileError('Plan file not found') }
    if (!st.isFile()) throw new PlanFileError('Plan file is not a regular file')
    if (st.size > this.opts.maxPlanFileBytes) throw new PlanFileError(`Plan file too large (${st.size} bytes; at most ${this.opts.maxPlanFileBytes})`)
    // Opened without following a symlink and without blocking (a file swapped for a link or a
    // FIFO since the checks above is refused, not read or waited on); checked again on the handle.
    let fh
    try {
      fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    } catch {
      throw new PlanFileError('Plan file is not a regular file')
    }
    try {
      const now = await fh.stat()
      if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) throw new PlanFileError('Plan file is not a regular file')
      if (now.size > this.opts.maxPlanFileBytes) throw new PlanFileError(`Plan file too large (${now.size} bytes; at most ${this.opts.maxPlanFileBytes})`)
      return (await fh.readFile()).toString('utf8')
    } finally {
      await fh.close()
    }
  }

  async #activeWorktrees (): Promise<string[]> {
    const out: string[] = []
    for (const row of this.#rows()) {
      if (row.status !== 'Active' || !row.worktree_path) continue
      try { out.push(await realpath(row.worktree_path)) } catch { /* gone */ }
    }
    return out
  }

  // ------------------------------------------------------------------ WorkspaceDirectory

  async confinePath (p: string): Promise<string> {
    checkAbsolutePath(p)
    const roots = await this.#activeWorktrees()
    for (const repo of await this.provider.list()) {
      try { roots.push(await realpath(repo.path)) } catch { /* missing repository */ }
    }
    // Containment first, existence second: no probing for files outside.
    const real = await resolveAbsoluteIn(p, roots,
      () => new PathNotAllowedError(`Path not allowed: ${p} is outside the registered repositories and workspaces`))
    if (!existsSync(real)) throw new PathNotAllowedError(`Path does not exist: ${p}`)
    return real
  }

  async resolveInWorkspace (workspaceId: string, relPath: string): Promise<string> {
    const { path } = await this.#activeWorkspace(workspaceId)
    return resolveInsideRoot(path, relPath)
  }

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
      env.CLAUDETTE_DEFAULT_BRANCH = (repo.path_valid ? await detectDefaultBranch(this.git, repo.path, { baseBranch: repo.base_branch, defaultRemote: repo.default_remote }) : null) ?? ''
    }
    return env
  }

  addArchiveHook (hook: ArchiveHook): Disposable {
    this.#archiveHooks.add(hook)
    return toDisposable(() => { this.#archiveHooks.delete(hook) })
  }

  addInitialDataContributor (fn: Contributor): Disposable {
    this.#contributors.add(fn)
    return toDisposable(() => { this.#contributors.delete(fn) })
  }

  async dispose (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const s of this.#scripts) { s.cancelled = true; if (s.child) killGroup(s.child) }
    // Let git operations in flight finish, so no worktree is left half made.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#locks.drain(), new Promise(resolve => { timer = setTimeout(resolve, 10_000); timer.unref() })])
    clearTimeout(timer)
    this.#onDidChange.dispose()
    this.#archiveHooks.clear()
    this.#contributors.clear()
  }
}

export const REPOS_SERVICE = token<WorkspaceService>('WorkspaceService')
