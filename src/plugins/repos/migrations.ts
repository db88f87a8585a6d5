import type { Migration } from '../store/types.js'

/**
 * Tables owned by the repos plugin (Store.migrate owner 'repos'). Append-only: a released step
 * never changes what a database ends up with. The one exception to "never edit a released step"
 * is the move of chat_sessions to its owner, the agents plugin (agents/store.ts), which creates
 * it IF NOT EXISTS with the same definition: a database made before has it from this step, a new
 * one from agents' first step, and both end with the same schema and recorded versions
 * (test/plugins/agents/migrations.test.ts).
 *
 * workspaces.repository_id has no foreign key on purpose: with a custom RepoProvider the
 * repositories live outside this database.
 */
export const REPOS_MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE repositories (
     id TEXT PRIMARY KEY,
     path TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     path_slug TEXT NOT NULL,
     icon TEXT,
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     setup_script TEXT,
     custom_instructions TEXT,
     sort_order INTEGER NOT NULL DEFAULT 0,
     branch_rename_preferences TEXT,
     setup_script_auto_run INTEGER NOT NULL DEFAULT 0,
     archive_script TEXT,
     archive_script_auto_run INTEGER NOT NULL DEFAULT 0,
     base_branch TEXT,
     default_remote TEXT,
     required_inputs TEXT            -- JSON array of input fields, or NULL
   );
   CREATE TABLE workspaces (
     id TEXT PRIMARY KEY,
     repository_id TEXT NOT NULL,
     name TEXT NOT NULL,
     branch_name TEXT NOT NULL,
     worktree_path TEXT,             -- NULL while archived
     status TEXT NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Archived')),
     status_line TEXT NOT NULL DEFAULT '',
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     sort_order INTEGER NOT NULL DEFAULT 0,
     input_values TEXT,              -- JSON object string -> string, or NULL
     UNIQUE (repository_id, name)
   );
   CREATE INDEX workspaces_by_repo ON workspaces (repository_id, sort_order, created_at);
   CREATE TABLE app_settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // The git admin dir (`<common dir>/worktrees/<name>`) of an active workspace's worktree, read
  // right after `git worktree add` made it: every git process for the workspace is pinned to it,
  // and a worktree whose `.git` points elsewhere is refused.
  'ALTER TABLE workspaces ADD COLUMN git_dir TEXT',
]

/** UTC `YYYY-MM-DD HH:MM:SS`, the same format as SQLite's datetime('now'). */
export const sqlNow = (d = new Date()): string => d.toISOString().slice(0, 19).replace('T', ' ')
