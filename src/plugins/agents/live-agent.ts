// A chat session's live agent: one process kept alive across turns, as the reference does. It
// owns the process and its subscription, the events not handled yet, the messages queued behind
// the running turn, the pending prompts and the current turn. dispose() clears all of it.
import type { FastifyBaseLogger } from 'fastify'
import type { Disposable } from '../../core/lifecycle.js'
import type { TurnCheckpoints } from './checkpoints.js'
import { AgentNoPendingRequestError, AgentWrongToolError } from './errors.js'
import type { AgentEventSink, AgentOutput, PromptResolution } from './events.js'
import { attentionKind, pendingControls, type PendingPrompt, type PromptKind } from './prompts.js'
import { isObj } from './stream.js'
import { AgentTurn } from './turn.js'
import type { AgentAnswer, AgentEvent, AgentOrigin, AgentSession, ChatStore, PendingControl, TurnSettings } from './types.js'

/** What the CLI prints on stderr when `--resume <id>` names no stored conversation. */
const NO_CONVERSATION = /^No conversation found with session ID/

/** The settings a process is started with: a turn asking for others needs a new process. */
export const settingsKey = (s: TurnSettings): string =>
  JSON.stringify([s.provider, s.permissionLevel, s.planMode, s.effort, s.fastMode, s.thinkingEnabled, s.chromeEnabled, s.disable1mContext])

/** A message for the agent: `prompt` is what it reads, `content` what is saved (null id: not saved yet). */
export interface QueuedMessage {
  readonly prompt: string
  readonly content: string
  readonly userMessageId: string | null
  readonly settings: TurnSettings
  /** Who sent it (for the audit line of the agent it starts). */
  readonly origin?: AgentOrigin | undefined
}

/** What a live agent needs from the registry that owns it. */
export interface LiveAgentContext {
  readonly store: ChatStore
  readonly events: AgentEventSink
  readonly checkpoints: TurnCheckpoints
  readonly log: FastifyBaseLogger
  /** The server is closing: no event is handled any more, nothing touches the database. */
  readonly isClosed: () => boolean
  /** The process exited (always called, also after dispose). */
  readonly onExit: (agent: LiveAgent) => void
  /** A turn ended with its result: the next queued message may go. */
  readonly onTurnEnd: (agent: LiveAgent) => void
}

export interface LiveAgentInit {
  readonly chatSessionId: string
  readonly workspaceId: string
  readonly cwd: string
  readonly settingsKey: string
  /** The model the process is started with (null: the CLI's default). */
  readonly model: string | null
  /** It resumes a conversation the CLI stored before. */
  readonly resumed: boolean
}

export class LiveAgent implements Disposable {
  readonly chatSessionId: string
  readonly workspaceId: string
  readonly cwd: string
  readonly settingsKey: string
  readonly model: string | null
  readonly resumed: boolean
  #session: AgentSession | null = null
  #subscription: Disposable | null = null
  /** Its events are no longer forwarded (dropped or replaced on purpose). */
  #detached = false
  #running = false
  /** stop_agent ended it: its exit is reported without an exit code. */
  #stopped = false
  #gotInit = false
  /** The CLI said the conversation it was told to resume does not exist. */
  #noConversation = false
  readonly #pending = new Map<string, PendingPrompt>()
  readonly #queue: QueuedMessage[]
  #turn: AgentTurn | null = null
  readonly #events: AgentEvent[] = []
  #draining = false

  constructor (init: LiveAgentInit, queue: QueuedMessage[], private readonly ctx: LiveAgentContext) {
    this.chatSessionId = init.chatSessionId
    this.workspaceId = init.workspaceId
    this.cwd = init.cwd
    this.settingsKey = init.settingsKey
    this.model = init.model
    this.resumed = init.resumed
    this.#queue = queue
  }

