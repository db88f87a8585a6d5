// SQLite persistence of the agents plugin: chat sessions, chat messages, checkpoints, completed
// turns' tool activities and attachments (its own tables, owner 'agents'). Every statement is
// prepared once; better-sqlite3 runs them synchronously, so one RPC sees one consistent state.
import { randomUUID } from 'node:crypto'
import { inject, injectable } from '../../core/di.js'
import { STORE, type Database, type Migration, type Store } from '../store/types.js'
import type { ChatMessage, ChatSession, ChatStore, CompletedTurnData, ConversationCheckpoint, TurnToolActivity, WssAttachment } from './types.js'

/**
 * Tables owned by the agents plugin (Store.migrate owner 'agents'). Append-only. chat_sessions
 * is created IF NOT EXISTS: in a database made before chat sessions moved here, the repos
 * plugin's first step created it with this very definition (test/plugins/agents/migrations.test.ts).
 */
export const AGENTS_MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE IF NOT EXISTS chat_sessions (
     id TEXT PRIMARY KEY,
     workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
     session_id TEXT,                -- the agent CLI's resume id
     name TEXT NOT NULL DEFAULT 'New chat',
     name_edited INTEGER NOT NULL DEFAULT 0,
     turn_count INTEGER NOT NULL DEFAULT 0,
     sort_order INTEGER NOT NULL DEFAULT 0,
     status TEXT NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Archived')),
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     archived_at TEXT,
     cli_invocation TEXT
   );
   CREATE INDEX IF NOT EXISTS chat_sessions_by_workspace ON chat_sessions (workspace_id, status, sort_order, created_at);
   CREATE TABLE chat_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     workspace_id TEXT NOT NULL,
     chat_session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
     role TEXT NOT NULL CHECK (role IN ('User', 'Assistant', 'System')),
     content TEXT NOT NULL,
     cost_usd REAL,
     duration_ms INTEGER,
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     thinking TEXT,
     input_tokens INTEGER,
     output_tokens INTEGER,
     cache_read_tokens INTEGER,
     cache_creation_tokens INTEGER
   );
   CREATE INDEX chat_messages_by_session ON chat_messages (chat_session_id, seq);
   CREATE INDEX chat_messages_by_workspace ON chat_messages (workspace_id, seq);
   CREATE TABLE conversation_checkpoints (
     id TEXT PRIMARY KEY,
     workspace_id TEXT NOT NULL,
     chat_session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
     message_id TEXT NOT NULL,
     commit_hash TEXT,
     has_file_state INTEGER NOT NULL DEFAULT 0,
     turn_index INTEGER NOT NULL,
     message_count INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL DEFAULT (datetime('now'))
   );
   CREATE INDEX checkpoints_by_session ON conversation_checkpoints (chat_session_id, turn_index);
   CREATE TABLE turn_tool_activities (
     id TEXT PRIMARY KEY,
     checkpoint_id TEXT NOT NULL REFERENCES conversation_checkpoints (id) ON DELETE CASCADE,
     tool_use_id TEXT NOT NULL,
     tool_name TEXT NOT NULL,
     input_json TEXT NOT NULL DEFAULT '{}',
     result_text TEXT NOT NULL DEFAULT '',
     summary TEXT NOT NULL DEFAULT '',
     sort_order INTEGER NOT NULL DEFAULT 0,
     assistant_message_ordinal INTEGER NOT NULL DEFAULT 0,
     agent_task_id TEXT,
     agent_description TEXT,
     agent_last_tool_name TEXT,
     agent_tool_use_count INTEGER,
     agent_status TEXT,
     agent_tool_calls_json TEXT NOT NULL DEFAULT '[]',
     agent_thinking_blocks_json TEXT NOT NULL DEFAULT '[]',
     agent_result_text TEXT,
     workflow_progress_json TEXT NOT NULL DEFAULT '[]'
   );
   CREATE INDEX activities_by_checkpoint ON turn_tool_activities (checkpoint_id, assistant_message_ordinal, sort_order);
   CREATE TABLE chat_attachments (
     id TEXT PRIMARY KEY,
     message_id TEXT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
     filename TEXT NOT NULL,
     media_type TEXT NOT NULL,
     data BLOB NOT NULL,
     width INTEGER,
     height INTEGER,
     size_bytes INTEGER NOT NULL,
     created_at TEXT NOT NULL DEFAULT (datetime('now')),
     origin TEXT NOT NULL DEFAULT 'user' CHECK (origin IN ('user', 'agent')),
     tool_use_id TEXT
   );
   CREATE INDEX attachments_by_message ON chat_attachments (message_id);`,
]

/** UTC `YYYY-MM-DD HH:MM:SS`, the same format as SQLite's datetime('now'). */
export const sqlNow = (d = new Date()): string => d.toISOString().slice(0, 19).replace('T', ' ')

interface SessionRow {
  id: string, workspace_id: string, session_id: string | null, name: string, name_edited: number, turn_count: number,
  sort_order: number, status: 'Active' | 'Archived', created_at: string, archived_at: string | null, cli_invocation: string | null
}
interface MessageRow {
  seq: number, id: string, workspace_id: string, chat_session_id: string, role: ChatMessage['role'], content: string,
  cost_usd: number | null, duration_ms: number | null, created_at: string, thinking: string | null, input_tokens: number | null,
  output_tokens: number | null, cache_read_tokens: number | null, cache_creation_tokens: number | null
}
interface CheckpointRow {
  id: string, workspace_id: string, chat_session_id: string, message_id: string, commit_hash: string | null,
  has_file_state: number, turn_index: number, message_count: number, created_at: string
}
interface AttachmentRow {
  id: string, message_id: string, filename: string, media_type: string, data: Buffer, width: number | null, height: number | null,
  size_bytes: number, created_at: string, origin: 'user' | 'agent', tool_use_id: string | null
}

const SESSION_COLS = 'id, workspace_id, session_id, name, name_edited, turn_count, sort_order, status, created_at, archived_at, cli_invocation'
const MESSAGE_COLS = 'seq, id, workspace_id, chat_session_id, role, content, cost_usd, duration_ms, created_at, thinking, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens'
/** Assistant rows with blank content and thinking are "legacy" rows the snapshot skips. */
const NOT_LEGACY = "NOT (role = 'Assistant' AND trim(content) = '' AND trim(coalesce(thinking, '')) = '')"
const TEXT_TYPES = new Set(['text/plain', 'text/csv', 'text/markdown', 'application/json'])
const INLINE_MAX = 16 * 1024
const INLINE_BUDGET = 512 * 1024

export const toSession = (r: SessionRow): ChatSession => ({
  agent_status: 'Idle',
  archived_at: r.archived_at,
  attention_kind: null,
  cli_invocation: r.cli_invocation,
  created_at: r.created_at,
  id: r.id,
  name: r.name,
  name_edited: r.name_edited !== 0,
  needs_attention: false,
  session_id: r.session_id,
  sort_order: r.sort_order,
  status: r.status,
  turn_count: r.turn_count,
  workspace_id: r.workspace_id,
})

const toMessage = (r: MessageRow): ChatMessage => ({
  cache_creation_tokens: r.cache_creation_tokens,
  cache_read_tokens: r.cache_read_tokens,
  chat_session_id: r.chat_session_id,
  content: r.content,
  cost_usd: r.cost_usd,
  created_at: r.created_at,
  duration_ms: r.duration_ms,
  id: r.id,
  input_tokens: r.input_tokens,
  output_tokens: r.output_tokens,
  role: r.role,
  thinking: r.thinking,
  workspace_id: r.workspace_id,
})

const toCheckpoint = (r: CheckpointRow): ConversationCheckpoint => ({
  chat_session_id: r.chat_session_id,
  commit_hash: r.commit_hash,
  created_at: r.created_at,
  has_file_state: r.has_file_state !== 0,
  id: r.id,
  message_count: r.message_count,
  message_id: r.message_id,
  turn_index: r.turn_index,
  workspace_id: r.workspace_id,
})

export type NewMessage = Pick<ChatMessage, 'workspace_id' | 'chat_session_id' | 'role' | 'content'> & Partial<ChatMessage>

/** The agents plugin's tables. */
@injectable()
export class AgentStore implements ChatStore {
  readonly #db: Database
  readonly #q

  constructor (@inject(STORE.Store) store: Store) {
    store.migrate('agents', AGENTS_MIGRATIONS)
    const db = this.#db = store.db
    this.#q = {
      session: db.prepare<[string], SessionRow>(`SELECT ${SESSION_COLS} FROM chat_sessions WHERE id = ?`),
      sessions: db.prepare<[string], SessionRow>(`SELECT ${SESSION_COLS} FROM chat_sessions WHERE workspace_id = ? ORDER BY (status = 'Archived'), sort_order, created_at`),
      activeSessions: db.prepare<[string], SessionRow>(`SELECT ${SESSION_COLS} FROM chat_sessions WHERE workspace_id = ? AND status = 'Active' ORDER BY sort_order, created_at`),
      sessionIdsOfWorkspace: db.prepare<[string], { id: string }>('SELECT id FROM chat_sessions WHERE workspace_id = ?'),
      nextSort: db.prepare<[string], { n: number }>('SELECT COALESCE(MAX(sort_order), -1) + 1 AS n FROM chat_sessions WHERE workspace_id = ?'),
      insertSession: db.prepare('INSERT INTO chat_sessions (id, workspace_id, session_id, name, name_edited, turn_count, sort_order, status, created_at) VALUES (?, ?, NULL, \'New chat\', 0, 0, ?, \'Active\', ?)'),
      rename: db.prepare('UPDATE chat_sessions SET name = ?, name_edited = 1 WHERE id = ?'),
      archive: db.prepare('UPDATE chat_sessions SET status = \'Archived\', archived_at = ? WHERE id = ?'),
      activeCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM chat_sessions WHERE workspace_id = ? AND status = \'Active\''),
      setAgentSessionId: db.prepare('UPDATE chat_sessions SET session_id = ? WHERE id = ?'),
      setCliInvocation: db.prepare('UPDATE chat_sessions SET cli_invocation = ? WHERE id = ? AND cli_invocation IS NULL'),
      bumpTurns: db.prepare('UPDATE chat_sessions SET turn_count = turn_count + 1 WHERE id = ?'),
      workspaceExists: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM workspaces WHERE id = ?'),
      insertMessage: db.prepare(`INSERT INTO chat_messages (id, workspace_id, chat_session_id, role, content, cost_usd, duration_ms, created_at, thinking,
        input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens) VALUES (@id, @workspace_id, @chat_session_id, @role, @content, @cost_usd,
        @duration_ms, @created_at, @thinking, @input_tokens, @output_tokens, @cache_read_tokens, @cache_creation_tokens)`),
      messageCost: db.prepare('UPDATE chat_messages SET cost_usd = ?, duration_ms = ? WHERE id = ?'),
      history: db.prepare<[string], MessageRow>(`SELECT ${MESSAGE_COLS} FROM chat_messages WHERE chat_session_id = ? ORDER BY seq`),
      pageLatest: db.prepare<[string, number], MessageRow>(`SELECT ${MESSAGE_COLS} FROM chat_messages WHERE chat_session_id = ? AND ${NOT_LEGACY} ORDER BY seq DESC LIMIT ?`),
      pageBefore: db.prepare<[string, string, number], MessageRow>(`SELECT ${MESSAGE_COLS} FROM chat_messages WHERE chat_session_id = ? AND ${NOT_LEGACY}
        AND seq < (SELECT seq FROM chat_messages WHERE id = ?) ORDER BY seq DESC LIMIT ?`),
      count: db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM chat_messages WHERE chat_session_id = ? AND ${NOT_LEGACY}`),
      countAll: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM chat_messages WHERE chat_session_id = ?'),
      previousUser: db.prepare<[string, string], { id: string }>(`SELECT id FROM chat_messages WHERE chat_session_id = ? AND role = 'User'
        AND seq < (SELECT seq FROM chat_messages WHERE id = ?) ORDER BY seq DESC LIMIT 1`),
      lastPerWorkspace: db.prepare<[], MessageRow>(`SELECT ${MESSAGE_COLS} FROM chat_messages WHERE seq IN (SELECT MAX(seq) FROM chat_messages GROUP BY workspace_id) ORDER BY seq`),
      insertCheckpoint: db.prepare(`INSERT INTO conversation_checkpoints (id, workspace_id, chat_session_id, message_id, commit_hash, has_file_state, turn_index,
        message_count, created_at) VALUES (@id, @workspace_id, @chat_session_id, @message_id, @commit_hash, @has_file_state, @turn_index, @message_count, @created_at)`),
      latestCheckpoint: db.prepare<[string], CheckpointRow>('SELECT * FROM conversation_checkpoints WHERE chat_session_id = ? ORDER BY turn_index DESC LIMIT 1'),
      latestCommit: db.prepare<[string], { commit_hash: string }>('SELECT commit_hash FROM conversation_checkpoints WHERE chat_session_id = ? AND commit_hash IS NOT NULL ORDER BY turn_index DESC LIMIT 1'),
      checkpoints: db.prepare<[string], CheckpointRow>('SELECT * FROM conversation_checkpoints WHERE chat_session_id = ? ORDER BY turn_index'),
      insertActivity: db.prepare(`INSERT INTO turn_tool_activities (id, checkpoint_id, tool_use_id, tool_name, input_json, result_text, summary, sort_order,
        assistant_message_ordinal) VALUES (@id, @checkpoint_id, @tool_use_id, @tool_name, @input_json, @result_text, @summary, @sort_order, @assistant_message_ordinal)`),
      activities: db.prepare<[string], TurnToolActivity & { turn_index: number }>(`SELECT ta.* FROM turn_tool_activities ta JOIN conversation_checkpoints cp
        ON ta.checkpoint_id = cp.id WHERE cp.chat_session_id = ? ORDER BY cp.turn_index, ta.assistant_message_ordinal, ta.sort_order`),
      insertAttachment: db.prepare(`INSERT INTO chat_attachments (id, message_id, filename, media_type, data, width, height, size_bytes, created_at, origin, tool_use_id)
        VALUES (@id, @message_id, @filename, @media_type, @data, @width, @height, @size_bytes, @created_at, @origin, @tool_use_id)`),
    }
  }

  // --- chat sessions -----------------------------------------------------------------------

  getSession (id: string): ChatSession | null {
    const r = this.#q.session.get(id)
    return r ? toSession(r) : null
  }

  listSessions (workspaceId: string, includeArchived: boolean): ChatSession[] {
    return (includeArchived ? this.#q.sessions : this.#q.activeSessions).all(workspaceId).map(toSession)
  }

  sessionIdsOfWorkspace (workspaceId: string): string[] { return this.#q.sessionIdsOfWorkspace.all(workspaceId).map(r => r.id) }

  workspaceExists (workspaceId: string): boolean { return this.#q.workspaceExists.get(workspaceId)!.n > 0 }

  /**
   * A new workspace's first chat session, created inside the transaction that inserts the
   * workspace (repos' onDidInsertWorkspace), with the workspace's own created_at.
   */
  insertFirstSession (id: string, workspaceId: string, createdAt: string): void {
    this.#q.insertSession.run(id, workspaceId, 0, createdAt)
  }

  createSession (workspaceId: string): ChatSession {
    const id = randomUUID()
    this.#db.transaction(() => {
      this.#q.insertSession.run(id, workspaceId, this.#q.nextSort.get(workspaceId)!.n, sqlNow())
    }).immediate()
    return this.getSession(id)!
  }

  /** Trimmed, capped at 60 characters; false when the id is unknown. */
  renameSession (id: string, name: string): boolean {
    return this.#q.rename.run(name, id).changes > 0
  }

  /** Archives; when that leaves the workspace without an active session, creates and returns one. */
  archiveSessionEnsuringActive (id: string, workspaceId: string): ChatSession | null {
    let fresh: string | null = null
    this.#db.transaction(() => {
      this.#q.archive.run(sqlNow(), id)
      if (this.#q.activeCount.get(workspaceId)!.n === 0) {
        fresh = randomUUID()
        this.#q.insertSession.run(fresh, workspaceId, this.#q.nextSort.get(workspaceId)!.n, sqlNow())
      }
    }).immediate()
    return fresh ? this.getSession(fresh) : null
  }

  setAgentSessionId (chatSessionId: string, agentSessionId: string | null): void { this.#q.setAgentSessionId.run(agentSessionId, chatSessionId) }
  setCliInvocation (chatSessionId: string, line: string): void { this.#q.setCliInvocation.run(line, chatSessionId) }
  bumpTurnCount (chatSessionId: string): void { this.#q.bumpTurns.run(chatSessionId) }

  // --- messages ----------------------------------------------------------------------------

  insertMessage (m: NewMessage): ChatMessage {
    const row: ChatMessage = {
      cache_creation_tokens: m.cache_creation_tokens ?? null,
      cache_read_tokens: m.cache_read_tokens ?? null,
      chat_session_id: m.chat_session_id,
      content: m.content,
      cost_usd: m.cost_usd ?? null,
      created_at: m.created_at ?? sqlNow(),
      duration_ms: m.duration_ms ?? null,
      id: m.id ?? randomUUID(),
      input_tokens: m.input_tokens ?? null,
      output_tokens: m.output_tokens ?? null,
      role: m.role,
      thinking: m.thinking ?? null,
      workspace_id: m.workspace_id,
    }
    this.#q.insertMessage.run(row)
    return row
  }

  setMessageCost (id: string, costUsd: number | null, durationMs: number | null): void { this.#q.messageCost.run(costUsd, durationMs, id) }

  history (chatSessionId: string): ChatMessage[] { return this.#q.history.all(chatSessionId).map(toMessage) }

  /** The `limit` newest non-legacy messages (older than `before` when given), ascending; has_more by peeking one more. */
  page (chatSessionId: string, limit: number, before: string | null): { messages: ChatMessage[], hasMore: boolean } {
    const rows = before === null ? this.#q.pageLatest.all(chatSessionId, limit + 1) : this.#q.pageBefore.all(chatSessionId, before, limit + 1)
    const hasMore = rows.length > limit
    return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore }
  }

  count (chatSessionId: string): number { return this.#q.count.get(chatSessionId)!.n }
  countAll (chatSessionId: string): number { return this.#q.countAll.get(chatSessionId)!.n }

  /** The newest message of every workspace (load_initial_data's `last_messages`). */
  lastMessages (): ChatMessage[] { return this.#q.lastPerWorkspace.all().map(toMessage) }

  // --- checkpoints and completed turns -----------------------------------------------------

  latestCheckpoint (chatSessionId: string): ConversationCheckpoint | null {
    const r = this.#q.latestCheckpoint.get(chatSessionId)
    return r ? toCheckpoint(r) : null
  }

  latestCommit (chatSessionId: string): string | null { return this.#q.latestCommit.get(chatSessionId)?.commit_hash ?? null }

  insertCheckpoint (cp: ConversationCheckpoint, activities: ReadonlyArray<Omit<TurnToolActivity, 'id' | 'checkpoint_id' | 'agent_description' | 'agent_last_tool_name' |
    'agent_result_text' | 'agent_status' | 'agent_task_id' | 'agent_thinking_blocks_json' | 'agent_tool_calls_json' | 'agent_tool_use_count' | 'workflow_progress_json'>>): void {
    this.#db.transaction(() => {
      this.#q.insertCheckpoint.run({ ...cp, has_file_state: cp.has_file_state ? 1 : 0 })
      for (const a of activities) this.#q.insertActivity.run({ ...a, id: randomUUID(), checkpoint_id: cp.id })
    }).immediate()
  }

  /** Checkpoints of the session that have tool activities, with them (the reference's rule). */
  completedTurns (chatSessionId: string): CompletedTurnData[] {
    const byCheckpoint = new Map<string, TurnToolActivity[]>()
    for (const a of this.#q.activities.all(chatSessionId)) {
      const list = byCheckpoint.get(a.checkpoint_id) ?? []
      list.push({
        agent_description: a.agent_description,
        agent_last_tool_name: a.agent_last_tool_name,
        agent_result_text: a.agent_result_text,
        agent_status: a.agent_status,
        agent_task_id: a.agent_task_id,
        agent_thinking_blocks_json: a.agent_thinking_blocks_json,
        agent_tool_calls_json: a.agent_tool_calls_json,
        agent_tool_use_count: a.agent_tool_use_count,
        assistant_message_ordinal: a.assistant_message_ordinal,
        checkpoint_id: a.checkpoint_id,
        id: a.id,
        input_json: a.input_json,
        result_text: a.result_text,
        sort_order: a.sort_order,
        summary: a.summary,
        tool_name: a.tool_name,
        tool_use_id: a.tool_use_id,
        workflow_progress_json: a.workflow_progress_json,
      })
      byCheckpoint.set(a.checkpoint_id, list)
    }
    const out: CompletedTurnData[] = []
    for (const cp of this.#q.checkpoints.all(chatSessionId)) {
      const activities = byCheckpoint.get(cp.id)
      if (!activities?.length) continue
      out.push({ activities, checkpoint_id: cp.id, commit_hash: cp.commit_hash, message_count: cp.message_count, message_id: cp.message_id, turn_index: cp.turn_index })
    }
    return out
  }

  // --- attachments -------------------------------------------------------------------------

  addAttachment (a: { message_id: string, filename: string, media_type: string, data: Buffer, width?: number | null, height?: number | null,
    origin?: 'user' | 'agent', tool_use_id?: string | null }): string {
    const id = randomUUID()
    this.#q.insertAttachment.run({ id, message_id: a.message_id, filename: a.filename, media_type: a.media_type, data: a.data, width: a.width ?? null,
      height: a.height ?? null, size_bytes: a.data.length, created_at: sqlNow(), origin: a.origin ?? 'user', tool_use_id: a.tool_use_id ?? null })
    return id
  }

  /**
   * Attachment metadata for a snapshot page, text bodies inlined under the reference's limits
   * (16 KiB each, 512 KiB per response, valid UTF-8 of a text type). If the page starts with a
   * message that is not a User message, the preceding user message's agent attachments join.
   */
  attachmentsForPage (chatSessionId: string, messages: readonly ChatMessage[]): WssAttachment[] {
    if (messages.length === 0) return []
    const ids = messages.map(m => m.id)
    let carry: string | null = null
    if (messages[0]!.role !== 'User') carry = this.#q.previousUser.get(chatSessionId, messages[0]!.id)?.id ?? null
    if (carry) ids.push(carry)
    const order = new Map(ids.map((id, i) => [id, i]))
    const rows = this.#db.prepare<string[], AttachmentRow>(`SELECT * FROM chat_attachments WHERE message_id IN (${ids.map(() => '?').join(',')})`).all(...ids)
      .filter(r => r.message_id !== carry || r.origin === 'agent')
      .sort((a, b) => (order.get(a.message_id)! - order.get(b.message_id)!) || a.created_at.localeCompare(b.created_at) ||
        a.filename.localeCompare(b.filename) || a.id.localeCompare(b.id))
    let budget = INLINE_BUDGET
    const decoder = new TextDecoder('utf-8', { fatal: true })
    return rows.map(r => {
      let text: string | null = null
      if (TEXT_TYPES.has(r.media_type) && r.data.length <= INLINE_MAX && r.data.length <= budget) {
        try { text = decoder.decode(r.data); budget -= r.data.length } catch { text = null }
      }
      return {
        created_at: r.created_at, filename: r.filename, height: r.height, id: r.id, media_type: r.media_type, message_id: r.message_id,
        origin: r.origin, size_bytes: r.size_bytes, text_content: text, tool_use_id: r.tool_use_id, width: r.width,
      }
    })
  }
}
