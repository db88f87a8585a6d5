import { Type, type Static } from 'typebox'
import { token } from '../../core/tokens.js'
import type { AgentProvider } from './types.js'

/** An operator-configured stream-json agent CLI (the generic command provider). */
export const CommandProviderOptions = Type.Object({
  /** Provider kind; clients pick it with `send_chat_message.backend_id`. */
  kind: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
  /** Executable (absolute path, or a name looked up in PATH). */
  command: Type.String({ minLength: 1 }),
  /** Arguments, passed as given (no shell). */
  args: Type.Optional(Type.Array(Type.String())),
  /** Extra environment for the process. */
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
}, { additionalProperties: false })
export type CommandProviderOptions = Static<typeof CommandProviderOptions>

export const AgentsOptions = Type.Object({
  /** The Claude Code executable: a path, or a name looked up in PATH. */
  claudePath: Type.String({ minLength: 1, default: 'claude' }),
  /** Extra arguments put before the generated ones (e.g. `--mcp-config …`). */
  claudeArgs: Type.Array(Type.String(), { default: [] }),
  /** The provider used when a client names none (or names `anthropic`). */
  defaultProvider: Type.String({ minLength: 1, default: 'claude-code' }),
  /**
   * Level used when `send_chat_message` has no `permission_level`. The reference defaults to
   * `full` (bypassPermissions); we default to `standard`: edits are pre-approved, every other
   * tool (Bash, MCP, …) is asked through `agent-permission-prompt`.
   */
  defaultPermissionLevel: Type.Union([Type.Literal('full'), Type.Literal('standard'), Type.Literal('readonly')], { default: 'standard' }),
  /** When false, `permission_level: "full"` is downgraded to `standard` (no bypass ever). */
  allowBypassPermissions: Type.Boolean({ default: true }),
  /**
   * The user id Claude Code runs as, for the root check of `full` (Claude Code refuses
   * bypassPermissions as root). Default: the server's own effective uid. Set it when `claudePath`
   * is a wrapper that runs the CLI as another user.
   */
  agentUid: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Operator-configured stream-json CLIs (see docs/agents.md). */
  commands: Type.Array(CommandProviderOptions, { default: [] }),
  /** Providers supplied by an embedder (objects implementing AgentProvider). */
  providers: Type.Array(Type.Unsafe<AgentProvider>({}), { default: [] }),
  /** How long a stopped agent gets between SIGTERM and SIGKILL. */
  stopTimeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 3000 }),
  /** Longest stdout line accepted from an agent (longer lines are dropped with a warning). */
  maxLineBytes: Type.Integer({ minimum: 1024, default: 32 * 1024 * 1024 }),
  /** Bytes of the running turn's events kept for reconnecting clients (get_chat_snapshot `live`). */
  liveBufferBytes: Type.Integer({ minimum: 0, default: 16 * 1024 * 1024 }),
  /**
   * A connection whose socket holds more unsent bytes than this gets no agent events until it
   * drains (it sees a `seq` gap and recovers with get_chat_snapshot), so a stalled client
   * cannot grow server memory without bound.
   */
  maxBufferedBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
  /** Steering messages queued per chat session at most. */
  maxQueueDepth: Type.Integer({ minimum: 1, default: 32 }),
  /** Record a git checkpoint of the worktree after every turn. */
  checkpoints: Type.Boolean({ default: true }),
}, { additionalProperties: false })
export type AgentsOptions = Static<typeof AgentsOptions>

export const AGENTS_OPTIONS = token<AgentsOptions>('AgentsOptions')
