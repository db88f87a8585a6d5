import { Type, type Static } from 'typebox'
import type { RepoProvider } from './types.js'

/** Options of the repos plugin (`createServer({ repos: { … } })`). */
export const ReposOptions = Type.Object({
  /** Where workspace worktrees are created. Default: `<home>/workspaces`. Not writable over the wire. */
  worktreeBaseDir: Type.Optional(Type.String({ minLength: 1 })),
  /** Prefix of the branch each workspace gets (`<prefix><workspace name>`). */
  branchPrefix: Type.String({ default: 'claudette/', maxLength: 100 }),
  /** An embedder's RepoProvider used instead of the built-in SQLite one. */
  provider: Type.Optional(Type.Unsafe<RepoProvider>({})),
  /** A repository's setup script is stopped after this long (`setup_result.timed_out`). */
  setupTimeoutMs: Type.Integer({ minimum: 100, default: 300_000 }),
  /**
   * Where Claude Code writes plan files; `read_plan_file` also serves the `.md` files directly
   * in it. Default: `$CLAUDE_CONFIG_DIR/plans`, else `~/.claude/plans` of the server's user.
   */
  claudePlansDir: Type.Optional(Type.String({ minLength: 1 })),
  /** Largest file `read_plan_file` returns. */
  maxPlanFileBytes: Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
}, { additionalProperties: false })
export type ReposOptions = Static<typeof ReposOptions>
