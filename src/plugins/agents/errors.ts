import { ClientError, createError } from '../../core/errors.js'

/** Agent errors reach the Claudette apps as the reference texts: code -1, the message, no data. */
const client = { base: ClientError, wireCode: false } as const

/** send_chat_message / stop_agent on an unknown chat session (reference text). */
export class ChatSessionNotFoundError extends createError('ERR_AGENT_CHAT_SESSION_NOT_FOUND', 'Chat session not found',
  { ...client, statusCode: 404, fields: ([chatSessionId]: [string]) => ({ chatSessionId }) }) {}

/** get_chat_snapshot, get/rename/archive_chat_session, steer and submit_* without a session or live agent. */
export class AgentSessionNotFoundError extends createError('ERR_AGENT_SESSION_NOT_FOUND', 'Session not found',
  { ...client, statusCode: 404, fields: ([chatSessionId]: [string]) => ({ chatSessionId }) }) {}

/** The chat session's workspace is gone, or has no worktree: the repos conditions. */
export { WorkspaceNotFoundError as AgentWorkspaceNotFoundError, WorkspaceNoWorktreeError as AgentNoWorktreeError } from '../repos/types.js'

/** submit_* while the chat session has a queue entry but no running process. */
export class AgentNotActiveError extends createError('ERR_AGENT_NOT_ACTIVE', 'Agent session is not active', { ...client, statusCode: 409 }) {}

export class AgentNoPendingRequestError extends createError('ERR_AGENT_NO_PENDING_REQUEST',
  (toolUseId: string, pending: readonly string[]) =>
    `No pending permission request for tool_use_id ${toolUseId} (pending: [${pending.map(p => JSON.stringify(p)).join(', ')}])`,
  { ...client, statusCode: 404, fields: ([toolUseId]) => ({ toolUseId }) }) {}

export class AgentWrongToolError extends createError('ERR_AGENT_WRONG_TOOL',
  (toolUseId: string, toolName: string, expected: string) => `Pending tool for ${toolUseId} is ${toolName}, ${expected}`,
  { ...client, statusCode: 409, fields: ([toolUseId, toolName]) => ({ toolUseId, toolName }) }) {}

export class AgentEmptySteerError extends createError('ERR_AGENT_EMPTY_STEER', 'Cannot steer an empty message', client) {}

export class AgentQueueFullError extends createError('ERR_AGENT_QUEUE_FULL', (depth: number) => `Steer queue is full (${depth} messages)`,
  { ...client, statusCode: 429, fields: ([depth]) => ({ depth }) }) {}

export class ChatSessionNameEmptyError extends createError('ERR_AGENT_NAME_EMPTY', 'Name cannot be empty', client) {}

/** The agent executable could not be started (not found, not executable, bad cwd). */
export class AgentSpawnError extends createError('ERR_AGENT_SPAWN', (message: string) => message, { ...client, statusCode: 502 }) {}

/**
 * permission_level "full" on a server whose agents would run as root: Claude Code refuses to skip
 * permission checks as root outside a sandbox (it exits before the turn), and agents run unsandboxed.
 */
export class AgentBypassAsRootError extends createError('ERR_AGENT_BYPASS_AS_ROOT',
  'Permission level "full" is not available: this server runs its agents as root, and Claude Code refuses to skip ' +
  'permission checks (bypassPermissions) as root. Choose the "standard" or "readonly" level, or have the server owner run ' +
  'the server (or its agents, see agents.agentUid) as a normal user, or set agents.allowBypassPermissions to false.',
  { ...client, statusCode: 403 }) {}

/** Writing to the agent's stdin failed (it exited in between). */
export class AgentStdinError extends createError('ERR_AGENT_STDIN', (message: string) => message, { ...client, statusCode: 502 }) {}

/** Two providers with one kind, or a defaultProvider that names none. */
export class AgentProviderConfigError extends createError('ERR_AGENT_PROVIDER_CONFIG', (message: string) => message,
  { expose: true, wireCode: false }) {}
