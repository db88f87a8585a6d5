import { ClientError, createError } from '../../core/errors.js'

/** Repos errors reach the Claudette apps as the reference texts: code -1, the message, no data. */
const client = { base: ClientError, wireCode: false } as const
/** A condition whose message the call site writes. */
const text = (message: string) => message

/** An unknown repository id (reference text). */
export class RepoNotFoundError extends createError('ERR_REPO_NOT_FOUND', 'Repository not found',
  { ...client, statusCode: 404, fields: ([repositoryId]: [string]) => ({ repositoryId }) }) {}

/** An unknown workspace id (reference text); agents and terminals raise it too. */
export class WorkspaceNotFoundError extends createError('ERR_REPO_WORKSPACE_NOT_FOUND', 'Workspace not found',
  { ...client, statusCode: 404, fields: ([workspaceId]: [string]) => ({ workspaceId }) }) {}

/** The workspace is archived (or its worktree is gone). Reference text; agents raise it too. */
export class WorkspaceNoWorktreeError extends createError('ERR_REPO_NO_WORKTREE', 'Workspace has no worktree',
  { ...client, statusCode: 409, fields: ([workspaceId]: [string]) => ({ workspaceId }) }) {}

/** create_workspace name rule (reference text): ASCII letters, digits and `-`, not at either end. */
export class InvalidWorkspaceNameError extends createError('ERR_REPO_INVALID_NAME',
  (workspaceName: string) => `Invalid workspace name: '${workspaceName}'`, { ...client, fields: ([workspaceName]) => ({ workspaceName }) }) {}

/** A workspace with that name (or its branch) already exists in the repository. */
export class WorkspaceExistsError extends createError('ERR_REPO_WORKSPACE_EXISTS', text, { ...client, statusCode: 409 }) {}

/** A workspace is in the wrong state for the operation (already active, already archived). */
export class WorkspaceStateError extends createError('ERR_REPO_WORKSPACE_STATE', text, { ...client, statusCode: 409 }) {}

/** A required repository input has no value (reference text). */
export class MissingInputError extends createError('ERR_REPO_MISSING_INPUT',
  (key: string) => `Missing value for required input "${key}".`, { ...client, fields: ([key]) => ({ key }) }) {}

/** A client path lies outside what this server lets clients touch, or is malformed. */
export class PathNotAllowedError extends createError('ERR_REPO_PATH_NOT_ALLOWED', text, { ...client, statusCode: 403 }) {}

/** `add_repository` / `repo add` on something that is not a usable git work tree. */
export class NotAGitRepositoryError extends createError('ERR_REPO_NOT_GIT', text, client) {}

/** The path is already registered. */
export class RepoExistsError extends createError('ERR_REPO_EXISTS',
  (path: string, existingId: string) => `Repository already registered: ${path} (id ${existingId})`,
  { ...client, statusCode: 409, fields: ([path, existingId]) => ({ path, existingId }) }) {}

/** A repository with active workspaces cannot be removed. */
export class RepoInUseError extends createError('ERR_REPO_IN_USE',
  (_repositoryId: string, active: number) =>
    `Repository has ${active} active workspace${active === 1 ? '' : 's'}; archive ${active === 1 ? 'it' : 'them'} first`,
  { ...client, statusCode: 409, fields: ([repositoryId, active]) => ({ repositoryId, active }) }) {}

/** The configured RepoProvider cannot do this (no add/remove). */
export class RepoOperationUnsupportedError extends createError('ERR_REPO_UNSUPPORTED', text, { ...client, statusCode: 501 }) {}

/** A ref, branch or revision from the client that is not safe to pass to git. */
export class InvalidRefError extends createError('ERR_REPO_INVALID_REF', text, client) {}

/** A git command failed. The message is a plain summary (git's first error line), never a debug dump. */
export class GitCommandError extends createError('ERR_REPO_GIT_FAILED',
  (message: string, _exitCode: number | null) => message,
  { ...client, statusCode: 500, fields: ([, exitCode]) => ({ exitCode }) }) {}

/** set_app_setting on a key that is not writable over the wire, or with a bad value. */
export class SettingNotAllowedError extends createError('ERR_REPO_SETTING_NOT_ALLOWED', text, { ...client, statusCode: 403 }) {}

/** read_plan_file on something that is not a readable regular file of acceptable size. */
export class PlanFileError extends createError('ERR_REPO_PLAN_FILE', text, client) {}

/**
 * A workspace's `<worktree>/.git` is not (any more) a regular file pointing to the git admin dir
 * the server recorded for it: something (an agent, a tool) redirected it. No git runs there.
 */
export class UnsafeWorkspaceError extends createError('ERR_REPO_UNSAFE_WORKSPACE',
  (workspaceName: string, expectedGitDir: string) =>
    `Workspace '${workspaceName}' is unsafe: its .git no longer points to ${expectedGitDir}; refusing to run git in it (fix or remove it by hand)`,
  { ...client, statusCode: 409, fields: ([workspaceName, expectedGitDir]) => ({ workspaceName, expectedGitDir }) }) {}
