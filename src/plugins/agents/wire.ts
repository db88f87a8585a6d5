// The agents plugin's side of the wire: every domain event becomes one Claudette wire event here
// and nowhere else. Each chat session's events are numbered (`seq`), the running turn's are
// recorded for get_chat_snapshot's `live` (so a reconnecting client recovers it without a gap),
// and a client whose socket buffer is over maxBufferedBytes is skipped until it drains.
import type { FastifyBaseLogger } from 'fastify'
import type { Disposable } from '../../core/lifecycle.js'
import type { ConnectionHub } from '../../core/rpc/hub.js'
import { sortKeys } from '../../core/rpc/serialize.js'
import type { AgentDomainEvent, AgentEventSink, AgentOutput } from './events.js'
import type { AgentsOptions } from './options.js'
import { toWireStreamEvent } from './stream.js'
import { AGENT_PERMISSION_PROMPT_EVENT, AGENT_STREAM_EVENT, CHECKPOINT_CREATED_EVENT, type LiveEvent } from './types.js'

/** Our addition: tells every device that a prompt was answered (possibly from another device). */
export const AGENT_PERMISSION_RESOLVED_EVENT = 'agent-permission-resolved'

/** A chat session's event sequence and the recorded events of its running turn. */
interface TurnRecord { seq: number, events: LiveEvent[], bytes: number, complete: boolean }

/** What get_chat_snapshot reports as `live` (without `running` and `turn_message_id`). */
export interface RecordedTurn { readonly complete: boolean, readonly events: LiveEvent[], readonly seq: number }

export class AgentWire implements AgentEventSink, Disposable {
  readonly #records = new Map<string, TurnRecord>()
  /** Connections currently skipped because their socket buffer is over maxBufferedBytes. */
  readonly #lagging = new Set<number>()
  readonly #onClosed: Disposable
  #disposed = false

  constructor (
    private readonly hub: ConnectionHub,
    private readonly limits: Pick<AgentsOptions, 'liveBufferBytes' | 'maxBufferedBytes'>,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#onClosed = hub.onClosed(c => { this.#lagging.delete(c.id) })
  }

  /** Broadcasts an event to every authenticated connection and records it for recovery. */
  publish (e: AgentDomainEvent): void {
    if (this.#disposed) return
    const { event, payload: at } = toWire(e)
    const r = this.#record(e.chatSessionId)
    const seq = ++r.seq
    const payload = at(seq)
    const size = JSON.stringify(payload).length
    if (r.complete && r.bytes + size <= this.limits.liveBufferBytes) {
      r.events.push({ event, payload: payload as LiveEvent['payload'] })
      r.bytes += size
    } else if (r.complete) {
      r.complete = false
      r.events = []
      r.bytes = 0
    }
    this.hub.broadcast(event, payload, c => {
      if (c.bufferedAmount <= this.limits.maxBufferedBytes) { this.#lagging.delete(c.id); return true }
      if (!this.#lagging.has(c.id)) {
        this.#lagging.add(c.id)
        this.log.warn({ connectionId: c.id, bufferedAmount: c.bufferedAmount }, 'client is not reading; agent events skipped until it drains')
      }
      return false
    })
  }

  /** The recorded events restart with each turn; the sequence keeps counting. */
  turnStarted (chatSessionId: string): void {
    reset(this.#record(chatSessionId))
  }

  turnEnded (chatSessionId: string): void {
    const r = this.#records.get(chatSessionId)
    if (r) reset(r)
  }

  recorded (chatSessionId: string): RecordedTurn {
    const r = this.#record(chatSessionId)
    return { complete: r.complete, events: [...r.events], seq: r.seq }
  }

  /** The chat session is archived: its sequence starts again from 0. */
  forget (chatSessionId: string): void { this.#records.delete(chatSessionId) }

  /** Nothing is sent after this. */
  dispose (): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#onClosed.dispose()
  }

  #record (chatSessionId: string): TurnRecord {
    let r = this.#records.get(chatSessionId)
    if (!r) { r = { seq: 0, events: [], bytes: 0, complete: true }; this.#records.set(chatSessionId, r) }
    return r
  }
}

function reset (r: TurnRecord): void {
  r.events = []
  r.bytes = 0
  r.complete = true
}

/**
 * The wire form of a domain event, given its `seq` (the agent's output is converted first, so an
 * output that cannot be converted takes no number). Keys in alphabetical order, like the reference's serde_json
 * output. Every payload carries the chat session id under both keys (desktop reads
 * chat_session_id, mobile session_id).
 */
function toWire (e: AgentDomainEvent): { event: string, payload: (seq: number) => Record<string, unknown> } {
  const chat = e.chatSessionId
  const ids = (seq: number) => ({ chat_session_id: chat, seq, session_id: chat, workspace_id: e.workspaceId })
  switch (e.type) {
    case 'output': {
      const event = wireOutput(e.output)
      return { event: AGENT_STREAM_EVENT, payload: seq => ({ chat_session_id: chat, event, seq, session_id: chat, workspace_id: e.workspaceId }) }
    }
    case 'permission-prompt':
      return {
        event: AGENT_PERMISSION_PROMPT_EVENT,
        payload: seq => sortKeys({ ...ids(seq), input: e.input, request_id: e.requestId, tool_name: e.toolName, tool_use_id: e.toolUseId }),
      }
    case 'permission-resolved':
      return { event: AGENT_PERMISSION_RESOLVED_EVENT, payload: seq => sortKeys({ ...ids(seq), behavior: e.behavior, tool_use_id: e.toolUseId }) }
    case 'checkpoint-created':
      return { event: CHECKPOINT_CREATED_EVENT, payload: seq => sortKeys({ ...ids(seq), checkpoint: e.checkpoint }) }
  }
}

function wireOutput (o: AgentOutput): Record<string, unknown> {
  switch (o.kind) {
    case 'stream': return { Stream: toWireStreamEvent(o.message) }
    case 'stderr': return { Stderr: o.line }
    case 'exited': return { ProcessExited: o.code }
  }
}
