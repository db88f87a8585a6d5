// The AgentRegistry owns the live agent of every chat session: it starts providers, persists the
// turn (messages, checkpoints, tool activities), keeps the pending permission prompts and the
// steer queue, and fans every event out to all authenticated connections with a per-session
// sequence number, recording the running turn so a reconnecting client can recover it.
//
// Concurrency: there is no global lock. Each chat session has its own serial event queue (so a
// checkpoint can be written between the last event of a turn and its `result`), and starting a
// process only awaits that session's own spawn.
import { randomUUID } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import type { Disposable } from '../../core/lifecycle.js'
import { stripControls } from '../../core/text.js'
import { CORE } from '../../core/tokens.js'
import type { ConnectionHub } from '../../core/rpc/hub.js'
import { REPOS, type Repository, type Workspace, type WorkspaceDirectory, type WorkspaceGit } from '../repos/types.js'
import { checkpointRef, commitWorktreeState } from './checkpoints.js'
import {
  AgentEmptySteerError, AgentNoPendingRequestError, AgentNotActiveError, AgentNoWorktreeError, AgentQueueFullError, AgentSessionNotFoundError,
  AgentWorkspaceNotFoundError, AgentWrongToolError, ChatSessionNameEmptyError, ChatSessionNotFoundError,
} from './errors.js'
import { AGENTS_OPTIONS, type AgentsOptions } from './options.js'
import type { AgentStore } from './store.js'
import { sqlNow } from './store.js'
import {
  assistantText, assistantThinking, assistantToolUses, isObj, messageUsage, toWireStreamEvent, userToolResults,
} from './stream.js'
import {
  AGENTS, AGENT_PERMISSION_PROMPT_EVENT, AGENT_STREAM_EVENT, CHECKPOINT_CREATED_EVENT,
  type AgentAnswer, type AgentEvent, type AgentProvider, type AgentSession, type ChatMessage, type ChatSession, type ChatSnapshot, type CompletedTurnData,
  type ConversationCheckpoint, type LiveEvent, type PendingControl, type PermissionLevel,
} from './types.js'

/** Our addition: tells every device that a prompt was answered (possibly from another device). */
export const AGENT_PERMISSION_RESOLVED_EVENT = 'agent-permission-resolved'

const PLAN_DENIED = 'Plan denied. Please revise the approach.'
const PLAN_REVISE = '\n\nRevise the plan to address this feedback, then call ExitPlanMode again to present the updated plan for approval. Do not begin implementation until the user approves the revised plan.'
const APPROVAL_TOOLS = new Set(['ExitPlanMode', 'codex_request_approval', 'codex_request_command_approval', 'codex_request_patch_approval'])
/** Tools that talk to the user; every other tool in a can_use_tool request is a permission check. */
const INTERACTION_TOOLS = new Set(['AskUserQuestion', 'ExitPlanMode'])
/** What Claude Code prints on stderr when `--resume <id>` names no stored conversation. */
const NO_CONVERSATION = /^No conversation found with session ID/
const MENTION_MAX_BYTES = 100 * 1024
const SESSION_NAME_MAX = 60

/** The turn settings a client sends with send_chat_message (already defaulted). */
export interface TurnSettings {
  readonly permissionLevel: PermissionLevel
  readonly model: string | null
  readonly planMode: boolean
  readonly effort: string | null
  readonly fastMode: boolean
  readonly thinkingEnabled: boolean
  readonly chromeEnabled: boolean
  readonly disable1mContext: boolean
  readonly provider: string
}

export interface SendRequest {
  readonly chatSessionId: string
  readonly content: string
  readonly mentionedFiles: readonly string[]
  readonly settings: TurnSettings
}

interface Pending { readonly requestId: string, readonly toolName: string, readonly input: unknown }
interface Queued { readonly prompt: string, readonly content: string, readonly userMessageId: string | null, readonly settings: TurnSettings }
interface ToolActivity { toolUseId: string, name: string, input: unknown, result: string, ordinal: number, sort: number }

interface Turn {
  readonly userMessageId: string
  lastAssistantId: string | null
  thinking: string | null
  usage: Record<string, unknown> | null
  assistantCount: number
  readonly tools: Map<string, ToolActivity>
}

