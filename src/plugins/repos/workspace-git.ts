// git on repositories and workspaces, pinned: every call names the git dir the server recorded
// (a repository's own `.git`, a worktree's admin dir), never a `.git` a worktree can change.
import { realpath } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { GitCommandError, NotAGitRepositoryError, UnsafeWorkspaceError, WorkspaceNoWorktreeError, WorkspaceNotFoundError } from './errors.js'
import type { GitResult, GitRunner, GitTarget } from './git.js'
import { findWorktreeAdminDir, gitDirs, isDir, isWorktreeAdminDirOf, readGitLink } from './repositories.js'
import type { RegisteredRepositories } from './registered-repositories.js'
import type { Repository, WorkspaceGit } from './types.js'
import type { WorkspaceRow, WorkspaceRows } from './workspace-rows.js'

/** Whether two paths name the same file (realpath); false if either is missing. */
export async function sameRealPath (a: string, b: string): Promise<boolean> {
  try { return await realpath(a) === await realpath(b) } catch { return false }
}

export class PinnedGit implements WorkspaceGit {
  constructor (
    /** The server's one git runner. */
    readonly runner: GitRunner,
    private readonly rows: WorkspaceRows,
    private readonly repositories: RegisteredRepositories,
  ) {}

  /** git on a repository, pinned to its git dir (`<repo>/.git`, the owner's, never a worktree's). */
  async repoGit (repoPath: string, args: readonly string[], opts: { timeoutMs?: number, ownerFilters?: boolean } = {}): Promise<GitResult> {
    const dirs = await gitDirs(repoPath)
    if (!dirs) throw new NotAGitRepositoryError(`Not a git repository: ${repoPath}`)
    return this.runner.run({ gitDir: dirs.gitDir }, args, { ...opts, cwd: repoPath })
  }

  async refExists (repoPath: string, ref: string): Promise<boolean> {
    try {
      await this.repoGit(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { timeoutMs: 15_000 })
      return true
    } catch { return false }
  }

  /**
   * The pinned git target of an active workspace's worktree: the admin dir recorded when the
   * worktree was made, with the worktree as work tree. Refuses (UnsafeWorkspaceError) a worktree
   * whose `.git` is not a regular file pointing there. Runs no git.
   */
  async workspaceTarget (row: WorkspaceRow, repoPath: string): Promise<GitTarget> {
    const wt = row.worktree_path
    if (!wt) throw new WorkspaceNoWorktreeError(row.id)
    let admin = row.git_dir
    if (!admin) {
      // A worktree with no admin dir recorded: the entry git keeps for this worktree in the
      // repository (its `gitdir` file names `<worktree>/.git`), recorded from now on.
      const dirs = await gitDirs(repoPath)
      admin = dirs ? await findWorktreeAdminDir(dirs.common, wt) : null
      if (!admin) throw new UnsafeWorkspaceError(row.name, join(dirs?.common ?? join(repoPath, '.git'), 'worktrees', basename(wt)))
      this.rows.recordGitDir(row.id, wt, admin)
    }
    const link = await readGitLink(wt)
    if (link !== admin && !(link && await sameRealPath(link, admin))) throw new UnsafeWorkspaceError(row.name, admin)
    return { gitDir: admin, workTree: wt }
  }

  /** The admin dir `git worktree add` just made for `wt` (checked to be the repository's). */
  async newAdminDir (repoPath: string, wt: string): Promise<string> {
    const link = await readGitLink(wt)
    const dirs = await gitDirs(repoPath)
    if (!link || !dirs || !await isWorktreeAdminDirOf(dirs.common, link)) throw new GitCommandError(`git worktree add left an unexpected .git in ${wt}`, null)
    return link
  }

  /** The active workspace and its existing worktree, with the reference errors in their order. */
  async activeWorkspace (id: string): Promise<{ row: WorkspaceRow, path: string, repo: Repository }> {
    const row = this.rows.get(id)
    if (!row) throw new WorkspaceNotFoundError(id)
    if (row.status !== 'Active' || !row.worktree_path || !await isDir(row.worktree_path)) throw new WorkspaceNoWorktreeError(id)
    const repo = await this.repositories.require(row.repository_id)
    return { row, path: row.worktree_path, repo }
  }

  /** An active workspace with its worktree, pinned and checked (see workspaceTarget). */
  async pinnedWorkspace (id: string): Promise<{ row: WorkspaceRow, path: string, repo: Repository, target: GitTarget }> {
    const { row, path, repo } = await this.activeWorkspace(id)
    return { row, path, repo, target: await this.workspaceTarget(row, repo.path) }
  }

  async runInWorkspace (workspaceId: string, args: readonly string[], opts: { env?: Record<string, string>, timeoutMs?: number, maxBuffer?: number, okCodes?: readonly number[] } = {}): Promise<GitResult> {
    const { path, target } = await this.pinnedWorkspace(workspaceId)
    return this.runner.run(target, args, { ...opts, cwd: path })
  }
}
