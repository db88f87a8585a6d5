// The agent's questions to the user (`can_use_tool` control requests) and the replies the
// submit_* methods send back: which tool each method may answer, and what it tells the CLI.
import { isObj } from './stream.js'
import type { AgentAnswer, PendingControl } from './types.js'

/** A prompt waiting for a device's answer, keyed by its tool_use_id. */
export interface PendingPrompt { readonly requestId: string, readonly toolName: string, readonly input: unknown }

const PLAN_DENIED = 'Plan denied. Please revise the approach.'
const PLAN_REVISE = '\n\nRevise the plan to address this feedback, then call ExitPlanMode again to present the updated plan for approval. Do not begin implementation until the user approves the revised plan.'
const APPROVAL_TOOLS = new Set(['ExitPlanMode', 'codex_request_approval', 'codex_request_command_approval', 'codex_request_patch_approval'])
/** Tools that talk to the user; every other tool in a can_use_tool request is a permission check. */
const INTERACTION_TOOLS = new Set(['AskUserQuestion', 'ExitPlanMode'])

/** What a submit_* method accepts, and how it names what it does not. */
export interface PromptKind { readonly accepts: (toolName: string) => boolean, readonly expected: string }

export const QUESTION: PromptKind = { accepts: t => t === 'AskUserQuestion', expected: 'not AskUserQuestion' }

/**
 * submit_plan_approval (`planOnly`) and submit_agent_approval. Besides the reference's approval
 * tools, submit_agent_approval answers any other tool's permission check (Bash, MCP, …), which
 * the safe default permission level routes to the user.
 */
export const approvalKind = (planOnly: boolean): PromptKind => ({
  accepts: planOnly ? t => t === 'ExitPlanMode' : t => APPROVAL_TOOLS.has(t) || !INTERACTION_TOOLS.has(t),
  expected: 'not an approval request accepted by this handler',
})

/** An AskUserQuestion's answer: the original input plus `answers` (and `annotations`). */
export function answerReply (pending: PendingPrompt, answers: Record<string, string>, annotations: unknown): AgentAnswer {
  const input: Record<string, unknown> = isObj(pending.input) ? { ...pending.input } : {}
  input.answers = answers
  if (annotations !== undefined) input.annotations = annotations
  return { behavior: 'allow', updatedInput: input }
}

export function approvalReply (pending: PendingPrompt, approved: boolean, reason: string | undefined): AgentAnswer {
  // No updatedInput: nothing was edited (Claude Code would tell the model the user edited it).
  if (approved) return { behavior: 'allow' }
  if (APPROVAL_TOOLS.has(pending.toolName)) return { behavior: 'deny', message: `${reason ?? PLAN_DENIED}${PLAN_REVISE}` }
  return { behavior: 'deny', message: reason ?? `The user denied permission to use ${pending.toolName}.` }
}

/** get_chat_snapshot's `pending_controls`, ordered by tool_use_id. */
export function pendingControls (pending: ReadonlyMap<string, PendingPrompt>): PendingControl[] {
  return [...pending.entries()].map(([id, p]) => ({
    input: p.input,
    kind: p.toolName === 'AskUserQuestion' ? 'ask_user_question' as const : p.toolName === 'ExitPlanMode' ? 'exit_plan_mode' as const : 'unknown' as const,
    tool_name: p.toolName,
    tool_use_id: id,
  })).sort((a, b) => a.tool_use_id < b.tool_use_id ? -1 : a.tool_use_id > b.tool_use_id ? 1 : 0)
}

/** The session's `attention_kind`: a plan to approve wins over a question. */
export function attentionKind (pending: ReadonlyMap<string, PendingPrompt>): 'Plan' | 'Ask' | null {
  const kinds = [...pending.values()].map(p => p.toolName)
  return kinds.includes('ExitPlanMode') ? 'Plan' : kinds.includes('AskUserQuestion') ? 'Ask' : null
}