/** A chat session's live agent: one process kept alive across turns, as the reference does. */
interface LiveAgent {
  readonly chatSessionId: string
  readonly workspaceId: string
  readonly cwd: string
  readonly settingsKey: string
  /** The model the process was started with (null: the CLI's default). */
  readonly model: string | null
  readonly providerKind: string
  session: AgentSession | null
  /** Events of this process are no longer forwarded (stopped or replaced on purpose). */
  detached: boolean
  running: boolean
  /** stop_agent ended it: its exit is reported without an exit code. */
  stopped: boolean
  gotInit: boolean
  readonly resumed: boolean
  /** The CLI said the conversation it was told to resume does not exist. */
  noConversation: boolean
  readonly pending: Map<string, Pending>
  readonly queue: Queued[]
  turn: Turn | null
  readonly events: AgentEvent[]
  draining: boolean
  subscription: Disposable | null
}

/** The per-chat-session event sequence and the recorded events of the running turn. */
interface Stream { seq: number, events: LiveEvent[], bytes: number, complete: boolean }

const settingsKey = (s: TurnSettings): string =>
  JSON.stringify([s.provider, s.permissionLevel, s.planMode, s.effort, s.fastMode, s.thinkingEnabled, s.chromeEnabled, s.disable1mContext])

@injectable()
export class AgentRegistry implements Disposable {
  readonly #live = new Map<string, LiveAgent>()
  readonly #streams = new Map<string, Stream>()
  readonly #lastSettings = new Map<string, TurnSettings>()
  /** The model last asked for per chat session (a turn without one keeps it). */
  readonly #models = new Map<string, string>()
  readonly #starting = new Set<Promise<AgentSession>>()
  /**
   * Per chat session: the tail of its serial dispatches, and a counter bumped when the user
   * cancels its queue (stop, reset, archive), so a queued dispatch already scheduled is dropped.
   */
  readonly #chains = new Map<string, Promise<void>>()
  readonly #epochs = new Map<string, number>()
  /** Connections currently skipped because their socket buffer is over maxBufferedBytes. */
  readonly #lagging = new Set<number>()
  readonly #log: FastifyBaseLogger
  readonly #onClosed: Disposable
  #disposed = false

  constructor (
    @inject(AGENTS.Store) private readonly store: AgentStore,
    @inject(CORE.Hub) private readonly hub: ConnectionHub,
    @inject(REPOS.Directory) private readonly dir: WorkspaceDirectory,
    @inject(AGENTS.Providers) private readonly providers: ReadonlyMap<string, AgentProvider>,
    @inject(AGENTS_OPTIONS) private readonly opts: AgentsOptions,
    @inject(CORE.Log) log: FastifyBaseLogger,
    @inject(REPOS.Git) private readonly workspaceGit: WorkspaceGit,
  ) {
    this.#log = log.child({ plugin: 'agents' })
    this.#onClosed = hub.onClosed(c => { this.#lagging.delete(c.id) })
  }

