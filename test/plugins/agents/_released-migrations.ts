// The migration steps of the repos and agents plugins as released while the repos plugin's first
// step created chat_sessions: the databases of existing homes were made by them. Kept verbatim.
export const RELEASED_REPOS_MIGRATIONS: readonly string[] = [
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
   CREATE TABLE chat_sessions (
     id TEXT PRIMARY KEY,
     workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
     session_id TEXT,                -- the agent CLI's resume id
     name TEXT NOT NULL DEFAULT 'New chat',
     name_edited INTEGER NOT NULL DEFAULT 0,
     turn_count INTEGER NOT NULL DEFAULT 0,
     sort_order INTEGER NOT NULL DEFAULT 0,
     status TEXT NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Archived')),
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     archived_at TEXT,
     cli_invocation TEXT
   );
   CREATE INDEX chat_sessions_by_workspace ON chat_sessions (workspace_id, status, sort_order, created_at);
   CREATE TABLE app_settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // The git admin dir (`<common dir>/worktrees/<name>`) of an active workspace's worktree, read
  // right after `git worktree add` made it: every git process for the workspace is pinned to it,
  // and a worktree whose `.git` points elsewhere is refused.
  'ALTER TABLE workspaces ADD COLUMN git_dir TEXT',
]

export const RELEASED_AGENTS_MIGRATIONS: readonly string[] = [
  `CREATE TABLE chat_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     workspace_id TEXT NOT NULL,
     chat_session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
     role TEXT NOT NULL CHECK (role IN ('User', 'Assistant', 'System')),
     content TEXT NOT NULL,
     cost_usd REAL,
     duration_ms INTEGER,
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     thinking TEXT,
     input_tokens INTEGER,
     output_tokens INTEGER,
     cache_read_tokens INTEGER,
     cache_creation_tokens INTEGER
   );
   CREATE INDEX chat_messages_by_session ON chat_messages (chat_session_id, seq);
   CREATE INDEX chat_messages_by_workspace ON chat_messages (workspace_id, seq);
   CREATE TABLE conversation_checkpoints (
     id TEXT PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     chat_session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
     message_id TEXT NOT NULL,
     commit_hash TEXT,
     has_file_state INTEGER NOT NULL DEFAULT 0,
     turn_index INTEGER NOT NULL,
     message_count INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL DEFAULT (datetime('now'))
   );
   CREATE INDEX checkpoints_by_session ON conversation_checkpoints (chat_session_id, turn_index);
   CREATE TABLE turn_tool_activities (
     id TEXT PRIMARY KEY,
     checkpoint_id TEXT NOT NULL REFERENCES conversation_checkpoints (id) ON DELETE CASCADE,
     tool_use_id TEXT NOT NULL,
     tool_name TEXT NOT NULL,
     input_json TEXT NOT NULL DEFAULT '{}',
     result_text TEXT NOT NULL DEFAULT '',
     summary TEXT NOT NULL DEFAULT '',
     sort_order INTEGER NOT NULL DEFAULT 0,
     assistant_message_ordinal INTEGER NOT NULL DEFAULT 0,
     agent_task_id TEXT,
     agent_description TEXT,
     agent_last_tool_name TEXT,
     agent_tool_use_count INTEGER,
     agent_status TEXT,
     agent_tool_calls_json TEXT NOT NULL DEFAULT '[]',
     agent_thinking_blocks_json TEXT NOT NULL DEFAULT '[]',
     agent_result_text TEXT,
     workflow_progress_json TEXT NOT NULL DEFAULT '[]'
   );
   CREATE INDEX activities_by_checkpoint ON turn_tool_activities (checkpoint_id, assistant_message_ordinal, sort_order);
   CREATE TABLE chat_attachments (
     id TEXT PRIMARY KEY,
     message_id TEXT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
     filename TEXT NOT NULL,
     media_type TEXT NOT NULL,
     data BLOB NOT NULL,
     width INTEGER,
     height INTEGER,
     size_bytes INTEGER NOT NULL,
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     origin TEXT NOT NULL DEFAULT 'user' CHECK (origin IN ('user', 'agent')),
     tool_use_id TEXT
   );
   CREATE INDEX attachments_by_message ON chat_attachments (message_id);`,
]
