// The [A] methods of claudette-wire.md §6. Parameters follow the reference: the chat session id
// is `chat_session_id` with the legacy `session_id` as fallback; unknown keys are ignored;
// nullable values (model, effort, backend_id, …) may be null.
import { defineMethod, type AnyRpcMethod } from '../../core/rpc/registry.js'
import {
  ChatIdParams, CreateChatSessionParams, GetChatSnapshotParams, ListChatSessionsParams, RenameChatSessionParams, SendChatMessageParams,
  SteerQueuedChatMessageParams, SubmitAgentAnswerParams, SubmitApprovalParams,
} from '../../protocol/index.js'
import type { AgentsOptions } from './options.js'
import type { ChatAgents, PermissionLevel, TurnSettings } from './types.js'

const chatId = (p: { chat_session_id?: string, session_id?: string }): string => p.chat_session_id ?? p.session_id ?? ''

export const DEFAULT_SNAPSHOT_LIMIT = 50
export const MAX_SNAPSHOT_LIMIT = 200

/** `limit`: an integer clamped to 1..200; anything that is not an integer counts as missing. */
export const clampLimit = (v: unknown): number =>
  typeof v === 'number' && Number.isInteger(v) ? Math.min(MAX_SNAPSHOT_LIMIT, Math.max(1, v)) : DEFAULT_SNAPSHOT_LIMIT

/** `permission_level` → PermissionLevel ("full" = bypass, "standard", anything else = read-only). */
export function permissionLevel (raw: string | null | undefined, opts: Pick<AgentsOptions, 'defaultPermissionLevel' | 'allowBypassPermissions'>): PermissionLevel {
  const level = raw ?? opts.defaultPermissionLevel
  if (level === 'full') return opts.allowBypassPermissions ? 'bypass' : 'standard'
  if (level === 'standard') return 'standard'
  return 'readonly'
}

/** `answers`: an object of strings; any other value becomes {} (as the reference does). */
const toAnswers = (v: unknown): Record<string, string> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(x => typeof x === 'string') ? v as Record<string, string> : {}

export function agentMethods (registry: ChatAgents, opts: AgentsOptions, providerKinds: ReadonlySet<string>): AnyRpcMethod[] {
  return [
    defineMethod({
      name: 'load_chat_history',
      params: ChatIdParams,
      handler: p => registry.history(chatId(p)),
    }),
    defineMethod({
      name: 'load_completed_turns',
      params: ChatIdParams,
      handler: p => registry.completedTurns(chatId(p)),
    }),
    defineMethod({
      name: 'get_chat_snapshot',
      params: GetChatSnapshotParams,
      handler: p => registry.snapshot(chatId(p), clampLimit(p.limit), p.before_message_id ?? p.beforeMessageId ?? null),
    }),
    defineMethod({
      name: 'list_chat_sessions',
      params: ListChatSessionsParams,
      handler: p => registry.listSessions(p.workspace_id, p.include_archived),
    }),
    defineMethod({
      name: 'get_chat_session',
      params: ChatIdParams,
      handler: p => registry.getSession(chatId(p)),
    }),
    defineMethod({
      name: 'create_chat_session',
      params: CreateChatSessionParams,
      handler: p => registry.createSession(p.workspace_id),
    }),
    defineMethod({
      name: 'rename_chat_session',
      params: RenameChatSessionParams,
      handler: p => { registry.renameSession(chatId(p), p.name); return null },
    }),
    defineMethod({
      name: 'archive_chat_session',
      params: ChatIdParams,
      handler: p => registry.archiveSession(chatId(p)),
    }),
    defineMethod({
      name: 'send_chat_message',
      params: SendChatMessageParams,
      handler: async (p, ctx) => {
        const backend = p.backend_id ?? null
        let provider = opts.defaultProvider
        if (backend && backend !== 'anthropic') {
          if (providerKinds.has(backend)) provider = backend
          else ctx.log.warn({ backendId: backend }, 'unknown backend_id, using the default agent provider')
        }
        const settings: TurnSettings = {
          permissionLevel: permissionLevel(p.permission_level, opts),
          model: p.model || null,
          planMode: p.plan_mode ?? false,
          effort: p.effort || null,
          fastMode: p.fast_mode ?? false,
          thinkingEnabled: p.thinking_enabled ?? false,
          chromeEnabled: p.chrome_enabled ?? false,
          disable1mContext: p.disable_1m_context ?? false,
          provider,
        }
        const origin = { sessionId: ctx.session.id, device: ctx.session.name, remoteAddress: ctx.connection.remoteAddress }
        await registry.send({ chatSessionId: chatId(p), content: p.content, mentionedFiles: p.mentioned_files ?? [], settings, origin })
        return null
      },
    }),
    defineMethod({
      name: 'steer_queued_chat_message',
      params: SteerQueuedChatMessageParams,
      handler: p => registry.steer(chatId(p), p.content),
    }),
    defineMethod({
      name: 'stop_agent',
      params: ChatIdParams,
      handler: async (p, ctx) => {
        await registry.stop(chatId(p), { sessionId: ctx.session.id, device: ctx.session.name, remoteAddress: ctx.connection.remoteAddress })
        return null
      },
    }),
    defineMethod({
      name: 'reset_agent_session',
      params: ChatIdParams,
      handler: async p => { await registry.reset(chatId(p)); return null },
    }),
    defineMethod({
      name: 'submit_agent_answer',
      params: SubmitAgentAnswerParams,
      handler: async p => { await registry.answer(chatId(p), p.tool_use_id, toAnswers(p.answers), p.annotations); return null },
    }),
    ...(['submit_plan_approval', 'submit_agent_approval'] as const).map(name => defineMethod({
      name,
      params: SubmitApprovalParams,
      handler: async p => { await registry.approve(chatId(p), p.tool_use_id, p.approved, p.reason ?? undefined, name === 'submit_plan_approval'); return null },
    })),
  ]
}