  get size (): number { return this.#live.size }
  isRunning (chatSessionId: string): boolean { return this.#live.get(chatSessionId)?.running ?? false }

  // --- chat sessions ---------------------------------------------------------------------------

  /** A ChatSession with its runtime fields filled in from the live agent (if any). */
  hydrate (s: ChatSession): ChatSession {
    const a = this.#live.get(s.id)
    if (!a) return s
    const kinds = [...a.pending.values()].map(p => p.toolName)
    return {
      ...s,
      agent_status: a.running ? 'Running' : 'Idle',
      attention_kind: kinds.includes('ExitPlanMode') ? 'Plan' : kinds.includes('AskUserQuestion') ? 'Ask' : null,
      needs_attention: a.pending.size > 0,
    }
  }

  getSession (id: string): ChatSession {
    const s = this.store.getSession(id)
    if (!s) throw new AgentSessionNotFoundError(id)
    return this.hydrate(s)
  }

  listSessions (workspaceId: string, includeArchived: boolean): ChatSession[] {
    return this.store.listSessions(workspaceId, includeArchived).map(s => this.hydrate(s))
  }

  createSession (workspaceId: string): ChatSession {
    if (!this.store.workspaceExists(workspaceId)) throw new AgentWorkspaceNotFoundError(workspaceId)
    return this.store.createSession(workspaceId)
  }

  renameSession (id: string, name: string): void {
    const trimmed = stripControls(name)
    if (!trimmed) throw new ChatSessionNameEmptyError()
    if (!this.store.renameSession(id, [...trimmed].slice(0, SESSION_NAME_MAX).join(''))) throw new AgentSessionNotFoundError(id)
  }

  async archiveSession (id: string): Promise<ChatSession | null> {
    const s = this.store.getSession(id)
    if (!s) throw new AgentSessionNotFoundError(id)
    this.#bumpEpoch(id)
    await this.#drop(id)
    this.#streams.delete(id)
    return this.store.archiveSessionEnsuringActive(id, s.workspace_id)
  }

  // --- turns ---------------------------------------------------------------------------------

  /**
   * send_chat_message: saves the user message first, then hands the turn to the session's
   * agent (starting it if needed). While a turn runs, the message waits in the queue.
   */
  async send (req: SendRequest): Promise<void> {
    const chat = this.store.getSession(req.chatSessionId)
    if (!chat) throw new ChatSessionNotFoundError(req.chatSessionId)
    const ws = await this.dir.getWorkspace(chat.workspace_id)
    if (!ws) throw new AgentWorkspaceNotFoundError(chat.workspace_id)
    if (ws.status !== 'Active' || !ws.worktree_path) throw new AgentNoWorktreeError(ws.id)
    // Saved before anything can fail to start: the message stays even when the spawn fails.
    const user = this.store.insertMessage({ workspace_id: ws.id, chat_session_id: chat.id, role: 'User', content: req.content })
    const prompt = await this.#expandMentions(ws, req.content, req.mentionedFiles)
    const queued: Queued = { prompt, content: req.content, userMessageId: user.id, settings: req.settings }
    const agent = this.#live.get(chat.id)
    if (agent?.running) {
      if (agent.queue.length >= this.opts.maxQueueDepth) throw new AgentQueueFullError(agent.queue.length)
      agent.queue.push(queued)
      return
    }
    await this.#serial(chat.id, () => this.#dispatch(chat.id, ws, queued))
  }

  /** steer_queued_chat_message: runs after the current turn's result. */
  steer (chatSessionId: string, content: string): { queue_depth: number, queued: true } {
    if (!content.trim()) throw new AgentEmptySteerError()
    const agent = this.#live.get(chatSessionId)
    if (!agent) throw new AgentSessionNotFoundError(chatSessionId)
    if (agent.queue.length >= this.opts.maxQueueDepth) throw new AgentQueueFullError(agent.queue.length)
    const last = agent.queue.at(-1)?.settings ?? this.#lastSettings.get(chatSessionId)!
    agent.queue.push({ prompt: content, content, userMessageId: null, settings: last })
    const depth = agent.queue.length
    // Nothing running: the queued message goes now (the reference waited for a result that never came).
    if (!agent.running) this.#next(agent)
    return { queue_depth: depth, queued: true }
  }

  async #dispatch (chatSessionId: string, ws: Workspace, q: Queued): Promise<void> {
    const cwd = await this.dir.confinePath(ws.worktree_path!)
    // The server is closing: no new process (dispose() only waits for the ones already starting).
    if (this.#disposed) return
    const key = settingsKey(q.settings)
    const model = q.settings.model ?? this.#models.get(chatSessionId) ?? null
    const carried: Queued[] = []
    let agent: LiveAgent | undefined
    for (;;) {
      agent = this.#live.get(chatSessionId)
      if (agent?.running) { agent.queue.push(q); return }
      if (agent && (agent.settingsKey !== key || agent.model !== model || agent.cwd !== cwd || !agent.session?.snapshot().alive)) {
        // Flags are fixed when a process starts: a changed permission level, model, plan mode, …
        // (or a dead process) means a fresh process that resumes the same conversation.
        carried.push(...agent.queue.splice(0))
        await this.#drop(chatSessionId)
        continue
      }
      break
    }
    this.#lastSettings.set(chatSessionId, q.settings)
    if (model) this.#models.set(chatSessionId, model)
    if (!agent) {
      const provider = this.providers.get(q.settings.provider)!
      const chat = this.store.getSession(chatSessionId)!
      const resume = chat.session_id !== null
      const agentSessionId = chat.session_id ?? randomUUID()
      agent = {
        chatSessionId,
        workspaceId: ws.id,
        cwd,
        settingsKey: key,
        model,
        providerKind: provider.kind,
        session: null,
        detached: false,
        running: true,
        stopped: false,
        gotInit: false,
        resumed: resume,
        noConversation: false,
        pending: new Map(),
        queue: carried,
        turn: null,
        events: [],
        draining: false,
        subscription: null,
      }
      this.#live.set(chatSessionId, agent)
      this.#beginTurn(agent, q)
      let session: AgentSession
      try {
        const repo: Repository | null = await this.dir.getRepository(ws.repository_id).catch(() => null)
        const starting = provider.start({
          cwd,
          workspaceId: ws.id,
          chatSessionId,
          agentSessionId,
          resume,
          permissionLevel: q.settings.permissionLevel,
          ...(model ? { model } : {}),
          planMode: q.settings.planMode,
          ...(q.settings.effort ? { effort: q.settings.effort } : {}),
          fastMode: q.settings.fastMode,
          thinkingEnabled: q.settings.thinkingEnabled,
          chromeEnabled: q.settings.chromeEnabled,
          disable1mContext: q.settings.disable1mContext,
          ...(repo?.custom_instructions ? { customInstructions: repo.custom_instructions } : {}),
          env: await this.dir.workspaceEnv(ws.id).catch(() => ({})),
        })
        this.#starting.add(starting)
        try { session = await starting } finally { this.#starting.delete(starting) }
      } catch (err) {
        if (this.#live.get(chatSessionId) === agent) this.#live.delete(chatSessionId)
        agent.running = false
        this.#endTurnBuffer(chatSessionId)
        throw err
      }
      // Stopped, reset or closed while it was starting: it never becomes the session's agent.
      if (this.#disposed || agent.detached || this.#live.get(chatSessionId) !== agent) { await session.dispose(); return }
      agent.session = session
      agent.subscription = session.onEvent(ev => this.#enqueue(agent!, ev))
      if (!resume) this.store.setAgentSessionId(chatSessionId, agentSessionId)
      this.store.setCliInvocation(chatSessionId, session.snapshot().commandLine)
      this.#log.info({ chatSessionId, workspaceId: ws.id, kind: provider.kind, pid: session.snapshot().pid, resume }, 'agent started')
    } else {
      agent.running = true
      this.#beginTurn(agent, q)
    }
    try {
      await agent.session!.send({ content: q.prompt })
    } catch (err) {
      await this.#drop(chatSessionId)
      throw err
    }
  }

  #beginTurn (agent: LiveAgent, q: Queued): void {
    const userMessageId = q.userMessageId ??
      this.store.insertMessage({ workspace_id: agent.workspaceId, chat_session_id: agent.chatSessionId, role: 'User', content: q.content }).id
    agent.turn = { userMessageId, lastAssistantId: null, thinking: null, usage: null, assistantCount: 0, tools: new Map() }
    this.store.bumpTurnCount(agent.chatSessionId)
    // The recorded events restart with each turn; the sequence keeps counting.
    const s = this.#stream(agent.chatSessionId)
    s.events = []
    s.bytes = 0
    s.complete = true
  }

  /** Dispatches the next queued message after a turn ended (never throws). */
  #next (agent: LiveAgent): void {
    const q = agent.queue.shift()
    if (!q) return
    const epoch = this.#epoch(agent.chatSessionId)
    void this.#serial(agent.chatSessionId, async () => {
      // Stopped, reset or archived since: the queue it came from is gone.
      if (this.#disposed || this.#epoch(agent.chatSessionId) !== epoch) return
      const ws = await this.dir.getWorkspace(agent.workspaceId)
      if (!ws || !ws.worktree_path) throw new AgentNoWorktreeError(agent.workspaceId)
      await this.#dispatch(agent.chatSessionId, ws, q)
    }).catch(err => {
      this.#log.warn({ err, chatSessionId: agent.chatSessionId }, 'queued message could not be dispatched')
      // Nobody waits for an RPC answer here: tell every device why the queue stopped.
      if (!this.#disposed) this.#emit(AGENT_STREAM_EVENT, agent, { event: { Stderr: `Queued message not sent: ${(err as Error).message}` } })
    })
  }

  /**
   * Runs the dispatches of one chat session one after another (never those of different
   * sessions), so a queued message and a message sent in the same moment keep their order.
   */
  #serial (chatSessionId: string, fn: () => Promise<void>): Promise<void> {
    const run = (this.#chains.get(chatSessionId) ?? Promise.resolve()).then(fn)
    const tail = run.catch(() => {})
    this.#chains.set(chatSessionId, tail)
    void tail.then(() => { if (this.#chains.get(chatSessionId) === tail) this.#chains.delete(chatSessionId) })
    return run
  }

  #epoch (chatSessionId: string): number { return this.#epochs.get(chatSessionId) ?? 0 }
  #bumpEpoch (chatSessionId: string): void { this.#epochs.set(chatSessionId, this.#epoch(chatSessionId) + 1) }

  // --- events --------------------------------------------------------------------------------

  #enqueue (agent: LiveAgent, ev: AgentEvent): void {
    if (agent.detached && ev.type !== 'exit') return
    agent.events.push(ev)
    if (!agent.draining) void this.#drain(agent)
  }

  async #drain (agent: LiveAgent): Promise<void> {
    agent.draining = true
    try {
      while (agent.events.length > 0) {
        const ev = agent.events.shift()!
        try { await this.#handle(agent, ev) } catch (err) { this.#log.error({ err, chatSessionId: agent.chatSessionId }, 'agent event handling failed') }
      }
    } finally { agent.draining = false }
  }

  async #handle (agent: LiveAgent, ev: AgentEvent): Promise<void> {
    if (this.#disposed) return
    const base = { chat_session_id: agent.chatSessionId, workspace_id: agent.workspaceId }
    if (ev.type === 'exit') {
      if (this.#live.get(agent.chatSessionId) === agent) this.#live.delete(agent.chatSessionId)
      agent.subscription?.dispose()
      if (agent.detached) return
      // Died before its init. A new conversation was never written: start fresh next time. A
      // resumed one is kept (Claude Code prints init only after reading a turn, so a start-up
      // failure says nothing about it) unless the CLI said it does not exist.
      if (!agent.gotInit && (!agent.resumed || agent.noConversation)) this.store.setAgentSessionId(agent.chatSessionId, null)
      this.#log.info({ chatSessionId: agent.chatSessionId, code: ev.code, signal: ev.signal, stopped: agent.stopped }, 'agent exited')
      agent.running = false
      this.#cancelPending(agent)
      agent.queue.length = 0
      // A stop reports no exit code, whatever the process made of SIGTERM (Claude Code exits 143).
      this.#emit(AGENT_STREAM_EVENT, agent, { event: { ProcessExited: agent.stopped ? null : ev.code } })
      this.#endTurnBuffer(agent.chatSessionId)
      return
    }
    if (agent.detached) return
    if (ev.type === 'stderr') {
      if (agent.resumed && !agent.gotInit && NO_CONVERSATION.test(ev.line)) agent.noConversation = true
      this.#emit(AGENT_STREAM_EVENT, agent, { event: { Stderr: ev.line } })
      return
    }
    const m = ev.message
    const turn = agent.turn
    switch (m.type) {
      case 'system':
        if (m.subtype === 'init') {
          agent.gotInit = true
          if (typeof m.session_id === 'string' && m.session_id) this.store.setAgentSessionId(agent.chatSessionId, m.session_id)
        }
        break
      case 'control_request': {
        const r = isObj(m.request) ? m.request : {}
        if (r.subtype === 'can_use_tool' && typeof r.tool_use_id === 'string' && typeof m.request_id === 'string') {
          const toolName = typeof r.tool_name === 'string' ? r.tool_name : ''
          agent.pending.set(r.tool_use_id, { requestId: m.request_id, toolName, input: r.input ?? null })
          // The prompt goes before the stream event that carries the same request.
          this.#emit(AGENT_PERMISSION_PROMPT_EVENT, agent, {
            ...base, input: r.input ?? null, request_id: m.request_id, tool_name: toolName, tool_use_id: r.tool_use_id,
          })
        }
        break
      }
      case 'control_cancel_request': {
        // The CLI withdrew a prompt (the tool call was aborted): every device closes its dialog.
        for (const [toolUseId, p] of agent.pending) {
          if (p.requestId !== m.request_id) continue
          agent.pending.delete(toolUseId)
          this.#emitResolved(agent, toolUseId, 'cancelled')
        }
        break
      }
      case 'stream_event': {
        const u = messageUsage(m)
        if (u && turn) turn.usage = u
        break
      }
      case 'assistant':
        if (turn) this.#onAssistant(agent, turn, m)
        break
      case 'user':
        if (turn) {
          for (const r of userToolResults(m)) {
            const a = turn.tools.get(r.toolUseId)
            if (a) a.result = r.text
          }
        }
        break
      case 'result':
        // The turn stays running until its result event is out: a message that arrives while the
        // checkpoint is written waits in the queue instead of starting a turn this one would end.
        if (turn) await this.#onResult(agent, turn, m)
        if (this.#disposed) return // closed while the checkpoint was written
        break
    }
    this.#emit(AGENT_STREAM_EVENT, agent, { event: { Stream: toWireStreamEvent(m) } })
    if (m.type === 'result') {
      agent.running = false
      agent.turn = null
      this.#endTurnBuffer(agent.chatSessionId)
      this.#next(agent)
    }
  }

  #onAssistant (agent: LiveAgent, turn: Turn, m: Record<string, unknown>): void {
    for (const t of assistantToolUses(m)) {
      turn.tools.set(t.id, { toolUseId: t.id, name: t.name, input: t.input, result: '', ordinal: turn.assistantCount, sort: turn.tools.size })
    }
    const thinking = assistantThinking(m)
    if (thinking) turn.thinking = (turn.thinking ?? '') + thinking
    const text = assistantText(m)
    if (!text.trim()) return
    const u = turn.usage
    const msg = this.store.insertMessage({
      workspace_id: agent.workspaceId,
      chat_session_id: agent.chatSessionId,
      role: 'Assistant',
      content: text,
      thinking: turn.thinking,
      input_tokens: typeof u?.input_tokens === 'number' ? u.input_tokens : null,
      output_tokens: typeof u?.output_tokens === 'number' ? u.output_tokens : null,
      cache_read_tokens: typeof u?.cache_read_input_tokens === 'number' ? u.cache_read_input_tokens : null,
      cache_creation_tokens: typeof u?.cache_creation_input_tokens === 'number' ? u.cache_creation_input_tokens : null,
    })
    turn.thinking = null
    turn.usage = null
    turn.lastAssistantId = msg.id
    turn.assistantCount++
  }

  async #onResult (agent: LiveAgent, turn: Turn, m: Record<string, unknown>): Promise<void> {
    const cost = typeof m.total_cost_usd === 'number' ? m.total_cost_usd : null
    const duration = typeof m.duration_ms === 'number' ? Math.trunc(m.duration_ms) : null
    if (turn.lastAssistantId && (cost !== null || duration !== null)) this.store.setMessageCost(turn.lastAssistantId, cost, duration)
    const prev = this.store.latestCheckpoint(agent.chatSessionId)
    const turnIndex = prev ? prev.turn_index + 1 : 0
    let commit: string | null = null
    if (this.opts.checkpoints) {
      try {
        const parent = this.store.latestCommit(agent.chatSessionId)
        commit = (await commitWorktreeState(this.workspaceGit, agent.workspaceId, agent.cwd, parent, checkpointRef(agent.chatSessionId, turnIndex),
          `claudette checkpoint: chat ${agent.chatSessionId} turn ${turnIndex}`)).commit
      } catch (err) {
        this.#log.warn({ err, chatSessionId: agent.chatSessionId }, 'checkpoint commit failed; recorded without file state')
      }
    }
    if (this.#disposed) return
    const cp: ConversationCheckpoint = {
      chat_session_id: agent.chatSessionId,
      commit_hash: commit,
      created_at: sqlNow(),
      has_file_state: commit !== null,
      id: randomUUID(),
      message_count: this.store.countAll(agent.chatSessionId),
      message_id: turn.lastAssistantId ?? turn.userMessageId,
      turn_index: turnIndex,
      workspace_id: agent.workspaceId,
    }
    this.store.insertCheckpoint(cp, [...turn.tools.values()].map(a => ({
      tool_use_id: a.toolUseId,
      tool_name: a.name,
      input_json: JSON.stringify(a.input ?? {}),
      result_text: a.result,
      summary: summarize(a.input),
      sort_order: a.sort,
      assistant_message_ordinal: a.ordinal,
    })))
    this.#emit(CHECKPOINT_CREATED_EVENT, agent, { chat_session_id: agent.chatSessionId, checkpoint: cp, workspace_id: agent.workspaceId })
  }

  #stream (chatSessionId: string): Stream {
    let s = this.#streams.get(chatSessionId)
    if (!s) { s = { seq: 0, events: [], bytes: 0, complete: true }; this.#streams.set(chatSessionId, s) }
    return s
  }

  #endTurnBuffer (chatSessionId: string): void {
    const s = this.#streams.get(chatSessionId)
    if (s) { s.events = []; s.bytes = 0; s.complete = true }
  }

  /** Broadcasts an event to every authenticated connection and records it for recovery. */
  #emit (event: string, agent: LiveAgent, body: Record<string, unknown>): void {
    const s = this.#stream(agent.chatSessionId)
    const seq = ++s.seq
    // Keys in alphabetical order, like the reference's serde_json output. Every payload carries
    // the chat session id under both keys (desktop reads chat_session_id, mobile session_id).
    const payload = event === AGENT_STREAM_EVENT
      ? { chat_session_id: agent.chatSessionId, event: body.event, seq, session_id: agent.chatSessionId, workspace_id: agent.workspaceId }
      : sortKeys({ ...body, chat_session_id: agent.chatSessionId, seq, session_id: agent.chatSessionId, workspace_id: agent.workspaceId })
    const size = JSON.stringify(payload).length
    if (s.complete && s.bytes + size <= this.opts.liveBufferBytes) {
      s.events.push({ event, payload: payload as LiveEvent['payload'] })
      s.bytes += size
    } else if (s.complete) {
      s.complete = false
      s.events = []
      s.bytes = 0
    }
    this.hub.broadcast(event, payload, c => {
      if (c.bufferedAmount <= this.opts.maxBufferedBytes) { this.#lagging.delete(c.id); return true }
      if (!this.#lagging.has(c.id)) {
        this.#lagging.add(c.id)
        this.#log.warn({ connectionId: c.id, bufferedAmount: c.bufferedAmount }, 'client is not reading; agent events skipped until it drains')
      }
      return false
    })
  }

  // --- prompts -------------------------------------------------------------------------------

  #pendingFor (chatSessionId: string, toolUseId: string, accepts: (tool: string) => boolean, expected: string): { agent: LiveAgent, pending: Pending } {
    const agent = this.#live.get(chatSessionId)
    if (!agent) throw new AgentSessionNotFoundError(chatSessionId)
    if (!agent.session?.snapshot().alive) throw new AgentNotActiveError()
    const pending = agent.pending.get(toolUseId)
    if (!pending) throw new AgentNoPendingRequestError(toolUseId, [...agent.pending.keys()])
    if (!accepts(pending.toolName)) throw new AgentWrongToolError(toolUseId, pending.toolName, expected)
    agent.pending.delete(toolUseId)
    return { agent, pending }
  }

  async #reply (agent: LiveAgent, toolUseId: string, pending: Pending, reply: AgentAnswer): Promise<void> {
    this.#emitResolved(agent, toolUseId, reply.behavior)
    await agent.session!.answer(pending.requestId, reply)
  }

  #emitResolved (agent: LiveAgent, toolUseId: string, behavior: 'allow' | 'deny' | 'cancelled'): void {
    this.#emit(AGENT_PERMISSION_RESOLVED_EVENT, agent, { behavior, tool_use_id: toolUseId })
  }

  /** Drops every pending prompt; devices learn it through agent-permission-resolved `cancelled`. */
  #cancelPending (agent: LiveAgent): void {
    const ids = [...agent.pending.keys()]
    agent.pending.clear()
    for (const id of ids) this.#emitResolved(agent, id, 'cancelled')
  }

