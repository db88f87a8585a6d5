// The workspaces table: every statement on it, and a row as the wire Workspace. No other module
// of the plugin writes SQL against it.
import { randomUUID } from 'node:crypto'
import type { Statement } from 'better-sqlite3'
import { sortKeys } from '../../core/rpc/serialize.js'
import type { Database, Store } from '../store/types.js'
import { sqlNow } from './migrations.js'
import { isInside } from './paths.js'
import type { Workspace } from './types.js'

export interface WorkspaceRow {
  id: string, repository_id: string, name: string, branch_name: string, worktree_path: string | null,
  status: 'Active' | 'Archived', status_line: string, created_at: string, sort_order: number, input_values: string | null,
  /** The worktree's git admin dir as recorded when it was made (null: archived, or not recorded yet). */
  git_dir: string | null
}

/** What a new workspace's row is made of. */
export interface NewWorkspaceRow {
  readonly repositoryId: string
  readonly name: string
  readonly branch: string
  readonly worktreePath: string
  readonly gitDir: string
  readonly inputs: Record<string, string> | null
}

const parseValues = (json: string | null): Record<string, string> | null => {
  if (!json) return null
  try {
    const v = JSON.parse(json) as unknown
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, string> : null
  } catch { return null }
}

/** A DB row as the wire Workspace (keys in the reference's alphabetical order). */
export const toWorkspace = (r: WorkspaceRow): Workspace => ({
  agent_status: r.status === 'Active' ? 'Idle' : 'Stopped',
  branch_name: r.branch_name,
  created_at: r.created_at,
  id: r.id,
  input_values: (v => v && sortKeys(v, { omitNullish: true }))(parseValues(r.input_values)),
  name: r.name,
  repository_id: r.repository_id,
  sort_order: r.sort_order,
  status: r.status,
  status_line: r.status_line,
  worktree_path: r.worktree_path,
})

export class WorkspaceRows {
  readonly #db: Database

  constructor (store: Store) { this.#db = store.db }

  // The hot reads are prepared once (list_workspaces and friends run them on every call; better-sqlite3
  // does not cache statements, and preparing costs more than the query). Prepared on first use.
  #qRow: Statement<[string], WorkspaceRow> | null = null
  #qRows: Statement<[], WorkspaceRow> | null = null

  /** Runs fn in an IMMEDIATE transaction (what the writes below compose into). */
  transaction<T> (fn: () => T): T { return this.#db.transaction(fn).immediate() }

  get (id: string): WorkspaceRow | undefined {
    this.#qRow ??= this.#db.prepare<[string], WorkspaceRow>('SELECT * FROM workspaces WHERE id = ?')
    return this.#qRow.get(id)
  }

  /** Every workspace, archived included, by repository, sort_order, created_at. */
  all (): WorkspaceRow[] {
    this.#qRows ??= this.#db.prepare<[], WorkspaceRow>('SELECT * FROM workspaces ORDER BY repository_id, sort_order, created_at, id')
    return this.#qRows.all()
  }

  hasName (repositoryId: string, name: string): boolean {
    return this.#db.prepare<[string, string], { id: string }>('SELECT id FROM workspaces WHERE repository_id = ? AND name = ?').get(repositoryId, name) !== undefined
  }

  hasWorktreePath (path: string): boolean {
    return this.#db.prepare<[string], { id: string }>('SELECT id FROM workspaces WHERE worktree_path = ?').get(path) !== undefined
  }

  hasBranch (branch: string): boolean {
    return this.#db.prepare<[string], { id: string }>('SELECT id FROM workspaces WHERE branch_name = ?').get(branch) !== undefined
  }

  countActive (repositoryId: string): number {
    return this.#db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM workspaces WHERE repository_id = ? AND status = \'Active\'').get(repositoryId)!.n
  }

  /**
   * The active workspace whose worktree is `realPath` or contains it, or null. Such a path is
   * refused as a repository by `add_repository` and `repo add` alike: a workspace's worktree
   * registered as a repository would let its own workspace be removed behind its back.
   */
  activeWorktreeContaining (realPath: string): string | null {
    const rows = this.#db.prepare<[], { worktree_path: string }>('SELECT worktree_path FROM workspaces WHERE status = \'Active\' AND worktree_path IS NOT NULL').all()
    return rows.find(r => isInside(r.worktree_path, realPath))?.worktree_path ?? null
  }

  /** Inserts an active workspace at the end of its repository's order; its created_at is now. */
  insert (w: NewWorkspaceRow): WorkspaceRow {
    const order = this.#db.prepare<[string], { n: number | null }>('SELECT MAX(sort_order) AS n FROM workspaces WHERE repository_id = ?').get(w.repositoryId)?.n ?? -1
    const id = randomUUID()
    this.#db.prepare(`INSERT INTO workspaces (id, repository_id, name, branch_name, worktree_path, status, status_line, created_at, sort_order, input_values, git_dir)
                      VALUES (?, ?, ?, ?, ?, 'Active', '', ?, ?, ?, ?)`)
      .run(id, w.repositoryId, w.name, w.branch, w.worktreePath, sqlNow(), order + 1, w.inputs ? JSON.stringify(w.inputs) : null, w.gitDir)
    return this.get(id)!
  }

  /** Records the admin dir found for a worktree that had none recorded (if the row still names that worktree). */
  recordGitDir (id: string, worktreePath: string, gitDir: string): void {
    this.#db.prepare('UPDATE workspaces SET git_dir = ? WHERE id = ? AND worktree_path = ?').run(gitDir, id, worktreePath)
  }

  markArchived (id: string): void {
    this.#db.prepare('UPDATE workspaces SET status = \'Archived\', worktree_path = NULL, git_dir = NULL WHERE id = ?').run(id)
  }

  /** Makes an archived workspace active at `worktreePath`; false if it is no longer there and archived. */
  markRestored (id: string, worktreePath: string, gitDir: string): boolean {
    return this.#db.prepare('UPDATE workspaces SET status = \'Active\', worktree_path = ?, git_dir = ? WHERE id = ? AND status = \'Archived\'').run(worktreePath, gitDir, id).changes === 1
  }

  /** Deletes a repository's workspaces (archived ones: the caller checked no active one is left). */
  deleteOfRepository (repositoryId: string): void {
    this.#db.prepare('DELETE FROM workspaces WHERE repository_id = ?').run(repositoryId)
  }
}
