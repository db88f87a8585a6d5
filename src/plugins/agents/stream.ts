// Normalises one stream-json object into the wire's StreamEvent (claudette-wire.md §7): the
// shape the reference re-serialises after parsing, so Claudette clients see the fields they
// expect (system fields always present, unknown tags as the string "Unknown").
type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => typeof v === 'string' ? v : null
const int = (v: unknown): number | null => typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null
const num = (v: unknown): number | null => typeof v === 'number' && Number.isFinite(v) ? v : null
const UNKNOWN = { type: 'Unknown' } as const

function usage (u: unknown): Obj | null {
  if (!isObj(u)) return null
  const out: Obj = {
    cache_creation_input_tokens: int(u.cache_creation_input_tokens),
    cache_read_input_tokens: int(u.cache_read_input_tokens),
    input_tokens: int(u.input_tokens) ?? 0,
  }
  if (int(u.model_context_window) !== null) out.model_context_window = int(u.model_context_window)
  out.output_tokens = int(u.output_tokens) ?? 0
  if (int(u.total_tokens) !== null) out.total_tokens = int(u.total_tokens)
  if (Array.isArray(u.iterations)) out.iterations = u.iterations.filter(isObj).map(usage)
  return out
}

function taskUsage (u: unknown): Obj | null {
  if (!isObj(u)) return null
  return { duration_ms: int(u.duration_ms), tool_uses: int(u.tool_uses), total_tokens: int(u.total_tokens) }
}

function compactMetadata (m: unknown): Obj | null {
  if (!isObj(m)) return null
  return { ...m }
}

function system (e: Obj): Obj {
  const out: Obj = {
    command_line: str(e.command_line),
    compact_metadata: compactMetadata(e.compact_metadata),
    compact_result: str(e.compact_result),
    description: str(e.description),
    detail: str(e.detail),
    last_tool_name: str(e.last_tool_name),
    output_file: str(e.output_file),
    session_id: str(e.session_id),
    state: str(e.state),
    status: str(e.status),
    subtype: str(e.subtype) ?? '',
    summary: str(e.summary),
    task_id: str(e.task_id),
    tool_use_id: str(e.tool_use_id),
    type: 'system',
    usage: taskUsage(e.usage),
  }
  if (Array.isArray(e.workflow_progress)) out.workflow_progress = e.workflow_progress
  return out
}

function startBlock (b: unknown): Obj | null {
  if (!isObj(b)) return null
  switch (b.type) {
    case 'tool_use': {
      const out: Obj = { id: str(b.id) ?? '' }
      if (b.input !== undefined && b.input !== null) out.input = b.input
      out.name = str(b.name) ?? ''
      out.type = 'tool_use'
      return out
    }
    case 'text': return { type: 'text' }
    case 'thinking': return { type: 'thinking' }
    default: return UNKNOWN
  }
}

function delta (d: unknown): Obj {
  if (!isObj(d)) return UNKNOWN
  switch (d.type) {
    case 'text_delta': return { text: str(d.text) ?? '', type: 'text_delta' }
    case 'tool_use_delta':
    case 'input_json_delta': return { partial_json: str(d.partial_json), type: d.type }
    case 'thinking_delta': return { thinking: str(d.thinking) ?? '', type: 'thinking_delta' }
    default: return UNKNOWN
  }
}

function inner (e: unknown): Obj {
  if (!isObj(e)) return UNKNOWN
  switch (e.type) {
    case 'message_start': return { type: 'message_start' }
    case 'content_block_start': return { content_block: startBlock(e.content_block), index: int(e.index) ?? 0, type: 'content_block_start' }
    case 'content_block_delta': return { delta: delta(e.delta), index: int(e.index) ?? 0, type: 'content_block_delta' }
    case 'content_block_stop': return { index: int(e.index) ?? 0, type: 'content_block_stop' }
    case 'message_delta': return { type: 'message_delta', usage: usage(e.usage) }
    case 'message_stop': return { type: 'message_stop' }
    default: return UNKNOWN
  }
}

function assistantBlock (b: unknown): Obj {
  if (!isObj(b)) return UNKNOWN
  switch (b.type) {
    case 'text': return { text: str(b.text) ?? '', type: 'text' }
    case 'thinking': return { thinking: str(b.thinking) ?? '', type: 'thinking' }
    case 'tool_use': return { id: str(b.id) ?? '', name: str(b.name) ?? '', type: 'tool_use' }
    default: return UNKNOWN
  }
}

