import { realpath, stat } from 'node:fs/promises'
import type { DependencyContainer } from '../../core/di.js'
import { PtyCwdRequiredError } from './errors.js'
import type { PtyPlacer } from './registry.js'

// TEMPORARY until the repos plugin lands: any existing directory.
export function directoryPlacer (_di: DependencyContainer): PtyPlacer {
  return {
    async place (req) {
      if (!req.cwd) throw new PtyCwdRequiredError()
      const cwd = await realpath(req.cwd)
      if (!(await stat(cwd)).isDirectory()) throw new PtyCwdRequiredError()
      return { cwd, workspaceId: req.workspaceId ?? null, env: {} }
    },
  }
}
