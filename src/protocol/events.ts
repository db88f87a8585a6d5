// Server→client events (claudette-wire.md §7 and our additions). Agent events go to every
// authenticated connection; each carries the chat session id under both keys (the desktop reads
// `chat_session_id`, mobile `session_id`) and `seq`, one more per event of that chat session.
import { Type, type Static } from 'typebox'
import { ConversationCheckpoint } from './agents.js'
import { Byte, Nullable } from './common.js'
import { Workspace } from './repos.js'

/**
 * One stream-json object of the agent CLI as the server forwards it, internally tagged on
 * `type` (`system`, `stream_event`, `assistant`, `user`, `result`, `control_request`,
 * `control_response`, or `"Unknown"`); its other fields follow the CLI's stream-json and are
 * not described here (claudette-wire.md §7 lists them).
 */
export const StreamEvent = Type.Object({ type: Type.String() }, { additionalProperties: true })
export type StreamEvent = Static<typeof StreamEvent>

/** `agent-stream`'s `event`, externally tagged. `ProcessExited` is null after a stop. */
export const AgentEvent = Type.Union([
  Type.Object({ Stream: StreamEvent }),
  Type.Object({ Stderr: Type.String() }),
  Type.Object({ ProcessExited: Nullable(Type.Integer()) }),
])
export type AgentEvent = Static<typeof AgentEvent>

const chat = {
  chat_session_id: Type.String(),
  seq: Type.Integer(),
  session_id: Type.String(),
  workspace_id: Type.String(),
}

export const AgentStreamPayload = Type.Object({ ...chat, event: AgentEvent })
export type AgentStreamPayload = Static<typeof AgentStreamPayload>

/** Sent before the `agent-stream` event that carries the same `control_request`. */
export const AgentPermissionPromptPayload = Type.Object({
  ...chat, input: Type.Unknown(), request_id: Type.String(), tool_name: Type.String(), tool_use_id: Type.String(),
})
export type AgentPermissionPromptPayload = Static<typeof AgentPermissionPromptPayload>

/** A prompt was answered (`allow`/`deny`) or went away unanswered (`cancelled`). Ours. */
export const AgentPermissionResolvedPayload = Type.Object({
  ...chat, behavior: Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('cancelled')]), tool_use_id: Type.String(),
})
export type AgentPermissionResolvedPayload = Static<typeof AgentPermissionResolvedPayload>

/** On a turn's `result`, before the `agent-stream` event that carries it. */
export const CheckpointCreatedPayload = Type.Object({ ...chat, checkpoint: ConversationCheckpoint })
export type CheckpointCreatedPayload = Static<typeof CheckpointCreatedPayload>

/** Terminal output in the compatible encoding (binary mode sends `0x01 | pty_id | bytes` frames instead). */
export const PtyOutputPayload = Type.Object({ data: Type.Array(Byte), pty_id: Type.Integer() })
export type PtyOutputPayload = Static<typeof PtyOutputPayload>

/** A terminal ended: `exit_code` is null when a signal killed it; `signal` is its name. Ours. */
export const PtyExitPayload = Type.Object({ exit_code: Nullable(Type.Integer()), pty_id: Type.Integer(), signal: Nullable(Type.String()) })
export type PtyExitPayload = Static<typeof PtyExitPayload>

/** A binary input frame was malformed or refused (`pty_id` null when it was too short to carry one). Ours. */
export const PtyInputErrorPayload = Type.Object({ message: Type.String(), pty_id: Nullable(Type.Integer()) })
export type PtyInputErrorPayload = Static<typeof PtyInputErrorPayload>

/** A workspace was created, archived or restored. Ours. */
export const WorkspaceChangedPayload = Type.Object({ workspace: Workspace })
export type WorkspaceChangedPayload = Static<typeof WorkspaceChangedPayload>

/** Every event of the wire: name → payload schema. */
export const Events = {
  'agent-stream': AgentStreamPayload,
  'agent-permission-prompt': AgentPermissionPromptPayload,
  'agent-permission-resolved': AgentPermissionResolvedPayload,
  'checkpoint-created': CheckpointCreatedPayload,
  'pty-output': PtyOutputPayload,
  'pty-exit': PtyExitPayload,
  'pty-input-error': PtyInputErrorPayload,
  'workspace-changed': WorkspaceChangedPayload,
} as const

export type EventName = keyof typeof Events
/** Event name → payload type. */
export type EventMap = { [E in EventName]: Static<(typeof Events)[E]> }
