// load_initial_data: what the Claudette apps call right after authenticate. The repos plugin
// answers repositories, workspaces and default branches; other plugins contribute the rest.
import type { FastifyBaseLogger } from 'fastify'
import { toDisposable, type Disposable } from '../../core/lifecycle.js'
import { sortKeys } from '../../core/rpc/serialize.js'
import type { InitialData } from '../../protocol/index.js'
import type { GitTarget } from './git.js'
import type { RegisteredRepositories } from './registered-repositories.js'
import { currentBranch, detectDefaultBranch, isDir } from './repositories.js'
import type { InitialDataContributor } from './types.js'
import type { PinnedGit } from './workspace-git.js'
import { toWorkspace, type WorkspaceRows } from './workspace-rows.js'

/** git processes load_initial_data runs at once. */
const CONCURRENCY = 8

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

export class InitialDataLoader implements Disposable {
  readonly #contributors = new Set<InitialDataContributor>()

  constructor (
    private readonly rows: WorkspaceRows,
    private readonly repositories: RegisteredRepositories,
    private readonly git: PinnedGit,
    private readonly log: FastifyBaseLogger,
    private readonly worktreeBaseDir: string,
  ) {}

  addContributor (fn: InitialDataContributor): Disposable {
    this.#contributors.add(fn)
    return toDisposable(() => { this.#contributors.delete(fn) })
  }

  /** Keys in the wire's alphabetical order; a contributor's keys replace the defaults in place. */
  async load (): Promise<InitialData> {
    const repositories = await this.repositories.list()
    const repoPaths = new Map(repositories.map(r => [r.id, r.path]))
    const workspaces = await mapLimit(this.rows.all(), CONCURRENCY, async r => {
      const w = toWorkspace(r)
      const repoPath = repoPaths.get(r.repository_id)
      if (w.status === 'Active' && w.worktree_path && repoPath !== undefined && await isDir(w.worktree_path)) {
        let target: GitTarget
        try {
          target = await this.git.workspaceTarget(r, repoPath)
        } catch (err) {
          // One redirected worktree does not fail the whole answer: it keeps its recorded branch.
          this.log.warn({ err, workspaceId: r.id }, 'workspace is unsafe; its branch was not read')
          return w
        }
        const fromDisk = await currentBranch(target.gitDir)
        if (fromDisk !== undefined) w.branch_name = fromDisk ?? '(detached)'
        else {
          try {
            w.branch_name = (await this.git.runner.run(target, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd: w.worktree_path, timeoutMs: 15_000 })).stdout.trim() || '(detached)'
          } catch { w.branch_name = '(detached)' }
        }
      }
      return w
    })
    const found: Record<string, string> = {}
    const valid = repositories.filter(r => r.path_valid)
    const branches = await mapLimit(valid, CONCURRENCY, r => detectDefaultBranch(this.git.runner, r.path, { baseBranch: r.base_branch, defaultRemote: r.default_remote }))
    valid.forEach((r, i) => { const b = branches[i]; if (b) found[r.id] = b })
    const default_branches = sortKeys(found, { omitNullish: true })
    const data: InitialData = { default_branches, last_messages: [], repositories, workspaces, worktree_base_dir: this.worktreeBaseDir }
    for (const fn of [...this.#contributors]) {
      try {
        Object.assign(data, await fn())
      } catch (err) {
        this.log.warn({ err }, 'load_initial_data contributor failed')
      }
    }
    return data
  }

  dispose (): void { this.#contributors.clear() }
}