  /** submit_agent_answer: answers an AskUserQuestion with the original input plus `answers`. */
  async answer (chatSessionId: string, toolUseId: string, answers: Record<string, string>, annotations: unknown): Promise<void> {
    const { agent, pending } = this.#pendingFor(chatSessionId, toolUseId, t => t === 'AskUserQuestion', 'not AskUserQuestion')
    const input: Record<string, unknown> = isObj(pending.input) ? { ...pending.input } : {}
    input.answers = answers
    if (annotations !== undefined) input.annotations = annotations
    await this.#reply(agent, toolUseId, pending, { behavior: 'allow', updatedInput: input })
  }

  /**
   * submit_plan_approval (`planOnly`) and submit_agent_approval. Besides the reference's approval
   * tools, submit_agent_approval answers any other tool's permission check (Bash, MCP, …), which
   * the safe default permission level routes to the user.
   */
  async approve (chatSessionId: string, toolUseId: string, approved: boolean, reason: string | undefined, planOnly: boolean): Promise<void> {
    const accepts = planOnly ? (t: string) => t === 'ExitPlanMode' : (t: string) => APPROVAL_TOOLS.has(t) || !INTERACTION_TOOLS.has(t)
    const { agent, pending } = this.#pendingFor(chatSessionId, toolUseId, accepts, 'not an approval request accepted by this handler')
    let reply: AgentAnswer
    // No updatedInput: nothing was edited (Claude Code would tell the model the user edited it).
    if (approved) reply = { behavior: 'allow' }
    else if (APPROVAL_TOOLS.has(pending.toolName)) reply = { behavior: 'deny', message: `${reason ?? PLAN_DENIED}${PLAN_REVISE}` }
    else reply = { behavior: 'deny', message: reason ?? `The user denied permission to use ${pending.toolName}.` }
    await this.#reply(agent, toolUseId, pending, reply)
  }

