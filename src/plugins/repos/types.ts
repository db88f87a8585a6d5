// The repos plugin's public contract: DI tokens, the wire DTOs it serves (claudette-wire.md
// §6.1–§6.2, defined in src/protocol) and the provider/directory interfaces other plugins and
// embedders use.
import type { InitialData, Repository, Workspace } from '../../protocol/index.js'
import type { Disposable, Event } from '../../core/lifecycle.js'
import { token } from '../../core/tokens.js'

// The workspace conditions other plugins raise too, defined once in the repos catalogue.
export { WorkspaceNotFoundError, WorkspaceNoWorktreeError } from './errors.js'

// The wire shapes (field names exactly as the Claudette clients read them) live in src/protocol.
export {
  AgentStatus, InputField, Repository, WorkspaceStatus, Workspace, SetupResult, CreateWorkspaceResult,
  RestoreWorkspaceResult, DiffFileStatus, DiffFile, StagedDiffFiles, DiffFilesResult, DiffLine, DiffHunk, FileDiff,
  WorkspaceChangedPayload, type DiffLayer,
} from '../../protocol/index.js'

/** Event `workspace-changed` (our addition), broadcast when a workspace is created/archived/restored. */
export const WORKSPACE_CHANGED_EVENT = 'workspace-changed'

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
  /**
   * Whether `id` is still registered, answered synchronously from the server's own database,
   * for a provider that keeps its repositories there (the built-in one). The server asks it
   * inside the transaction that inserts or restores a workspace, so a `repo remove` from another
   * process either sees that workspace (and refuses) or makes the insert fail. Absent: not asked.
   */
  isRegistered? (id: string): boolean
}

/**
 * Fired synchronously inside the transaction that inserts a new workspace's row, before
 * create_workspace answers. A listener's own writes (the agents plugin: the workspace's first
 * chat session) join that transaction, and a listener that throws rolls the whole create back,
 * so a workspace never exists without them.
 */
export interface WorkspaceInsertedEvent {
  readonly workspace: Workspace
  /** create_workspace's `default_session_id`: the id under which the workspace's first chat session is created. */
  readonly defaultSessionId: string
}

/** Fired before an archive removes a workspace's worktree; the archive waits for what the listeners pass to waitUntil. */
export interface WorkspaceArchivingEvent {
  /** The workspace as it is before the archive (still active). */
  readonly workspace: Workspace
  /** Call during the listener: the archive goes on once `work` settles (a rejection is logged). */
  waitUntil (work: Promise<unknown>): void
}

/**
 * The lifecycle of workspaces, for plugins that keep state per workspace. Listeners run in
 * the order they subscribed.
 */
export interface WorkspaceLifecycle {
  readonly onDidInsertWorkspace: Event<WorkspaceInsertedEvent>
  readonly onWillArchiveWorkspace: Event<WorkspaceArchivingEvent>
  /** Fires after a workspace was created, archived or restored (also broadcast as `workspace-changed`). */
  readonly onDidChangeWorkspace: Event<Workspace>
}

/**
 * What other plugins (terminals, agents) ask the repos plugin. Resolve it with `REPOS.Directory`.
 */
export interface WorkspaceDirectory extends WorkspaceLifecycle {
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
  /** Awaited before a workspace is archived (the terminals plugin closes its shells): `onWillArchiveWorkspace(e => e.waitUntil(hook(e.workspace)))`. */
  addArchiveHook (hook: (workspace: Workspace) => void | Promise<void>): Disposable
  /** Lets another plugin fill parts of load_initial_data (agents supplies last_messages; default []). */
  addInitialDataContributor (fn: InitialDataContributor): Disposable
}

/**
 * Supplies parts of load_initial_data (the agents plugin supplies `last_messages`, which repos
 * leaves empty); a contributor that throws is logged and left out.
 */
export type InitialDataContributor = () => Promise<Partial<InitialData>> | Partial<InitialData>

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

export const REPOS = {
  Directory: token<WorkspaceDirectory>('WorkspaceDirectory'),
  Git: token<WorkspaceGit>('WorkspaceGit'),
  Provider: token<RepoProvider>('RepoProvider'),
} as const
