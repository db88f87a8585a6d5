// One turn of a live agent: the user message and what the agent does until its `result`. The
// assistant messages are saved as the CLI prints them; the tool uses and their results are kept
// for the turn's checkpoint.
import { assistantText, assistantThinking, assistantToolUses, isObj, messageUsage, userToolResults } from './stream.js'
import type { ChatStore, NewToolActivity } from './types.js'

interface ToolActivity { toolUseId: string, name: string, input: unknown, result: string, ordinal: number, sort: number }

export class AgentTurn {
  lastAssistantId: string | null = null
  #thinking: string | null = null
  #usage: Record<string, unknown> | null = null
  #assistantCount = 0
  readonly #tools = new Map<string, ToolActivity>()

  constructor (
    readonly userMessageId: string,
    private readonly store: ChatStore,
    private readonly chatSessionId: string,
    private readonly workspaceId: string,
  ) {}

  /** The message the turn's checkpoint points at. */
  get messageId (): string { return this.lastAssistantId ?? this.userMessageId }

  /** A `stream_event`: the usage of the message being streamed (saved with its text). */
  onStreamEvent (m: Record<string, unknown>): void {
    const u = messageUsage(m)
    if (u) this.#usage = u
  }

  onAssistant (m: Record<string, unknown>): void {
    for (const t of assistantToolUses(m)) {
      this.#tools.set(t.id, { toolUseId: t.id, name: t.name, input: t.input, result: '', ordinal: this.#assistantCount, sort: this.#tools.size })
    }
    const thinking = assistantThinking(m)
    if (thinking) this.#thinking = (this.#thinking ?? '') + thinking
    const text = assistantText(m)
    if (!text.trim()) return
    const u = this.#usage
    const msg = this.store.insertMessage({
      workspace_id: this.workspaceId,
      chat_session_id: this.chatSessionId,
      role: 'Assistant',
      content: text,
      thinking: this.#thinking,
      input_tokens: typeof u?.input_tokens === 'number' ? u.input_tokens : null,
      output_tokens: typeof u?.output_tokens === 'number' ? u.output_tokens : null,
      cache_read_tokens: typeof u?.cache_read_input_tokens === 'number' ? u.cache_read_input_tokens : null,
      cache_creation_tokens: typeof u?.cache_creation_input_tokens === 'number' ? u.cache_creation_input_tokens : null,
    })
    this.#thinking = null
    this.#usage = null
    this.lastAssistantId = msg.id
    this.#assistantCount++
  }

  /** A `user` message: the results of the turn's tool uses. */
  onUser (m: Record<string, unknown>): void {
    for (const r of userToolResults(m)) {
      const a = this.#tools.get(r.toolUseId)
      if (a) a.result = r.text
    }
  }

  /** The cost and duration of a `result`, saved on the turn's last assistant message. */
  onResult (m: Record<string, unknown>): void {
    const cost = typeof m.total_cost_usd === 'number' ? m.total_cost_usd : null
    const duration = typeof m.duration_ms === 'number' ? Math.trunc(m.duration_ms) : null
    if (this.lastAssistantId && (cost !== null || duration !== null)) this.store.setMessageCost(this.lastAssistantId, cost, duration)
  }

  toolActivities (): NewToolActivity[] {
    return [...this.#tools.values()].map(a => ({
      tool_use_id: a.toolUseId,
      tool_name: a.name,
      input_json: JSON.stringify(a.input ?? {}),
      result_text: a.result,
      summary: summarize(a.input),
      sort_order: a.sort,
      assistant_message_ordinal: a.ordinal,
    }))
  }
}

function summarize (input: unknown): string {
  if (!isObj(input)) return ''
  for (const k of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description', 'plan']) {
    const v = input[k]
    if (typeof v === 'string' && v) return v.length > 120 ? `${v.slice(0, 117)}...` : v
  }
  return ''
}
