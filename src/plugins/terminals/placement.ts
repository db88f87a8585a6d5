import { stat } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import type { DependencyContainer } from '../../core/di.js'
import { resolve } from '../../core/tokens.js'
import { REPOS } from '../repos/types.js'
import { PtyCwdRequiredError, PtySpawnError, PtyWorkspaceNotFoundError } from './errors.js'
import type { PtyPlacer } from './types.js'

/**
 * spawn_pty's placement rules, on top of the repos plugin's WorkspaceDirectory:
 * - `cwd` must lie inside a registered repository or an active workspace's worktree (realpath,
 *   checked by `confinePath`); a relative `cwd` is taken inside the workspace;
 * - without `cwd`, the workspace's worktree;
 * - with a known `workspace_id`, the shell gets its CLAUDETTE_WORKSPACE_* environment.
 */
export function directoryPlacer (di: DependencyContainer): PtyPlacer {
  const directory = resolve(di, REPOS.Directory)
  return {
    async place (req) {
      const ws = req.workspaceId ? await directory.getWorkspace(req.workspaceId) : null
      if (req.workspaceId && !ws && !req.cwd) throw new PtyWorkspaceNotFoundError(req.workspaceId)
      let cwd: string
      if (req.cwd) {
        cwd = !isAbsolute(req.cwd) && ws
          ? await directory.resolveInWorkspace(ws.id, req.cwd)
          : await directory.confinePath(req.cwd)
      } else if (ws) {
        if (!ws.worktree_path) throw new PtyCwdRequiredError()
        cwd = await directory.confinePath(ws.worktree_path)
      } else {
        throw new PtyCwdRequiredError()
      }
      const st = await stat(cwd).catch(() => null)
      if (!st?.isDirectory()) throw new PtySpawnError('cwd is not a directory')
      return { cwd, workspaceId: ws?.id ?? null, env: ws ? await directory.workspaceEnv(ws.id) : {} }
    },
  }
}
