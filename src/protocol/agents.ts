// Chat sessions and agents: the [A] methods of claudette-wire.md §6 (shapes §6.2–§6.3) and our
// additions to them (`live` in the snapshot). Parameters follow the reference: the chat session
// id is `chat_session_id` with the legacy `session_id` as fallback; unknown keys are ignored;
// nullable values (model, effort, backend_id, …) may be null.
import { Type, type Static, type TSchema } from 'typebox'
import { AgentStatus, Defaulted, NoParams, Nullable, NullResult, OptionalNullable, WorkspaceStatus } from './common.js'

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

export const ConversationCheckpoint = Type.Object({
  chat_session_id: Type.String(),
  commit_hash: Nullable(Type.String()),
  created_at: Type.String(),
  has_file_state: Type.Boolean(),
  id: Type.String(),
  message_count: Type.Integer(),
  message_id: Type.String(),
  turn_index: Type.Integer(),
  workspace_id: Type.String(),
})
export type ConversationCheckpoint = Static<typeof ConversationCheckpoint>

export const TurnToolActivity = Type.Object({
  agent_description: Nullable(Type.String()),
  agent_last_tool_name: Nullable(Type.String()),
  agent_result_text: Nullable(Type.String()),
  agent_status: Nullable(Type.String()),
  agent_task_id: Nullable(Type.String()),
  agent_thinking_blocks_json: Type.String(),
  agent_tool_calls_json: Type.String(),
  agent_tool_use_count: Nullable(Type.Integer()),
  assistant_message_ordinal: Type.Integer(),
  checkpoint_id: Type.String(),
  id: Type.String(),
  input_json: Type.String(),
  result_text: Type.String(),
  sort_order: Type.Integer(),
  summary: Type.String(),
  tool_name: Type.String(),
  tool_use_id: Type.String(),
  workflow_progress_json: Type.String(),
})
export type TurnToolActivity = Static<typeof TurnToolActivity>

export const CompletedTurnData = Type.Object({
  activities: Type.Array(TurnToolActivity),
  checkpoint_id: Type.String(),
  commit_hash: Nullable(Type.String()),
  message_count: Type.Integer(),
  message_id: Type.String(),
  turn_index: Type.Integer(),
})
export type CompletedTurnData = Static<typeof CompletedTurnData>

export const WssAttachment = Type.Object({
  created_at: Type.String(),
  filename: Type.String(),
  height: Nullable(Type.Integer()),
  id: Type.String(),
  media_type: Type.String(),
  message_id: Type.String(),
  origin: Type.Union([Type.Literal('user'), Type.Literal('agent')]),
  size_bytes: Type.Integer(),
  text_content: Nullable(Type.String()),
  tool_use_id: Nullable(Type.String()),
  width: Nullable(Type.Integer()),
})
export type WssAttachment = Static<typeof WssAttachment>

export const PendingControl = Type.Object({
  input: Type.Unknown(),
  kind: Type.Union([Type.Literal('ask_user_question'), Type.Literal('exit_plan_mode'), Type.Literal('unknown')]),
  tool_name: Type.String(),
  tool_use_id: Type.String(),
})
export type PendingControl = Static<typeof PendingControl>

/** One recorded event of the running turn (our addition to the snapshot, for gapless recovery). */
export const LiveEvent = Type.Object({
  event: Type.String(),
  payload: Type.Intersect([Type.Object({ seq: Type.Integer() }), Type.Record(Type.String(), Type.Unknown())]),
})
export type LiveEvent = Static<typeof LiveEvent>

/**
 * `get_chat_snapshot`'s result (§6.3) plus `live` (our addition): the events of the turn in
 * progress up to `seq`. A reconnecting client applies `live.events`, then every live event whose
 * `payload.seq` is greater than `live.seq`, and so sees exactly the uninterrupted stream.
 * `turn_message_id`: the running turn's user message (it and the messages after it are that turn).
 */
export const ChatSnapshot = Type.Object({
  attachments: Type.Array(WssAttachment),
  completed_turns: Type.Array(CompletedTurnData),
  has_more: Type.Boolean(),
  live: Type.Object({
    complete: Type.Boolean(),
    events: Type.Array(LiveEvent),
    running: Type.Boolean(),
    seq: Type.Integer(),
    turn_message_id: Nullable(Type.String()),
  }),
  messages: Type.Array(ChatMessage),
  pending_controls: Type.Array(PendingControl),
  session: ChatSession,
  total_count: Type.Integer(),
})
export type ChatSnapshot = Static<typeof ChatSnapshot>

