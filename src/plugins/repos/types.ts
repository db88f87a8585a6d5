// The repos plugin's public contract: DI tokens, wire DTO schemas (claudette-wire.md §6.1–§6.2)
// and the provider/directory interfaces other plugins and embedders use.
import { Type, type Static, type TSchema } from 'typebox'
import type { Disposable, Event } from '../../core/lifecycle.js'
import { token } from '../../core/tokens.js'

// The workspace conditions other plugins raise too, defined once in the repos catalogue.
export { WorkspaceNotFoundError, WorkspaceNoWorktreeError } from './errors.js'

/** `T | null` on the wire (the reference's `?` fields). */
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

// ---------------------------------------------------------------------------------------------
// Wire shapes (field names exactly as the Claudette clients read them)
// ---------------------------------------------------------------------------------------------

/** `agent_status`: a bare variant name, or `{"Error": "…"}`. */
export const AgentStatus = Type.Union([
  Type.Literal('Running'), Type.Literal('Idle'), Type.Literal('IdleWithBackground'),
  Type.Literal('Stopped'), Type.Literal('Compacting'),
  Type.Object({ Error: Type.String() }),
])
export type AgentStatus = Static<typeof AgentStatus>

const inputCommon = {
  key: Type.String(),
  label: Type.String(),
  description: Type.Optional(Type.String()),
  required: Type.Boolean(),
}
/** A repository's declared workspace input (`required_inputs`), tagged by `type`. Unset optionals are left out. */
export const InputField = Type.Union([
  Type.Object({ type: Type.Literal('boolean'), ...inputCommon, default: Type.Optional(Type.Boolean()) }),
  Type.Object({ type: Type.Literal('string'), ...inputCommon, default: Type.Optional(Type.String()), placeholder: Type.Optional(Type.String()) }),
  Type.Object({
    type: Type.Literal('number'), ...inputCommon, default: Type.Optional(Type.Number()),
    min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()), step: Type.Optional(Type.Number()), unit: Type.Optional(Type.String()),
  }),
])
export type InputField = Static<typeof InputField>

export const Repository = Type.Object({
  archive_script: Nullable(Type.String()),
  archive_script_auto_run: Type.Boolean(),
  base_branch: Nullable(Type.String()),
  branch_rename_preferences: Nullable(Type.String()),
  created_at: Type.String(),
  custom_instructions: Nullable(Type.String()),
  default_remote: Nullable(Type.String()),
  icon: Nullable(Type.String()),
  id: Type.String(),
  name: Type.String(),
  path: Type.String(),
  path_slug: Type.String(),
  path_valid: Type.Boolean(),
  required_inputs: Nullable(Type.Array(InputField)),
  setup_script: Nullable(Type.String()),
  setup_script_auto_run: Type.Boolean(),
  sort_order: Type.Integer(),
})
export type Repository = Static<typeof Repository>

export const WorkspaceStatus = Type.Union([Type.Literal('Active'), Type.Literal('Archived')])
export type WorkspaceStatus = Static<typeof WorkspaceStatus>

export const Workspace = Type.Object({
  agent_status: AgentStatus,
  branch_name: Type.String(),
  created_at: Type.String(),
  id: Type.String(),
  input_values: Nullable(Type.Record(Type.String(), Type.String())),
  name: Type.String(),
  repository_id: Type.String(),
  sort_order: Type.Integer(),
  status: WorkspaceStatus,
  status_line: Type.String(),
  worktree_path: Nullable(Type.String()),
})
export type Workspace = Static<typeof Workspace>

export const ChatSession = Type.Object({
  agent_status: AgentStatus,
  archived_at: Nullable(Type.String()),
  attention_kind: Nullable(Type.Union([Type.Literal('Ask'), Type.Literal('Plan')])),
  cli_invocation: Nullable(Type.String()),
  created_at: Type.String(),
  id: Type.String(),
  name: Type.String(),
  name_edited: Type.Boolean(),
  needs_attention: Type.Boolean(),
  session_id: Nullable(Type.String()),
  sort_order: Type.Integer(),
  status: WorkspaceStatus,
  turn_count: Type.Integer(),
  workspace_id: Type.String(),
})
export type ChatSession = Static<typeof ChatSession>