  // --- stop, reset, snapshot -----------------------------------------------------------------

  /** stop_agent: drops the live agent, its prompts and queue; saves "Agent stopped" even if idle. */
  async stop (chatSessionId: string): Promise<void> {
    const chat = this.store.getSession(chatSessionId)
    if (!chat) throw new ChatSessionNotFoundError(chatSessionId)
    this.#bumpEpoch(chatSessionId)
    const agent = this.#live.get(chatSessionId)
    if (agent) {
      this.#cancelPending(agent)
      agent.queue.length = 0
      this.#live.delete(chatSessionId)
      agent.stopped = true
      // The exit is still reported, as {"ProcessExited": null}, then the entry is gone.
      await agent.session?.dispose()
    }
    this.store.insertMessage({ workspace_id: chat.workspace_id, chat_session_id: chatSessionId, role: 'System', content: 'Agent stopped' })
  }

  /** reset_agent_session: forgets the live agent and the CLI conversation; the next turn starts fresh. */
  async reset (chatSessionId: string): Promise<void> {
    this.#bumpEpoch(chatSessionId)
    await this.#drop(chatSessionId)
    this.#models.delete(chatSessionId)
    if (this.store.getSession(chatSessionId)) this.store.setAgentSessionId(chatSessionId, null)
  }

