// The agents plugin's public contract: the provider interfaces (STYLE.md §2.5), the wire DTOs
// of claudette-wire.md §6.2/§6.3/§7 that this plugin owns, and its DI tokens.
import type { Disposable, Event } from '../../core/lifecycle.js'
import { token } from '../../core/tokens.js'
import type {
  ChatMessage, ChatSession, ChatSnapshot, CompletedTurnData, ConversationCheckpoint, TurnToolActivity, WssAttachment,
} from '../../protocol/index.js'

// ---------------------------------------------------------------------------------------------
// Provider interfaces
// ---------------------------------------------------------------------------------------------

/**
 * How much the agent may do without asking. The wire's `permission_level` maps onto it:
 * `"full"` → `bypass`, `"standard"` → `standard`, anything else → `readonly`; a missing level
 * is the server's `defaultPermissionLevel` (`standard` unless the operator changes it).
 */
export type PermissionLevel = 'bypass' | 'standard' | 'readonly'

/** Everything a provider needs to start one agent process for one chat session. */
export interface AgentStartRequest {
  /** The workspace's worktree (absolute, already confined by the repos plugin). */
  readonly cwd: string
  readonly workspaceId: string
  readonly chatSessionId: string
  /**
   * The agent CLI's own conversation id. `resume` true: continue that conversation
   * (`claude --resume <id>`); false: start a new one under this id (`--session-id <id>`).
   */
  readonly agentSessionId: string
  readonly resume: boolean
  readonly permissionLevel: PermissionLevel
  /**
   * The model, also when resuming (a process restarted for new flags keeps the conversation's
   * model instead of falling back to the CLI's default). Absent: the CLI's default.
   */
  readonly model?: string
  readonly planMode: boolean
  readonly effort?: string
  readonly fastMode: boolean
  readonly thinkingEnabled: boolean
  readonly chromeEnabled: boolean
  readonly disable1mContext: boolean
  /** The repository's custom instructions (appended to the system prompt on a new conversation). */
  readonly customInstructions?: string
  /** Extra environment (the CLAUDETTE_WORKSPACE_* variables). */
  readonly env: Readonly<Record<string, string>>
}

/** One user turn (or steering message) written to the agent. */
export interface AgentInput {
  /** The prompt, with @-mentioned files already expanded. */
  readonly content: string
}

/** The reply to a `can_use_tool` control request (Claude Code's PermissionResult). */
export type AgentAnswer =
  /** updatedInput only when the user changed the tool's input (answers, an edited plan). */
  | { readonly behavior: 'allow', readonly updatedInput?: unknown }
  | { readonly behavior: 'deny', readonly message: string }

/**
 * What a running agent reports, in order. `stream` carries one parsed stream-json object as the
 * CLI printed it (the registry normalises it for the wire); `exit` is always the last event.
 */
export type AgentEvent =
  | { readonly type: 'stream', readonly message: Record<string, unknown> }
  | { readonly type: 'stderr', readonly line: string }
  | { readonly type: 'exit', readonly code: number | null, readonly signal: string | null }

/** Provider-level state of a live agent process (for logs and `get_chat_snapshot`). */
export interface AgentSnapshot {
  readonly kind: string
  readonly pid: number | null
  readonly alive: boolean
  /** Shell-quoted command line with sensitive values redacted. */
  readonly commandLine: string
}

/** A provider starts agent processes of one kind ('claude-code', a configured command, …). */
export interface AgentProvider {
  readonly kind: string
  /**
   * Starts the agent. Resolves once the process is running (not when it is ready); rejects with
   * AgentSpawnError when it cannot be started. Must not block other sessions while it waits.
   */
  start (req: AgentStartRequest): Promise<AgentSession>
}

/** One live agent process. dispose() stops it (SIGTERM, then SIGKILL) and resolves after exit. */
export interface AgentSession extends Disposable {
  readonly id: string
  /** Fired for every event, in order; fanned out by the registry to every connection. */
  readonly onEvent: Event<AgentEvent>
  /** Writes a user turn. Rejects with AgentStdinError when the process cannot take it. */
  send (msg: AgentInput): Promise<void>
  /** Answers the control request `requestId` (a `can_use_tool` prompt). */
  answer (requestId: string, reply: AgentAnswer): Promise<void>
  snapshot (): AgentSnapshot
}

// ---------------------------------------------------------------------------------------------
// Wire shapes owned by this plugin (field names exactly as the Claudette clients read them)
// ---------------------------------------------------------------------------------------------

// Defined in src/protocol: the server and the client SDK share them.
export {
  ChatMessage, ChatSession, ConversationCheckpoint, TurnToolActivity, CompletedTurnData, WssAttachment, PendingControl, LiveEvent, ChatSnapshot,
  InitialData,
} from '../../protocol/index.js'

/** Event names (claudette-wire.md §7). */
export const AGENT_STREAM_EVENT = 'agent-stream'
export const AGENT_PERMISSION_PROMPT_EVENT = 'agent-permission-prompt'
export const CHECKPOINT_CREATED_EVENT = 'checkpoint-created'

// ---------------------------------------------------------------------------------------------
// Services (the contracts of the DI tokens)
// ---------------------------------------------------------------------------------------------

/** The turn settings a client sends with send_chat_message (already defaulted). */
export interface TurnSettings {
  readonly permissionLevel: PermissionLevel
  readonly model: string | null
  readonly planMode: boolean
  readonly effort: string | null
  readonly fastMode: boolean
  readonly thinkingEnabled: boolean
  readonly chromeEnabled: boolean
  readonly disable1mContext: boolean
  readonly provider: string
}

