// Offline repository administration (the `claudette-server repo …` commands). A running server
// against the same home sees the changes at once: the built-in provider reads the database.
import { resolve } from 'node:path'
import type { ChildProcesses } from '../../core/process-runner.js'
import { stripControls } from '../../core/text.js'
import type { Store } from '../store/types.js'
import { NotAGitRepositoryError, RepoExistsError, RepoInUseError } from './errors.js'
import { GitRunner } from './git.js'
import { inspectRepositoryPath, SqliteRepoProvider, toRepository } from './repositories.js'
import type { Repository } from './types.js'
import { WorkspaceRows } from './workspace-rows.js'

export interface RepoAdmin {
  /** Registers a git work tree (a relative path is taken from the current directory). */
  add (path: string, name?: string): Promise<Repository>
  list (): Promise<Repository[]>
  /** Removes by full id or a unique prefix (at least 4 characters); null if none matched. */
  remove (idOrPrefix: string): Promise<Repository | null>
}

/** `runner` runs git (the caller owns and disposes it). */
export function repoAdmin (store: Store, runner: ChildProcesses): RepoAdmin {
  const provider = new SqliteRepoProvider(store)
  const git = new GitRunner(runner)
  const rows = new WorkspaceRows(store)
  const list = async (): Promise<Repository[]> => Promise.all((await provider.list()).map(r => toRepository(r)))
  return {
    async add (path, name) {
      const real = await inspectRepositoryPath(git, resolve(path))
      if (rows.activeWorktreeContaining(real)) throw new NotAGitRepositoryError(`Cannot register a workspace worktree as a repository: ${path}`)
      const existing = (await provider.list()).find(r => r.path === real)
      if (existing) throw new RepoExistsError(real, existing.id)
      const clean = stripControls(name ?? '')
      return toRepository(await provider.add({ path: real, ...(clean ? { name: clean } : {}) }))
    },
    list,
    async remove (idOrPrefix) {
      const all = await list()
      const matches = all.filter(r => r.id === idOrPrefix || (idOrPrefix.length >= 4 && r.id.startsWith(idOrPrefix)))
      const repo = matches.find(r => r.id === idOrPrefix) ?? (matches.length === 1 ? matches[0] : undefined)
      if (!repo) return null
      rows.transaction(() => {
        const active = rows.countActive(repo.id)
        if (active > 0) throw new RepoInUseError(repo.id, active)
        rows.deleteOfRepository(repo.id)
        provider.removeNow(repo.id)
      })
      return repo
    },
  }
}