  /** Stops every agent of a workspace (before it is archived). */
  async stopWorkspace (workspaceId: string): Promise<void> {
    const ids = [...this.#live.values()].filter(a => a.workspaceId === workspaceId).map(a => a.chatSessionId)
    for (const id of ids) this.#bumpEpoch(id)
    await Promise.all(ids.map(id => this.#drop(id)))
  }

  /** Removes a live agent without reporting its exit. */
  async #drop (chatSessionId: string): Promise<void> {
    const agent = this.#live.get(chatSessionId)
    if (!agent) return
    this.#live.delete(chatSessionId)
    agent.detached = true
    this.#cancelPending(agent)
    agent.queue.length = 0
    this.#endTurnBuffer(chatSessionId)
    await agent.session?.dispose()
  }

  snapshot (chatSessionId: string, limit: number, before: string | null): ChatSnapshot {
    const s = this.store.getSession(chatSessionId)
    if (!s) throw new AgentSessionNotFoundError(chatSessionId)
    const { messages, hasMore } = this.store.page(chatSessionId, limit, before)
    const agent = this.#live.get(chatSessionId)
    const pending: PendingControl[] = agent
      ? [...agent.pending.entries()].map(([id, p]) => ({
          input: p.input,
          kind: p.toolName === 'AskUserQuestion' ? 'ask_user_question' as const : p.toolName === 'ExitPlanMode' ? 'exit_plan_mode' as const : 'unknown' as const,
          tool_name: p.toolName,
          tool_use_id: id,
        })).sort((a, b) => a.tool_use_id < b.tool_use_id ? -1 : a.tool_use_id > b.tool_use_id ? 1 : 0)
      : []
    const stream = this.#stream(chatSessionId)
    return {
      attachments: this.store.attachmentsForPage(chatSessionId, messages),
      completed_turns: this.store.completedTurns(chatSessionId),
      has_more: hasMore,
      live: {
        complete: stream.complete,
        events: [...stream.events],
        running: agent?.running ?? false,
        seq: stream.seq,
        turn_message_id: (agent?.running ? agent.turn?.userMessageId : null) ?? null,
      },
      messages,
      pending_controls: pending,
      session: this.hydrate(s),
      total_count: this.store.count(chatSessionId),
    }
  }

  history (chatSessionId: string): ChatMessage[] { return this.store.history(chatSessionId) }
  completedTurns (chatSessionId: string): CompletedTurnData[] { return this.store.completedTurns(chatSessionId) }

  // --- helpers -------------------------------------------------------------------------------

  /** Prepends @-mentioned files (confined to the workspace, text only, 100 KiB each) to the prompt. */
  async #expandMentions (ws: Workspace, content: string, files: readonly string[]): Promise<string> {
    const blocks: string[] = []
    for (const rel of files) {
      try {
        const path = await this.dir.resolveInWorkspace(ws.id, rel)
        const st = await stat(path)
        if (!st.isFile()) continue
        const buf = await readFile(path)
        const body = buf.subarray(0, MENTION_MAX_BYTES)
        if (body.includes(0)) continue // binary
        let block = `<referenced-file path="${escapeAttr(rel)}">\n${body.toString('utf8')}\n</referenced-file>`
        if (buf.length > MENTION_MAX_BYTES) block += `\n(Note: file truncated at 100KB, total size ${buf.length} bytes)`
        blocks.push(block)
      } catch (err) {
        this.#log.debug({ err, file: rel }, 'mentioned file skipped')
      }
    }
    return blocks.length ? `${blocks.join('\n\n')}\n\n${content}` : content
  }

  /** Stops every agent; after this no event touches the database. */
  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    this.#onClosed.dispose()
    const agents = [...this.#live.values()]
    this.#live.clear()
    await Promise.all([
      ...agents.map(async a => {
        a.detached = true
        await a.session?.dispose()
      }),
      // Processes still starting are stopped as soon as they run.
      ...[...this.#starting].map(async p => { const session = await p.catch(() => null); await session?.dispose() }),
    ])
  }
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function summarize (input: unknown): string {
  if (!isObj(input)) return ''
  for (const k of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description', 'plan']) {
    const v = input[k]
    if (typeof v === 'string' && v) return v.length > 120 ? `${v.slice(0, 117)}...` : v
  }
  return ''
}

function sortKeys (o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(o).sort()) out[k] = o[k]
  return out
}