/** A chat message (the agents plugin owns the table; the shape is here because InitialData carries it). */
export const ChatMessage = Type.Object({
  cache_creation_tokens: Type.Optional(Nullable(Type.Integer())),
  cache_read_tokens: Type.Optional(Nullable(Type.Integer())),
  chat_session_id: Type.String(),
  content: Type.String(),
  cost_usd: Nullable(Type.Number()),
  created_at: Type.String(),
  duration_ms: Nullable(Type.Integer()),
  id: Type.String(),
  input_tokens: Type.Optional(Nullable(Type.Integer())),
  output_tokens: Type.Optional(Nullable(Type.Integer())),
  role: Type.Union([Type.Literal('User'), Type.Literal('Assistant'), Type.Literal('System')]),
  thinking: Type.Optional(Nullable(Type.String())),
  workspace_id: Type.String(),
})
export type ChatMessage = Static<typeof ChatMessage>

export const SetupResult = Type.Object({
  exit_code: Nullable(Type.Integer()),
  output: Type.String(),
  script: Type.String(),
  source: Type.Union([Type.Literal('repo'), Type.Literal('settings')]),
  success: Type.Boolean(),
  timed_out: Type.Boolean(),
})
export type SetupResult = Static<typeof SetupResult>

export const CreateWorkspaceResult = Type.Object({
  default_session_id: Type.String(),
  setup_result: Nullable(SetupResult),
  workspace: Workspace,
})
export type CreateWorkspaceResult = Static<typeof CreateWorkspaceResult>

export const RestoreWorkspaceResult = Type.Object({
  workspace: Workspace,
  worktree_path: Type.String(),
})
export type RestoreWorkspaceResult = Static<typeof RestoreWorkspaceResult>

export const DiffFileStatus = Type.Union([
  Type.Literal('Added'), Type.Literal('Modified'), Type.Literal('Deleted'),
  Type.Object({ Renamed: Type.Object({ from: Type.String() }) }),
])
export type DiffFileStatus = Static<typeof DiffFileStatus>

export const DiffFile = Type.Object({
  additions: Nullable(Type.Integer({ minimum: 0 })),
  deletions: Nullable(Type.Integer({ minimum: 0 })),
  path: Type.String(),
  status: DiffFileStatus,
})
export type DiffFile = Static<typeof DiffFile>

export const StagedDiffFiles = Type.Object({
  committed: Type.Array(DiffFile),
  staged: Type.Array(DiffFile),
  unstaged: Type.Array(DiffFile),
  untracked: Type.Array(DiffFile),
})
export type StagedDiffFiles = Static<typeof StagedDiffFiles>

export const DiffFilesResult = Type.Object({
  files: Type.Array(DiffFile),
  merge_base: Type.String(),
  staged_files: Nullable(StagedDiffFiles),
})
export type DiffFilesResult = Static<typeof DiffFilesResult>

export const DiffLine = Type.Object({
  content: Type.String(),
  line_type: Type.Union([Type.Literal('Context'), Type.Literal('Added'), Type.Literal('Removed')]),
  new_line_number: Nullable(Type.Integer()),
  old_line_number: Nullable(Type.Integer()),
})
export type DiffLine = Static<typeof DiffLine>

export const DiffHunk = Type.Object({
  header: Type.String(),
  lines: Type.Array(DiffLine),
  new_start: Type.Integer(),
  old_start: Type.Integer(),
})
export type DiffHunk = Static<typeof DiffHunk>

export const FileDiff = Type.Object({
  hunks: Type.Array(DiffHunk),
  is_binary: Type.Boolean(),
  path: Type.String(),
})
export type FileDiff = Static<typeof FileDiff>

/** `diff_layer` of load_file_diff; anything else (or absent) means merge-base → working tree. */
export type DiffLayer = 'committed' | 'staged' | 'unstaged' | 'untracked'

export const InitialData = Type.Object({
  default_branches: Type.Record(Type.String(), Type.String()),
  last_messages: Type.Array(ChatMessage),
  repositories: Type.Array(Repository),
  workspaces: Type.Array(Workspace),
  worktree_base_dir: Type.String(),
})
export type InitialData = Static<typeof InitialData>

/** Event `workspace-changed` (our addition), broadcast when a workspace is created/archived/restored. */
export const WORKSPACE_CHANGED_EVENT = 'workspace-changed'
export interface WorkspaceChangedPayload { workspace: Workspace }

// ---------------------------------------------------------------------------------------------
// Provider and directory interfaces
// ---------------------------------------------------------------------------------------------

/**
 * A repository as a provider describes it: `id`, `path` (absolute, a git work tree) and `name`
 * are required; everything else defaults (null / false / 0). `path_valid` is computed by the server.
 */
export type RepoInfo = Pick<Repository, 'id' | 'path' | 'name'> & Partial<Omit<Repository, 'id' | 'path' | 'name' | 'path_valid'>>

