// The live agent of every chat session, by chat session id: who may start one (a workspace with a
// worktree), when a process is replaced (new flags), the queue limit, and stopping them all. Each
// agent is a LiveAgent; the events it reports go to the wire through AgentWire.
//
// Concurrency: there is no global lock. Each agent handles its events one after another (so a
// checkpoint can be written between the last event of a turn and its `result`), each chat
// session's dispatches run in its own lane, and starting a process only awaits its own spawn.
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import { Emitter, type Disposable } from '../../core/lifecycle.js'
import { stripControls } from '../../core/text.js'
import { CORE } from '../../core/tokens.js'
import type { ConnectionHub } from '../../core/rpc/hub.js'
import { REPOS, type Repository, type Workspace, type WorkspaceDirectory, type WorkspaceGit } from '../repos/types.js'
import { TurnCheckpoints } from './checkpoints.js'
import { DispatchLanes } from './dispatch-lanes.js'
import {
  AgentEmptySteerError, AgentNotActiveError, AgentNoWorktreeError, AgentQueueFullError, AgentSessionNotFoundError,
  AgentWorkspaceNotFoundError, ChatSessionNameEmptyError, ChatSessionNotFoundError,
} from './errors.js'
import { LiveAgent, settingsKey, type LiveAgentContext, type QueuedMessage } from './live-agent.js'
import { expandMentions } from './mentions.js'
import { AGENTS_OPTIONS, type AgentsOptions } from './options.js'
import { answerReply, approvalKind, approvalReply, QUESTION, type PendingPrompt, type PromptKind } from './prompts.js'
import {
  AGENTS, type AgentAnswer, type AgentOrigin, type AgentProvider, type AgentSession, type AgentStarted, type AgentStopped, type ChatAgents, type ChatMessage, type ChatSession, type ChatSnapshot, type ChatStore,
  type CompletedTurnData, type SendRequest, type TurnSettings,
} from './types.js'
import { AgentWire } from './wire.js'

export { AGENT_PERMISSION_RESOLVED_EVENT } from './wire.js'

const SESSION_NAME_MAX = 60

/** An event's fields for its audit line: the origin's (sessionId, device, remoteAddress) at the top level, as other audit lines have them. */
const flat = <T extends { origin?: AgentOrigin }>({ origin, ...rest }: T): Omit<T, 'origin'> & Partial<AgentOrigin> => ({ ...rest, ...origin })

@injectable()
export class AgentRegistry implements ChatAgents, Disposable {
  readonly #live = new Map<string, LiveAgent>()
  readonly #lastSettings = new Map<string, TurnSettings>()
  /** The model last asked for per chat session (a turn without one keeps it). */
  readonly #models = new Map<string, string>()
  readonly #starting = new Set<Promise<AgentSession>>()
  readonly #lanes = new DispatchLanes()
  readonly #wire: AgentWire
  readonly #agentContext: LiveAgentContext
  readonly #log: FastifyBaseLogger
  #disposed = false
  /** Why the server ended an agent (absent: it exited by itself), and who asked, for its audit line. */
  readonly #stopReasons = new WeakMap<LiveAgent, { reason: string, origin?: AgentOrigin | undefined }>()
  readonly #onDidStart = new Emitter<AgentStarted>()
  readonly #onDidStop = new Emitter<AgentStopped>()
  readonly onDidStart = this.#onDidStart.event
  readonly onDidStop = this.#onDidStop.event