function userBlock (b: unknown): Obj {
  if (!isObj(b)) return UNKNOWN
  switch (b.type) {
    case 'text': return { text: str(b.text) ?? '', type: 'text' }
    case 'tool_result': return { content: b.content ?? null, tool_use_id: str(b.tool_use_id) ?? '', type: 'tool_result' }
    default: return UNKNOWN
  }
}

/** The wire StreamEvent for one stream-json object. */
export function toWireStreamEvent (e: Obj): Obj {
  switch (e.type) {
    case 'system': return system(e)
    case 'stream_event': return { event: inner(e.event), type: 'stream_event' }
    case 'assistant': {
      const msg = isObj(e.message) ? e.message : {}
      const content = Array.isArray(msg.content) ? msg.content.map(assistantBlock) : []
      return { message: { content }, type: 'assistant' }
    }
    case 'result': return {
      duration_ms: int(e.duration_ms),
      result: str(e.result),
      subtype: str(e.subtype) ?? '',
      total_cost_usd: num(e.total_cost_usd),
      type: 'result',
      usage: usage(e.usage),
    }
    case 'user': {
      const msg = isObj(e.message) ? e.message : {}
      const content = typeof msg.content === 'string' ? msg.content : Array.isArray(msg.content) ? msg.content.map(userBlock) : []
      return { isReplay: e.isReplay === true, isSynthetic: e.isSynthetic === true, message: { content }, type: 'user', uuid: str(e.uuid) }
    }
    case 'control_request': {
      const r = isObj(e.request) ? e.request : {}
      const request = r.subtype === 'can_use_tool'
        ? { input: r.input ?? null, subtype: 'can_use_tool', tool_name: str(r.tool_name) ?? '', tool_use_id: str(r.tool_use_id) ?? '' }
        : { subtype: 'Unknown' }
      return { request, request_id: str(e.request_id) ?? '', type: 'control_request' }
    }
    case 'control_response': {
      const r = isObj(e.response) ? e.response : {}
      return {
        response: { error: str(r.error), message: str(r.message), request_id: str(r.request_id) ?? '', response: r.response ?? null, subtype: str(r.subtype) ?? '' },
        type: 'control_response',
      }
    }
    default: return UNKNOWN
  }
}

// Helpers the registry uses to persist a turn.

/** Text of an assistant message (text blocks joined). */
export function assistantText (e: Obj): string {
  const msg = isObj(e.message) ? e.message : {}
  if (!Array.isArray(msg.content)) return ''
  return msg.content.filter(isObj).filter(b => b.type === 'text' && typeof b.text === 'string').map(b => b.text as string).join('')
}

export function assistantThinking (e: Obj): string | null {
  const msg = isObj(e.message) ? e.message : {}
  if (!Array.isArray(msg.content)) return null
  const t = msg.content.filter(isObj).filter(b => b.type === 'thinking' && typeof b.thinking === 'string').map(b => b.thinking as string).join('')
  return t || null
}

export interface ToolUse { id: string, name: string, input: unknown }
export function assistantToolUses (e: Obj): ToolUse[] {
  const msg = isObj(e.message) ? e.message : {}
  if (!Array.isArray(msg.content)) return []
  return msg.content.filter(isObj).filter(b => b.type === 'tool_use' && typeof b.id === 'string')
    .map(b => ({ id: b.id as string, name: str(b.name) ?? '', input: b.input ?? null }))
}

export interface ToolResult { toolUseId: string, text: string }
export function userToolResults (e: Obj): ToolResult[] {
  const msg = isObj(e.message) ? e.message : {}
  if (!Array.isArray(msg.content)) return []
  return msg.content.filter(isObj).filter(b => b.type === 'tool_result' && typeof b.tool_use_id === 'string').map(b => ({
    toolUseId: b.tool_use_id as string,
    text: typeof b.content === 'string'
      ? b.content
      : Array.isArray(b.content) ? b.content.filter(isObj).map(c => typeof c.text === 'string' ? c.text : '').join('') : '',
  }))
}

export const messageUsage = (e: Obj): Obj | null => isObj(e.event) && e.event.type === 'message_delta' ? usage(e.event.usage) : null
export { isObj }
