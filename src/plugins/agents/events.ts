// What happens to a chat session's agent, as the plugin's objects report it. They know nothing of
// the wire: wire.ts turns each event into the Claudette wire event, numbers and records it.
import type { ConversationCheckpoint } from './types.js'

/** What the agent process printed or did, in order. */
export type AgentOutput =
  /** One stream-json object as the CLI printed it. */
  | { readonly kind: 'stream', readonly message: Record<string, unknown> }
  | { readonly kind: 'stderr', readonly line: string }
  /** `code` null: stopped on purpose (stop_agent), whatever the process made of SIGTERM. */
  | { readonly kind: 'exited', readonly code: number | null }

export type PromptResolution = 'allow' | 'deny' | 'cancelled'

export type AgentDomainEvent = { readonly chatSessionId: string, readonly workspaceId: string } & (
  | { readonly type: 'output', readonly output: AgentOutput }
  /** The agent asks the user (a `can_use_tool` control request). */
  | { readonly type: 'permission-prompt', readonly requestId: string, readonly toolName: string, readonly toolUseId: string, readonly input: unknown }
  /** A prompt was answered (possibly from another device), withdrawn or dropped. */
  | { readonly type: 'permission-resolved', readonly toolUseId: string, readonly behavior: PromptResolution }
  | { readonly type: 'checkpoint-created', readonly checkpoint: ConversationCheckpoint }
)

/** Where live agents report to. */
export interface AgentEventSink {
  publish (e: AgentDomainEvent): void
  /** A turn starts: what a reconnecting client recovers restarts with it. */
  turnStarted (chatSessionId: string): void
  /** The running turn is over (its result, an exit, a failed start, a drop): nothing to recover. */
  turnEnded (chatSessionId: string): void
}