/** The device (and connection) that asked for something, for the audit log. */
export interface AgentOrigin {
  readonly sessionId: string
  readonly device: string
  readonly remoteAddress: string
}

export interface SendRequest {
  readonly chatSessionId: string
  readonly content: string
  readonly mentionedFiles: readonly string[]
  readonly settings: TurnSettings
  readonly origin?: AgentOrigin
}

/** An agent process was started for a chat session. */
export interface AgentStarted {
  readonly chatSessionId: string
  readonly workspaceId: string
  readonly kind: string
  readonly pid: number | null
  readonly resume: boolean
  /** Who sent the turn that started it (absent: a queued message). */
  readonly origin?: AgentOrigin
}

/** An agent process ended. */
export interface AgentStopped {
  readonly chatSessionId: string
  readonly workspaceId: string
  /**
   * `exited` (by itself), `stopped` (stop_agent), `reset`, `settings changed` (restarted with new
   * flags), `send failed`, `chat archived`, `workspace archived` or `server closing`.
   */
  readonly reason: string
  readonly exitCode: number | null
  readonly signal: string | null
  /** Who stopped it (stop_agent only). */
  readonly origin?: AgentOrigin
}

/** The chat sessions and their live agents (the [A] methods of claudette-wire.md §6). */
export interface ChatAgents extends Disposable {
  /** How many chat sessions have a live agent (a process running or starting). */
  readonly size: number
  readonly onDidStart: Event<AgentStarted>
  readonly onDidStop: Event<AgentStopped>
  isRunning (chatSessionId: string): boolean
  /** A ChatSession with its runtime fields filled in from the live agent (if any). */
  hydrate (s: ChatSession): ChatSession
  getSession (id: string): ChatSession
  listSessions (workspaceId: string, includeArchived: boolean): ChatSession[]
  createSession (workspaceId: string): ChatSession
  renameSession (id: string, name: string): void
  archiveSession (id: string): Promise<ChatSession | null>
  send (req: SendRequest): Promise<void>
  steer (chatSessionId: string, content: string): { queue_depth: number, queued: true }
  answer (chatSessionId: string, toolUseId: string, answers: Record<string, string>, annotations: unknown): Promise<void>
  approve (chatSessionId: string, toolUseId: string, approved: boolean, reason: string | undefined, planOnly: boolean): Promise<void>
  stop (chatSessionId: string, origin?: AgentOrigin): Promise<void>
  reset (chatSessionId: string): Promise<void>
  /** Stops every agent of a workspace (before it is archived). */
  stopWorkspace (workspaceId: string): Promise<void>
  snapshot (chatSessionId: string, limit: number, before: string | null): ChatSnapshot
  history (chatSessionId: string): ChatMessage[]
  completedTurns (chatSessionId: string): CompletedTurnData[]
}

/** A chat message to save; the omitted fields take their defaults. */
export type NewChatMessage = Pick<ChatMessage, 'workspace_id' | 'chat_session_id' | 'role' | 'content'> & Partial<ChatMessage>

/** A completed turn's tool activity to save with its checkpoint. */
export type NewToolActivity = Omit<TurnToolActivity, 'id' | 'checkpoint_id' | 'agent_description' | 'agent_last_tool_name' |
  'agent_tool_use_count' | 'agent_status' | 'agent_task_id' | 'agent_result_text' | 'agent_tool_calls_json' | 'agent_thinking_blocks_json' |
  'workflow_progress_json'>

/** The agents plugin's persistence: chat sessions, messages, checkpoints and attachments. */
export interface ChatStore {
  getSession (id: string): ChatSession | null
  listSessions (workspaceId: string, includeArchived: boolean): ChatSession[]
  sessionIdsOfWorkspace (workspaceId: string): string[]
  workspaceExists (workspaceId: string): boolean
  createSession (workspaceId: string): ChatSession
  /** The first chat session of a new workspace, inside the transaction that inserts the workspace. */
  insertFirstSession (id: string, workspaceId: string, createdAt: string): void
  renameSession (id: string, name: string): boolean
  archiveSessionEnsuringActive (id: string, workspaceId: string): ChatSession | null
  setAgentSessionId (chatSessionId: string, agentSessionId: string | null): void
  setCliInvocation (chatSessionId: string, line: string): void
  bumpTurnCount (chatSessionId: string): void
  insertMessage (m: NewChatMessage): ChatMessage
  setMessageCost (id: string, costUsd: number | null, durationMs: number | null): void
  history (chatSessionId: string): ChatMessage[]
  page (chatSessionId: string, limit: number, before: string | null): { messages: ChatMessage[], hasMore: boolean }
  count (chatSessionId: string): number
  countAll (chatSessionId: string): number
  lastMessages (): ChatMessage[]
  latestCheckpoint (chatSessionId: string): ConversationCheckpoint | null
  latestCommit (chatSessionId: string): string | null
  insertCheckpoint (cp: ConversationCheckpoint, activities: readonly NewToolActivity[]): void
  completedTurns (chatSessionId: string): CompletedTurnData[]
  addAttachment (a: {
    message_id: string, filename: string, media_type: string, data: Buffer, width?: number | null, height?: number | null,
    origin?: 'user' | 'agent', tool_use_id?: string | null,
  }): string
  attachmentsForPage (chatSessionId: string, messages: readonly ChatMessage[]): WssAttachment[]
}

export const AGENTS = {
  Registry: token<ChatAgents>('AgentRegistry'),
  Store: token<ChatStore>('AgentStore'),
  /** Every provider by kind ('claude-code', configured commands, the embedder's). */
  Providers: token<ReadonlyMap<string, AgentProvider>>('AgentProviders'),
} as const