export const SteerResult = Type.Object({ queue_depth: Type.Integer(), queued: Type.Literal(true) })
export type SteerResult = Static<typeof SteerResult>

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

const Opt = <T extends TSchema>(t: T) => OptionalNullable(t)
const Id = Type.String({ maxLength: 200 })
const ChatId = { chat_session_id: Type.Optional(Id), session_id: Type.Optional(Id) }
const WorkspaceId = Defaulted(Type.String({ default: '', maxLength: 200 }))
const Content = Defaulted(Type.String({ default: '', maxLength: 4 * 1024 * 1024 }))
const ToolUseId = Defaulted(Type.String({ default: '', maxLength: 200 }))

/** The params of the methods that take only a chat session id. */
export const ChatIdParams = Type.Object(ChatId)
export const GetChatSnapshotParams = Type.Object({ ...ChatId, limit: Type.Optional(Type.Unknown()), before_message_id: Opt(Id), beforeMessageId: Opt(Id) })
export const ListChatSessionsParams = Type.Object({ workspace_id: WorkspaceId, include_archived: Defaulted(Type.Boolean({ default: false })) })
export const CreateChatSessionParams = Type.Object({ workspace_id: WorkspaceId })
export const RenameChatSessionParams = Type.Object({ ...ChatId, name: Defaulted(Type.String({ default: '', maxLength: 10_000 })) })
export const SendChatMessageParams = Type.Object({
  ...ChatId,
  content: Content,
  permission_level: Opt(Type.String({ maxLength: 64 })),
  model: Opt(Type.String({ maxLength: 200 })),
  fast_mode: Opt(Type.Boolean()),
  thinking_enabled: Opt(Type.Boolean()),
  plan_mode: Opt(Type.Boolean()),
  chrome_enabled: Opt(Type.Boolean()),
  disable_1m_context: Opt(Type.Boolean()),
  effort: Opt(Type.String({ maxLength: 32 })),
  backend_id: Opt(Type.String({ maxLength: 64 })),
  mentioned_files: Opt(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 100 })),
})
export const SteerQueuedChatMessageParams = Type.Object({ ...ChatId, content: Content })
export const SubmitAgentAnswerParams = Type.Object({ ...ChatId, tool_use_id: ToolUseId, answers: Type.Optional(Type.Unknown()), annotations: Type.Optional(Type.Unknown()) })
/** submit_plan_approval and submit_agent_approval. */
export const SubmitApprovalParams = Type.Object({
  ...ChatId, tool_use_id: ToolUseId, approved: Defaulted(Type.Boolean({ default: false })), reason: Opt(Type.String({ maxLength: 100_000 })),
})

export const AgentsMethods = {
  load_chat_history: { params: ChatIdParams, result: Type.Array(ChatMessage) },
  load_completed_turns: { params: ChatIdParams, result: Type.Array(CompletedTurnData) },
  get_chat_snapshot: { params: GetChatSnapshotParams, result: ChatSnapshot },
  list_chat_sessions: { params: ListChatSessionsParams, result: Type.Array(ChatSession) },
  get_chat_session: { params: ChatIdParams, result: ChatSession },
  create_chat_session: { params: CreateChatSessionParams, result: ChatSession },
  rename_chat_session: { params: RenameChatSessionParams, result: NullResult },
  /** The new session when this was the workspace's last active one, else null. */
  archive_chat_session: { params: ChatIdParams, result: Nullable(ChatSession) },
  send_chat_message: { params: SendChatMessageParams, result: NullResult },
  steer_queued_chat_message: { params: SteerQueuedChatMessageParams, result: SteerResult },
  stop_agent: { params: ChatIdParams, result: NullResult },
  reset_agent_session: { params: ChatIdParams, result: NullResult },
  submit_agent_answer: { params: SubmitAgentAnswerParams, result: NullResult },
  submit_plan_approval: { params: SubmitApprovalParams, result: NullResult },
  submit_agent_approval: { params: SubmitApprovalParams, result: NullResult },
  refresh_claude_flags: { params: NoParams, result: NullResult },
} as const