  get running (): boolean { return this.#running }
  get detached (): boolean { return this.#detached }
  get session (): AgentSession | null { return this.#session }
  /** The process is started and has not exited. */
  get alive (): boolean { return this.#session?.snapshot().alive ?? false }
  /** The running turn's user message. */
  get turnMessageId (): string | null { return (this.#running ? this.#turn?.userMessageId : null) ?? null }

  // --- the process -----------------------------------------------------------------------------

  /** The started process becomes this agent's: its events are handled from now on. */
  attach (session: AgentSession): void {
    this.#session = session
    this.#subscription = session.onEvent(ev => this.#enqueue(ev))
  }

  /** The process could not be started (or take the first turn's prompt). */
  startFailed (): void {
    this.#running = false
    this.ctx.events.turnEnded(this.chatSessionId)
  }

  /** Writes a turn's prompt to the process. */
  async send (q: QueuedMessage): Promise<void> {
    await this.#session!.send({ content: q.prompt })
  }

  // --- turns and the queue -----------------------------------------------------------------------

  /** A turn starts: its user message is saved now unless it was already (send_chat_message). */
  beginTurn (q: QueuedMessage): void {
    const { store } = this.ctx
    this.#running = true
    const userMessageId = q.userMessageId ??
      store.insertMessage({ workspace_id: this.workspaceId, chat_session_id: this.chatSessionId, role: 'User', content: q.content }).id
    this.#turn = new AgentTurn(userMessageId, store, this.chatSessionId, this.workspaceId)
    store.bumpTurnCount(this.chatSessionId)
    this.ctx.events.turnStarted(this.chatSessionId)
  }

  get queueDepth (): number { return this.#queue.length }
  /** The settings of the last queued message (a steering message inherits them). */
  get lastQueuedSettings (): TurnSettings | undefined { return this.#queue.at(-1)?.settings }
  enqueue (q: QueuedMessage): void { this.#queue.push(q) }
  dequeue (): QueuedMessage | undefined { return this.#queue.shift() }
  /** Empties the queue and returns what it held (carried over to a new process). */
  takeQueue (): QueuedMessage[] { return this.#queue.splice(0) }

  // --- prompts -----------------------------------------------------------------------------------

  get needsAttention (): boolean { return this.#pending.size > 0 }
  get attentionKind (): 'Plan' | 'Ask' | null { return attentionKind(this.#pending) }
  pendingControls (): PendingControl[] { return pendingControls(this.#pending) }

  /** Removes and returns the prompt `toolUseId` if `kind` may answer it. */
  takePrompt (toolUseId: string, kind: PromptKind): PendingPrompt {
    const pending = this.#pending.get(toolUseId)
    if (!pending) throw new AgentNoPendingRequestError(toolUseId, [...this.#pending.keys()])
    if (!kind.accepts(pending.toolName)) throw new AgentWrongToolError(toolUseId, pending.toolName, kind.expected)
    this.#pending.delete(toolUseId)
    return pending
  }

  /** Tells every device the prompt is answered, then answers the process. */
  async reply (toolUseId: string, pending: PendingPrompt, reply: AgentAnswer): Promise<void> {
    this.#resolved(toolUseId, reply.behavior)
    await this.#session!.answer(pending.requestId, reply)
  }

  // --- ending --------------------------------------------------------------------------------------

  /** stop_agent: the exit is still reported, as {"ProcessExited": null}. Resolves after the exit. */
  async stop (): Promise<void> {
    this.#cancelPending()
    this.#queue.length = 0
    this.#stopped = true
    await this.#session?.dispose()
  }

  /** Ends the agent without reporting its exit; its prompts are cancelled and its queue dropped. */
  async dispose (): Promise<void> {
    if (this.#detached) return
    this.#detached = true
    this.#cancelPending()
    this.#queue.length = 0
    this.ctx.events.turnEnded(this.chatSessionId)
    await this.#session?.dispose()
  }

  // --- the process's events -----------------------------------------------------------------------

  #enqueue (ev: AgentEvent): void {
    if (this.#detached && ev.type !== 'exit') return
    this.#events.push(ev)
    if (!this.#draining) void this.#drain()
  }

  async #drain (): Promise<void> {
    this.#draining = true
    try {
      while (this.#events.length > 0) {
        const ev = this.#events.shift()!
        try { await this.#handle(ev) } catch (err) { this.ctx.log.error({ err, chatSessionId: this.chatSessionId }, 'agent event handling failed') }
      }
    } finally { this.#draining = false }
  }

  /** Reports the agent's output to every device. */
  output (output: AgentOutput): void {
    this.ctx.events.publish({ type: 'output', chatSessionId: this.chatSessionId, workspaceId: this.workspaceId, output })
  }

  #resolved (toolUseId: string, behavior: PromptResolution): void {
    this.ctx.events.publish({ type: 'permission-resolved', chatSessionId: this.chatSessionId, workspaceId: this.workspaceId, toolUseId, behavior })
  }

  /** Drops every pending prompt; devices learn it through agent-permission-resolved `cancelled`. */
  #cancelPending (): void {
    const ids = [...this.#pending.keys()]
    this.#pending.clear()
    for (const id of ids) this.#resolved(id, 'cancelled')
  }

  async #handle (ev: AgentEvent): Promise<void> {
    const { ctx } = this
    if (ctx.isClosed()) return
    if (ev.type === 'exit') {
      ctx.onExit(this)
      this.#subscription?.dispose()
      if (this.#detached) return
      // Died before its init. A new conversation was never written: start fresh next time. A
      // resumed one is kept (Claude Code prints init only after reading a turn, so a start-up
      // failure says nothing about it) unless the CLI said it does not exist.
      if (!this.#gotInit && (!this.resumed || this.#noConversation)) ctx.store.setAgentSessionId(this.chatSessionId, null)
      ctx.log.debug({ chatSessionId: this.chatSessionId, code: ev.code, signal: ev.signal, stopped: this.#stopped }, 'agent exited')
      this.#running = false
      this.#cancelPending()
      this.#queue.length = 0
      // A stop reports no exit code, whatever the process made of SIGTERM (Claude Code exits 143).
      this.output({ kind: 'exited', code: this.#stopped ? null : ev.code })
      ctx.events.turnEnded(this.chatSessionId)
      return
    }
    if (this.#detached) return
    if (ev.type === 'stderr') {
      if (this.resumed && !this.#gotInit && NO_CONVERSATION.test(ev.line)) this.#noConversation = true
      this.output({ kind: 'stderr', line: ev.line })
      return
    }
    const m = ev.message
    const turn = this.#turn
    switch (m.type) {
      case 'system':
        if (m.subtype === 'init') {
          this.#gotInit = true
          if (typeof m.session_id === 'string' && m.session_id) ctx.store.setAgentSessionId(this.chatSessionId, m.session_id)
        }
        break
      case 'control_request': {
        const r = isObj(m.request) ? m.request : {}
        if (r.subtype === 'can_use_tool' && typeof r.tool_use_id === 'string' && typeof m.request_id === 'string') {
          const toolName = typeof r.tool_name === 'string' ? r.tool_name : ''
          this.#pending.set(r.tool_use_id, { requestId: m.request_id, toolName, input: r.input ?? null })
          // The prompt goes before the stream event that carries the same request.
          ctx.events.publish({
            type: 'permission-prompt', chatSessionId: this.chatSessionId, workspaceId: this.workspaceId,
            input: r.input ?? null, requestId: m.request_id, toolName, toolUseId: r.tool_use_id,
          })
        }
        break
      }
      case 'control_cancel_request': {
        // The CLI withdrew a prompt (the tool call was aborted): every device closes its dialog.
        for (const [toolUseId, p] of this.#pending) {
          if (p.requestId !== m.request_id) continue
          this.#pending.delete(toolUseId)
          this.#resolved(toolUseId, 'cancelled')
        }
        break
      }
      case 'stream_event':
        turn?.onStreamEvent(m)
        break
      case 'assistant':
        turn?.onAssistant(m)
        break
      case 'user':
        turn?.onUser(m)
        break
      case 'result':
        // The turn stays running until its result event is out: a message that arrives while the
        // checkpoint is written waits in the queue instead of starting a turn this one would end.
        if (turn) await this.#endTurn(turn, m)
        if (ctx.isClosed()) return
        break
    }
    this.output({ kind: 'stream', message: m })
    if (m.type === 'result') {
      this.#running = false
      this.#turn = null
      ctx.events.turnEnded(this.chatSessionId)
      ctx.onTurnEnd(this)
    }
  }

  async #endTurn (turn: AgentTurn, m: Record<string, unknown>): Promise<void> {
    turn.onResult(m)
    const cp = await this.ctx.checkpoints.record({
      chatSessionId: this.chatSessionId,
      workspaceId: this.workspaceId,
      cwd: this.cwd,
      messageId: turn.messageId,
      activities: turn.toolActivities(),
    }, this.ctx.isClosed)
    if (cp) this.ctx.events.publish({ type: 'checkpoint-created', chatSessionId: this.chatSessionId, workspaceId: this.workspaceId, checkpoint: cp })
  }
}
