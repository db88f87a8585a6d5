import { AppError, ClientError } from '../../core/errors.js'

/** send_chat_message / stop_agent on an unknown chat session (reference text). */
export class ChatSessionNotFoundError extends ClientError {
  readonly code = 'ERR_AGENT_CHAT_SESSION_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly chatSessionId: string) { super('Chat session not found') }
}

/** get_chat_snapshot, get/rename/archive_chat_session, steer and submit_* without a session or live agent. */
export class AgentSessionNotFoundError extends ClientError {
  readonly code = 'ERR_AGENT_SESSION_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly chatSessionId: string) { super('Session not found') }
}

export class AgentWorkspaceNotFoundError extends ClientError {
  readonly code = 'ERR_AGENT_WORKSPACE_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly workspaceId: string) { super('Workspace not found') }
}

export class AgentNoWorktreeError extends ClientError {
  readonly code = 'ERR_AGENT_NO_WORKTREE'
  override readonly statusCode = 409
  constructor (readonly workspaceId: string) { super('Workspace has no worktree') }
}

/** submit_* while the chat session has a queue entry but no running process. */
export class AgentNotActiveError extends ClientError {
  readonly code = 'ERR_AGENT_NOT_ACTIVE'
  override readonly statusCode = 409
  constructor () { super('Agent session is not active') }
}

export class AgentNoPendingRequestError extends ClientError {
  readonly code = 'ERR_AGENT_NO_PENDING_REQUEST'
  override readonly statusCode = 404
  constructor (readonly toolUseId: string, pending: readonly string[]) {
    super(`No pending permission request for tool_use_id ${toolUseId} (pending: [${pending.map(p => JSON.stringify(p)).join(', ')}])`)
  }
}

export class AgentWrongToolError extends ClientError {
  readonly code = 'ERR_AGENT_WRONG_TOOL'
  override readonly statusCode = 409
  constructor (readonly toolUseId: string, readonly toolName: string, expected: string) {
    super(`Pending tool for ${toolUseId} is ${toolName}, ${expected}`)
  }
}

export class AgentEmptySteerError extends ClientError {
  readonly code = 'ERR_AGENT_EMPTY_STEER'
  constructor () { super('Cannot steer an empty message') }
}

export class AgentQueueFullError extends ClientError {
  readonly code = 'ERR_AGENT_QUEUE_FULL'
  override readonly statusCode = 429
  constructor (readonly depth: number) { super(`Steer queue is full (${depth} messages)`) }
}

export class ChatSessionNameEmptyError extends ClientError {
  readonly code = 'ERR_AGENT_NAME_EMPTY'
  constructor () { super('Name cannot be empty') }
}

/** The agent executable could not be started (not found, not executable, bad cwd). */
export class AgentSpawnError extends ClientError {
  readonly code = 'ERR_AGENT_SPAWN'
  override readonly statusCode = 502
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/**
 * permission_level "full" on a server whose agents would run as root: Claude Code refuses to skip
 * permission checks as root outside a sandbox (it exits before the turn), and agents run unsandboxed.
 */
export class AgentBypassAsRootError extends ClientError {
  readonly code = 'ERR_AGENT_BYPASS_AS_ROOT'
  override readonly statusCode = 403
  constructor () {
    super('Permission level "full" is not available: this server runs its agents as root, and Claude Code refuses to skip ' +
      'permission checks (bypassPermissions) as root. Choose the "standard" or "readonly" level, or have the server owner run ' +
      'the server (or its agents, see agents.agentUid) as a normal user, or set agents.allowBypassPermissions to false.')
  }
}

/** Writing to the agent's stdin failed (it exited in between). */
export class AgentStdinError extends ClientError {
  readonly code = 'ERR_AGENT_STDIN'
  override readonly statusCode = 502
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/** Two providers with one kind, or a defaultProvider that names none. */
export class AgentProviderConfigError extends AppError {
  readonly code = 'ERR_AGENT_PROVIDER_CONFIG'
  override readonly expose = true
  constructor (message: string) { super(message) }
}