  constructor (
    @inject(AGENTS.Store) private readonly store: ChatStore,
    @inject(CORE.Hub) hub: ConnectionHub,
    @inject(REPOS.Directory) private readonly dir: WorkspaceDirectory,
    @inject(AGENTS.Providers) private readonly providers: ReadonlyMap<string, AgentProvider>,
    @inject(AGENTS_OPTIONS) private readonly opts: AgentsOptions,
    @inject(CORE.Log) log: FastifyBaseLogger,
    @inject(REPOS.Git) workspaceGit: WorkspaceGit,
  ) {
    this.#log = log.child({ plugin: 'agents' })
    this.#wire = new AgentWire(hub, opts, this.#log)
    this.#agentContext = {
      store,
      events: this.#wire,
      checkpoints: new TurnCheckpoints(store, workspaceGit, opts.checkpoints, this.#log),
      log: this.#log,
      isClosed: () => this.#disposed,
      onExit: agent => { if (this.#live.get(agent.chatSessionId) === agent) this.#live.delete(agent.chatSessionId) },
      onTurnEnd: agent => this.#next(agent),
    }
  }

  get size (): number { return this.#live.size }
  isRunning (chatSessionId: string): boolean { return this.#live.get(chatSessionId)?.running ?? false }

  // --- chat sessions ---------------------------------------------------------------------------

  /** A ChatSession with its runtime fields filled in from the live agent (if any). */
  hydrate (s: ChatSession): ChatSession {
    const a = this.#live.get(s.id)
    if (!a) return s
    return {
      ...s,
      agent_status: a.running ? 'Running' : 'Idle',
      attention_kind: a.attentionKind,
      needs_attention: a.needsAttention,
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
    this.#lanes.cancelQueued(id)
    await this.#drop(id, 'chat archived')
    this.#wire.forget(id)
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
    const prompt = await expandMentions(this.dir, ws.id, req.content, req.mentionedFiles, this.#log)
    const queued: QueuedMessage = { prompt, content: req.content, userMessageId: user.id, settings: req.settings, origin: req.origin }
    const agent = this.#live.get(chat.id)
    if (agent?.running) {
      if (agent.queueDepth >= this.opts.maxQueueDepth) throw new AgentQueueFullError(agent.queueDepth)
      agent.enqueue(queued)
      return
    }
    await this.#lanes.run(chat.id, () => this.#dispatch(chat.id, ws, queued))
  }

  /** steer_queued_chat_message: runs after the current turn's result. */
  steer (chatSessionId: string, content: string): { queue_depth: number, queued: true } {
    if (!content.trim()) throw new AgentEmptySteerError()
    const agent = this.#live.get(chatSessionId)
    if (!agent) throw new AgentSessionNotFoundError(chatSessionId)
    if (agent.queueDepth >= this.opts.maxQueueDepth) throw new AgentQueueFullError(agent.queueDepth)
    const last = agent.lastQueuedSettings ?? this.#lastSettings.get(chatSessionId)!
    agent.enqueue({ prompt: content, content, userMessageId: null, settings: last })
    const depth = agent.queueDepth
    // Nothing running: the queued message goes now (the reference waited for a result that never came).
    if (!agent.running) this.#next(agent)
    return { queue_depth: depth, queued: true }
  }

  async #dispatch (chatSessionId: string, ws: Workspace, q: QueuedMessage): Promise<void> {
    const cwd = await this.dir.confinePath(ws.worktree_path!)
    // The server is closing: no new process (dispose() only waits for the ones already starting).
    if (this.#disposed) return
    const key = settingsKey(q.settings)
    const model = q.settings.model ?? this.#models.get(chatSessionId) ?? null
    const carried: QueuedMessage[] = []
    let agent: LiveAgent | undefined
    for (;;) {
      agent = this.#live.get(chatSessionId)
      if (agent?.running) { agent.enqueue(q); return }
      if (agent && (agent.settingsKey !== key || agent.model !== model || agent.cwd !== cwd || !agent.alive)) {
        // Flags are fixed when a process starts: a changed permission level, model, plan mode, …
        // (or a dead process) means a fresh process that resumes the same conversation.
        carried.push(...agent.takeQueue())
        await this.#drop(chatSessionId, 'settings changed')
        continue
      }
      break
    }
    this.#lastSettings.set(chatSessionId, q.settings)
    if (model) this.#models.set(chatSessionId, model)
    if (!agent) {
      agent = await this.#start(chatSessionId, ws, cwd, key, model, q, carried)
      if (!agent) return
    } else {
      agent.beginTurn(q)
    }
    try {
      await agent.send(q)
    } catch (err) {
      await this.#drop(chatSessionId, 'send failed')
      throw err
    }
  }

  /** Starts the session's process for the turn `q`; undefined when it was stopped, reset or closed while starting. */
  async #start (chatSessionId: string, ws: Workspace, cwd: string, key: string, model: string | null, q: QueuedMessage, queue: QueuedMessage[]): Promise<LiveAgent | undefined> {
    const provider = this.providers.get(q.settings.provider)!
    const chat = this.store.getSession(chatSessionId)!
    const resume = chat.session_id !== null
    const agentSessionId = chat.session_id ?? randomUUID()
    const agent = new LiveAgent({ chatSessionId, workspaceId: ws.id, cwd, settingsKey: key, model, resumed: resume }, queue, this.#agentContext)
    this.#live.set(chatSessionId, agent)
    agent.beginTurn(q)
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
      agent.startFailed()
      throw err
    }
    // Stopped, reset or closed while it was starting: it never becomes the session's agent.
    if (this.#disposed || agent.detached || this.#live.get(chatSessionId) !== agent) { await session.dispose(); return undefined }
    agent.attach(session)
    if (!resume) this.store.setAgentSessionId(chatSessionId, agentSessionId)
    this.store.setCliInvocation(chatSessionId, session.snapshot().commandLine)
    const started: AgentStarted = { chatSessionId, workspaceId: ws.id, kind: provider.kind, pid: session.snapshot().pid, resume, ...(q.origin ? { origin: q.origin } : {}) }
    this.#log.info({ audit: 'agent_started', ...flat(started) }, 'agent started')
    this.#onDidStart.fire(started)
    // `exit` is always a session's last event, also when the server ends it.
    session.onEvent(ev => { if (ev.type === 'exit') this.#ended(agent, ev.code, ev.signal) })
    return agent
  }

  /** Dispatches the next queued message after a turn ended (never throws). */
  #next (agent: LiveAgent): void {
    const q = agent.dequeue()
    if (!q) return
    void this.#lanes.runQueued(agent.chatSessionId, async () => {
      if (this.#disposed) return
      const ws = await this.dir.getWorkspace(agent.workspaceId)
      if (!ws || !ws.worktree_path) throw new AgentNoWorktreeError(agent.workspaceId)
      await this.#dispatch(agent.chatSessionId, ws, q)
    }).catch(err => {
      this.#log.warn({ err, chatSessionId: agent.chatSessionId }, 'queued message could not be dispatched')
      // Nobody waits for an RPC answer here: tell every device why the queue stopped.
      if (!this.#disposed) agent.output({ kind: 'stderr', line: `Queued message not sent: ${(err as Error).message}` })
    })
  }

  // --- prompts -------------------------------------------------------------------------------

  #agentWithPrompts (chatSessionId: string): LiveAgent {
    const agent = this.#live.get(chatSessionId)
    if (!agent) throw new AgentSessionNotFoundError(chatSessionId)
    if (!agent.alive) throw new AgentNotActiveError()
    return agent
  }

  /** submit_agent_answer: answers an AskUserQuestion with the original input plus `answers`. */
  async answer (chatSessionId: string, toolUseId: string, answers: Record<string, string>, annotations: unknown): Promise<void> {
    await this.#replyTo(chatSessionId, toolUseId, QUESTION, pending => answerReply(pending, answers, annotations))
  }

  /** submit_plan_approval (`planOnly`) and submit_agent_approval. */
  async approve (chatSessionId: string, toolUseId: string, approved: boolean, reason: string | undefined, planOnly: boolean): Promise<void> {
    await this.#replyTo(chatSessionId, toolUseId, approvalKind(planOnly), pending => approvalReply(pending, approved, reason))
  }

  async #replyTo (chatSessionId: string, toolUseId: string, kind: PromptKind, reply: (pending: PendingPrompt) => AgentAnswer): Promise<void> {
    const agent = this.#agentWithPrompts(chatSessionId)
    const pending = agent.takePrompt(toolUseId, kind)
    await agent.reply(toolUseId, pending, reply(pending))
  }

  // --- stop, reset, snapshot -----------------------------------------------------------------

  /** stop_agent: drops the live agent, its prompts and queue; saves "Agent stopped" even if idle. */
  async stop (chatSessionId: string, origin?: AgentOrigin): Promise<void> {
    const chat = this.store.getSession(chatSessionId)
    if (!chat) throw new ChatSessionNotFoundError(chatSessionId)
    this.#lanes.cancelQueued(chatSessionId)
    const agent = this.#live.get(chatSessionId)
    if (agent) {
      this.#live.delete(chatSessionId)
      this.#stopping(agent, 'stopped', origin)
      await agent.stop()
    }
    this.store.insertMessage({ workspace_id: chat.workspace_id, chat_session_id: chatSessionId, role: 'System', content: 'Agent stopped' })
  }

  /** reset_agent_session: forgets the live agent and the CLI conversation; the next turn starts fresh. */
  async reset (chatSessionId: string): Promise<void> {
    this.#lanes.cancelQueued(chatSessionId)
    await this.#drop(chatSessionId, 'reset')
    this.#models.delete(chatSessionId)
    if (this.store.getSession(chatSessionId)) this.store.setAgentSessionId(chatSessionId, null)
  }

  /** Stops every agent of a workspace (before it is archived). */
  async stopWorkspace (workspaceId: string): Promise<void> {
    const ids = [...this.#live.values()].filter(a => a.workspaceId === workspaceId).map(a => a.chatSessionId)
    for (const id of ids) this.#lanes.cancelQueued(id)
    await Promise.all(ids.map(id => this.#drop(id, 'workspace archived')))
  }

  /** Removes a live agent without reporting its exit to clients. */
  async #drop (chatSessionId: string, reason: string): Promise<void> {
    const agent = this.#live.get(chatSessionId)
    if (!agent) return
    this.#live.delete(chatSessionId)
    this.#stopping(agent, reason)
    await agent.dispose()
  }

  /** The server is about to end `agent`: its exit is logged with this reason (the first one given). */
  #stopping (agent: LiveAgent, reason: string, origin?: AgentOrigin): void {
    if (!this.#stopReasons.has(agent)) this.#stopReasons.set(agent, { reason, origin })
  }

  /** An agent's process exited: the audit line and onDidStop. */
  #ended (agent: LiveAgent, exitCode: number | null, signal: string | null): void {
    const why = this.#stopReasons.get(agent)
    const stopped: AgentStopped = {
      chatSessionId: agent.chatSessionId, workspaceId: agent.workspaceId, reason: why?.reason ?? 'exited', exitCode, signal,
      ...(why?.origin ? { origin: why.origin } : {}),
    }
    this.#log.info({ audit: 'agent_stopped', ...flat(stopped) }, 'agent stopped')
    this.#onDidStop.fire(stopped)
  }

  snapshot (chatSessionId: string, limit: number, before: string | null): ChatSnapshot {
    const s = this.store.getSession(chatSessionId)
    if (!s) throw new AgentSessionNotFoundError(chatSessionId)
    const { messages, hasMore } = this.store.page(chatSessionId, limit, before)
    const agent = this.#live.get(chatSessionId)
    const recorded = this.#wire.recorded(chatSessionId)
    return {
      attachments: this.store.attachmentsForPage(chatSessionId, messages),
      completed_turns: this.store.completedTurns(chatSessionId),
      has_more: hasMore,
      live: {
        complete: recorded.complete,
        events: recorded.events,
        running: agent?.running ?? false,
        seq: recorded.seq,
        turn_message_id: agent?.turnMessageId ?? null,
      },
      messages,
      pending_controls: agent ? agent.pendingControls() : [],
      session: this.hydrate(s),
      total_count: this.store.count(chatSessionId),
    }
  }

  history (chatSessionId: string): ChatMessage[] { return this.store.history(chatSessionId) }
  completedTurns (chatSessionId: string): CompletedTurnData[] { return this.store.completedTurns(chatSessionId) }

  /** Stops every agent; after this no event touches the database or reaches a client. */
  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    this.#wire.dispose()
    const agents = [...this.#live.values()]
    for (const a of agents) this.#stopping(a, 'server closing')
    this.#live.clear()
    await Promise.all([
      ...agents.map(a => a.dispose()),
      // Processes still starting are stopped as soon as they run.
      ...[...this.#starting].map(async p => { const session = await p.catch(() => null); await session?.dispose() }),
    ])
    this.#onDidStart.dispose()
    this.#onDidStop.dispose()
  }
}
