import { ClientError } from '../../core/errors.js'

/** An unknown repository id (reference text). */
export class RepoNotFoundError extends ClientError {
  readonly code = 'ERR_REPO_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly repositoryId: string) { super('Repository not found') }
}

/** An unknown workspace id (reference text). */
export class WorkspaceNotFoundError extends ClientError {
  readonly code = 'ERR_REPO_WORKSPACE_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly workspaceId: string) { super('Workspace not found') }
}

/** The workspace is archived (or its worktree is gone). Reference text. */
export class WorkspaceNoWorktreeError extends ClientError {
  readonly code = 'ERR_REPO_NO_WORKTREE'
  override readonly statusCode = 409
  constructor (readonly workspaceId: string) { super('Workspace has no worktree') }
}

/** create_workspace name rule (reference text): ASCII letters, digits and `-`, not at either end. */
export class InvalidWorkspaceNameError extends ClientError {
  readonly code = 'ERR_REPO_INVALID_NAME'
  constructor (readonly workspaceName: string) { super(`Invalid workspace name: '${workspaceName}'`) }
}

/** A workspace with that name (or its branch) already exists in the repository. */
export class WorkspaceExistsError extends ClientError {
  readonly code = 'ERR_REPO_WORKSPACE_EXISTS'
  override readonly statusCode = 409
  constructor (message: string) { super(message) }
}

/** A workspace is in the wrong state for the operation (already active, already archived). */
export class WorkspaceStateError extends ClientError {
  readonly code = 'ERR_REPO_WORKSPACE_STATE'
  override readonly statusCode = 409
  constructor (message: string) { super(message) }
}

/** A required repository input has no value (reference text). */
export class MissingInputError extends ClientError {
  readonly code = 'ERR_REPO_MISSING_INPUT'
  constructor (readonly key: string) { super(`Missing value for required input "${key}".`) }
}

/** A client path lies outside what this server lets clients touch, or is malformed. */
export class PathNotAllowedError extends ClientError {
  readonly code = 'ERR_REPO_PATH_NOT_ALLOWED'
  override readonly statusCode = 403
  constructor (message: string) { super(message) }
}

/** `add_repository` / `repo add` on something that is not a usable git work tree. */
export class NotAGitRepositoryError extends ClientError {
  readonly code = 'ERR_REPO_NOT_GIT'
  constructor (message: string) { super(message) }
}

/** The path is already registered. */
export class RepoExistsError extends ClientError {
  readonly code = 'ERR_REPO_EXISTS'
  override readonly statusCode = 409
  constructor (readonly path: string, readonly existingId: string) { super(`Repository already registered: ${path} (id ${existingId})`) }
}

/** A repository with active workspaces cannot be removed. */
export class RepoInUseError extends ClientError {
  readonly code = 'ERR_REPO_IN_USE'
  override readonly statusCode = 409
  constructor (readonly repositoryId: string, readonly active: number) {
    super(`Repository has ${active} active workspace${active === 1 ? '' : 's'}; archive ${active === 1 ? 'it' : 'them'} first`)
  }
}

/** The configured RepoProvider cannot do this (no add/remove). */
export class RepoOperationUnsupportedError extends ClientError {
  readonly code = 'ERR_REPO_UNSUPPORTED'
  override readonly statusCode = 501
  constructor (message: string) { super(message) }
}

/** A ref, branch or revision from the client that is not safe to pass to git. */
export class InvalidRefError extends ClientError {
  readonly code = 'ERR_REPO_INVALID_REF'
  constructor (message: string) { super(message) }
}

/** A git command failed. The message is a plain summary (git's first error line), never a debug dump. */
export class GitCommandError extends ClientError {
  readonly code = 'ERR_REPO_GIT_FAILED'
  override readonly statusCode = 500
  constructor (message: string, readonly exitCode: number | null, options?: { cause?: unknown }) { super(message, options) }
}

/** set_app_setting on a key that is not writable over the wire, or with a bad value. */
export class SettingNotAllowedError extends ClientError {
  readonly code = 'ERR_REPO_SETTING_NOT_ALLOWED'
  override readonly statusCode = 403
  constructor (message: string) { super(message) }
}

/** read_plan_file on something that is not a readable regular file of acceptable size. */
export class PlanFileError extends ClientError {
  readonly code = 'ERR_REPO_PLAN_FILE'
  constructor (message: string) { super(message) }
}

/**
 * A workspace's `<worktree>/.git` is not (any more) a regular file pointing to the git admin dir
 * the server recorded for it: something (an agent, a tool) redirected it. No git runs there.
 */
export class UnsafeWorkspaceError extends ClientError {
  readonly code = 'ERR_REPO_UNSAFE_WORKSPACE'
  override readonly statusCode = 409
  constructor (readonly workspaceName: string, readonly expectedGitDir: string) {
    super(`Workspace '${workspaceName}' is unsafe: its .git no longer points to ${expectedGitDir}; refusing to run git in it (fix or remove it by hand)`)
  }
}