export interface AddRepositoryRequest {
  /** Absolute path of a git work tree (already checked by the server). */
  readonly path: string
  readonly name?: string
}

/**
 * Where repositories come from (STYLE.md §2.5). The built-in provider keeps them in SQLite;
 * an embedder may pass its own as `createServer({ repos: { provider } })`. Workspaces, diffs and
 * path confinement stay with the server and work the same for every provider.
 */
export interface RepoProvider {
  /** Short name for logs and docs ('sqlite', 'my-ide', …). */
  readonly kind: string
  list (): Promise<readonly RepoInfo[]>
  /** Throws RepoNotFoundError (`Repository not found`) for an unknown id. */
  get (id: string): Promise<RepoInfo>
  /**
   * Resolves `relPath` inside the repository: realpath plus containment check. Throws
   * PathNotAllowedError when the result would leave the repository.
   */
  resolveInside (repoId: string, relPath: string): Promise<string>
  /** Registers a repository (`add_repository`, `repo add`). Absent: adding is not supported. */
  add? (req: AddRepositoryRequest): Promise<RepoInfo>
  /** Unregisters a repository (the server has already checked it has no active workspace). */
  remove? (id: string): Promise<void>
}

/**
 * What other plugins (terminals, agents) ask the repos plugin. Resolve it with `REPOS.Directory`.
 */
export interface WorkspaceDirectory {
  getWorkspace (id: string): Promise<Workspace | null>
  getRepository (id: string): Promise<Repository | null>
  listWorkspaces (): Promise<Workspace[]>
  /**
   * realpath of an absolute path if it lies inside a registered repository or an active
   * workspace's worktree; throws PathNotAllowedError (a ClientError with a clear message) otherwise.
   */
  confinePath (path: string): Promise<string>
  /**
   * Resolves `relPath` inside an active workspace's worktree (realpath + containment, no
   * absolute paths, no `..`, no NUL); throws PathNotAllowedError / WorkspaceNotFoundError.
   */
  resolveInWorkspace (workspaceId: string, relPath: string): Promise<string>
  /** CLAUDETTE_WORKSPACE_NAME/_ID/_PATH, CLAUDETTE_ROOT_PATH, CLAUDETTE_DEFAULT_BRANCH, CLAUDETTE_BRANCH_NAME ({} for an unknown id). */
  workspaceEnv (workspaceId: string): Promise<Record<string, string>>
  /** Awaited before a workspace is archived (the agents plugin stops that workspace's agents). */
  addArchiveHook (hook: (workspace: Workspace) => void | Promise<void>): Disposable
  /** Lets another plugin fill parts of load_initial_data (agents supplies last_messages; default []). */
  addInitialDataContributor (fn: () => Promise<Partial<InitialData>> | Partial<InitialData>): Disposable
  /** Fires after a workspace was created, archived or restored (also broadcast as `workspace-changed`). */
  readonly onDidChangeWorkspace: Event<Workspace>
}

/** What a git process printed (stdout/stderr as text) and its exit code. */
export interface GitOutput { readonly stdout: string, readonly stderr: string, readonly code: number }

/**
 * git for other plugins (the agents plugin's checkpoints), through the repos plugin's one git
 * runner: pinned to the git dir the server recorded for the workspace (`--git-dir`/`--work-tree`,
 * never a `.git` the worktree can change), with hooks, fsmonitor, filter drivers, pagers and
 * helpers turned off. Resolve it with `REPOS.Git`.
 */
export interface WorkspaceGit {
  /**
   * Runs `git <args>` in an active workspace's worktree. Throws WorkspaceNotFoundError,
   * WorkspaceNoWorktreeError, UnsafeWorkspaceError (its `.git` was redirected: nothing runs) or
   * GitCommandError. `env` is added after the runner's scrub (e.g. GIT_INDEX_FILE, author identity).
   */
  runInWorkspace (workspaceId: string, args: readonly string[], opts?: { env?: Record<string, string>, timeoutMs?: number, maxBuffer?: number, okCodes?: readonly number[] }): Promise<GitOutput>
}

/**
 * `git -c` arguments that give a commit an author when the host has no git identity configured
 * (the agents plugin's checkpoint commits). Put them before the git subcommand.
 */
export const GIT_SERVER_IDENTITY: readonly string[] = ['-c', 'user.name=claudette-server', '-c', 'user.email=claudette-server@localhost']

export const REPOS = {
  Directory: token<WorkspaceDirectory>('WorkspaceDirectory'),
  Git: token<WorkspaceGit>('WorkspaceGit'),
  Provider: token<RepoProvider>('RepoProvider'),
} as const
