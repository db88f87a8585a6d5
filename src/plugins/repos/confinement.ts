// Where a client's path may lead: registered repositories, active workspaces' worktrees and
// Claude Code's plans directory (docs/workspaces.md, Confinement rules). The path rules
// themselves are in paths.ts; this module knows the roots.
import { constants, existsSync } from 'node:fs'
import { lstat, open, realpath } from 'node:fs/promises'
import { dirname, extname } from 'node:path'
import { PathNotAllowedError, PlanFileError } from './errors.js'
import { checkAbsolutePath, isInside, resolveAbsoluteIn, resolveInsideRoot } from './paths.js'
import type { RepoProvider } from './types.js'
import type { PinnedGit } from './workspace-git.js'
import type { WorkspaceRow, WorkspaceRows } from './workspace-rows.js'

export class Confinement {
  constructor (
    private readonly rows: WorkspaceRows,
    private readonly provider: RepoProvider,
    private readonly git: PinnedGit,
    private readonly opts: { readonly claudePlansDir: string, readonly maxPlanFileBytes: number },
  ) {}

  /** The realpaths of the active workspaces' worktrees that exist. */
  async activeWorktrees (): Promise<string[]> {
    const out: string[] = []
    for (const row of this.rows.all()) {
      if (row.status !== 'Active' || !row.worktree_path) continue
      try { out.push(await realpath(row.worktree_path)) } catch { /* gone */ }
    }
    return out
  }

  /** A worktree path from a client: must be (the realpath of) an active workspace of this server. */
  async worktreeFromClient (p: string): Promise<{ path: string, row: WorkspaceRow }> {
    checkAbsolutePath(p, 'worktree path')
    let real: string
    try { real = await realpath(p) } catch { throw new PathNotAllowedError('Invalid worktree path: not a workspace of this server') }
    for (const row of this.rows.all()) {
      if (row.status !== 'Active' || !row.worktree_path) continue
      let wt: string
      try { wt = await realpath(row.worktree_path) } catch { continue }
      if (wt === real) return { path: wt, row }
    }
    throw new PathNotAllowedError('Invalid worktree path: not a workspace of this server')
  }

  /** WorkspaceDirectory.confinePath: inside a registered repository or an active worktree. */
  async confinePath (p: string): Promise<string> {
    checkAbsolutePath(p)
    const roots = await this.activeWorktrees()
    for (const repo of await this.provider.list()) {
      try { roots.push(await realpath(repo.path)) } catch { /* missing repository */ }
    }
    // Containment first, existence second: no probing for files outside.
    const real = await resolveAbsoluteIn(p, roots,
      () => new PathNotAllowedError(`Path not allowed: ${p} is outside the registered repositories and workspaces`))
    if (!existsSync(real)) throw new PathNotAllowedError(`Path does not exist: ${p}`)
    return real
  }

  /** WorkspaceDirectory.resolveInWorkspace. */
  async resolveInWorkspace (workspaceId: string, relPath: string): Promise<string> {
    const { path } = await this.git.activeWorkspace(workspaceId)
    return resolveInsideRoot(path, relPath)
  }

  /** read_plan_file: a file in an active worktree, or a `.md` file directly in Claude Code's plans directory. */
  async readPlanFile (p: string): Promise<string> {
    checkAbsolutePath(p)
    // Containment is checked before existence, so a client cannot probe for files elsewhere.
    const outside = (): Error => new PathNotAllowedError('Plan file must be inside an active workspace of this server')
    const worktrees = await this.activeWorktrees()
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
}
