// The wire normalisation of stream-json objects (claudette-wire.md §7 StreamEvent).
import t from 'tap'
import { toWireStreamEvent } from '../../../src/plugins/agents/stream.js'

const wire = (o: Record<string, unknown>): any => toWireStreamEvent(o)

t.test('system events carry every field, null when unset', async t => {
  const e = wire({ type: 'system', subtype: 'init', session_id: 's', cwd: '/x', tools: [] })
  t.same(Object.keys(e), ['command_line', 'compact_metadata', 'compact_result', 'description', 'detail', 'last_tool_name', 'output_file',
    'session_id', 'state', 'status', 'subtype', 'summary', 'task_id', 'tool_use_id', 'type', 'usage'])
  t.equal(e.session_id, 's')
  t.equal(e.command_line, null)
  const p = wire({ type: 'system', subtype: 'task_progress', usage: { total_tokens: 3 }, workflow_progress: [{ type: 'workflow_phase' }] })
  t.same(p.usage, { duration_ms: null, tool_uses: null, total_tokens: 3 })
  t.same(p.workflow_progress, [{ type: 'workflow_phase' }])
})

t.test('stream_event inner types, unknown tags as "Unknown"', async t => {
  t.same(wire({ type: 'stream_event', event: { type: 'message_start', message: { id: 'm' } } }), { event: { type: 'message_start' }, type: 'stream_event' })
  t.same(wire({ type: 'stream_event', event: { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'Bash', input: {} } } }).event,
    { content_block: { id: 't', input: {}, name: 'Bash', type: 'tool_use' }, index: 1, type: 'content_block_start' })
  t.same(wire({ type: 'stream_event', event: { type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use' } } }).event.content_block, { type: 'Unknown' })
  t.same(wire({ type: 'stream_event', event: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"a' } } }).event.delta,
    { partial_json: '{"a', type: 'input_json_delta' })
  t.same(wire({ type: 'stream_event', event: { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta' } } }).event.delta, { type: 'Unknown' })
  t.same(wire({ type: 'stream_event', event: { type: 'message_delta', usage: { input_tokens: 1, output_tokens: 2 } } }).event,
    { type: 'message_delta', usage: { cache_creation_input_tokens: null, cache_read_input_tokens: null, input_tokens: 1, output_tokens: 2 } })
  t.same(wire({ type: 'stream_event', event: { type: 'ping' } }).event, { type: 'Unknown' })
  t.same(wire({ type: 'rate_limit_event' }), { type: 'Unknown' })
})

t.test('assistant, user, result, control messages', async t => {
  t.same(wire({ type: 'assistant', message: { content: [{ type: 'text', text: 'hi' }, { type: 'tool_use', id: 't', name: 'Read', input: { a: 1 } }, { type: 'image' }] } }),
    { message: { content: [{ text: 'hi', type: 'text' }, { id: 't', name: 'Read', type: 'tool_use' }, { type: 'Unknown' }] }, type: 'assistant' })
  t.same(wire({ type: 'user', message: { content: 'plain' }, isSynthetic: true }),
    { isReplay: false, isSynthetic: true, message: { content: 'plain' }, type: 'user', uuid: null })
  t.same(wire({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }] }, uuid: 'u' }).message.content,
    [{ content: 'ok', tool_use_id: 't', type: 'tool_result' }])
  t.same(wire({ type: 'result', subtype: 'success', result: 'r', total_cost_usd: 0.5, duration_ms: 12.7, usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } }),
    { duration_ms: 12, result: 'r', subtype: 'success', total_cost_usd: 0.5, type: 'result', usage: { cache_creation_input_tokens: null, cache_read_input_tokens: null, input_tokens: 1, output_tokens: 2, total_tokens: 3 } })
  t.same(wire({ type: 'control_request', request_id: 'r', request: { subtype: 'can_use_tool', tool_name: 'Bash', tool_use_id: 't', input: { command: 'ls' } } }),
    { request: { input: { command: 'ls' }, subtype: 'can_use_tool', tool_name: 'Bash', tool_use_id: 't' }, request_id: 'r', type: 'control_request' })
  t.same(wire({ type: 'control_request', request_id: 'r', request: { subtype: 'interrupt' } }).request, { subtype: 'Unknown' })
  t.same(wire({ type: 'control_response', response: { subtype: 'success', request_id: 'r' } }),
    { response: { error: null, message: null, request_id: 'r', response: null, subtype: 'success' }, type: 'control_response' })
})
