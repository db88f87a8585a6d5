// Checkpoints of a worktree as git commits that never touch what the user sees: the state is
// staged into a temporary index (the real index, HEAD and the branch stay as they are), written
// as a tree, committed with `git commit-tree` and kept alive by a ref under
// refs/claudette/checkpoints/<chat session>/<turn>. A turn that changed nothing records no commit.
// git runs through the repos plugin (REPOS.Git): pinned to the workspace's recorded git dir,
// refused when the worktree's .git was redirected, with hooks, fsmonitor and filters off.
import { randomUUID } from 'node:crypto'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { WorkspaceGit } from '../repos/types.js'
import { sqlNow } from './store.js'
import type { ChatStore, ConversationCheckpoint, NewToolActivity } from './types.js'

const IDENTITY = {
  GIT_AUTHOR_NAME: 'claudette-server',
  GIT_AUTHOR_EMAIL: 'claudette-server@localhost',
  GIT_COMMITTER_NAME: 'claudette-server',
  GIT_COMMITTER_EMAIL: 'claudette-server@localhost',
}

export const checkpointRef = (chatSessionId: string, turnIndex: number): string => `refs/claudette/checkpoints/${chatSessionId}/${turnIndex}`

export interface CheckpointCommit {
  /** The new commit, or null when the worktree equals the previous state. */
  readonly commit: string | null
}

/**
 * Records the state of the workspace's worktree at `cwd` (tracked and untracked files,
 * .gitignore honoured). `parent` is the previous checkpoint's commit; without one the
 * comparison base is HEAD.
 */
export async function commitWorktreeState (workspaceGit: WorkspaceGit, workspaceId: string, cwd: string, parent: string | null, ref: string, message: string): Promise<CheckpointCommit> {
  const git = async (args: string[], env: Record<string, string> = {}): Promise<string> =>
    (await workspaceGit.runInWorkspace(workspaceId, args, { env, maxBuffer: 16 * 1024 * 1024, timeoutMs: 120_000 })).stdout.trim()
  const dir = await mkdtemp(join(tmpdir(), 'claudette-cp-'))
  try {
    const index = join(dir, 'index')
    const env = { GIT_INDEX_FILE: index }
    // Start from a copy of the real index so unchanged files are not re-hashed.
    const realIndex = await git(['rev-parse', '--git-path', 'index'])
    const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => null)
    try { await copyFile(isAbsolute(realIndex) ? realIndex : join(cwd, realIndex), index) } catch {
      if (head) await git(['read-tree', head], env)
    }
    await git(['add', '-A', '--', '.'], env)
    const tree = await git(['write-tree'], env)
    const base = parent ?? head
    const baseTree = base ? await git(['rev-parse', `${base}^{tree}`]).catch(() => null) : null
    if (baseTree === tree) return { commit: null }
    const commit = await git(['commit-tree', '--no-gpg-sign', tree, ...(base ? ['-p', base] : []), '-m', message], IDENTITY)
    await git(['update-ref', ref, commit])
    return { commit }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** What a checkpoint records of a finished turn. */
export interface TurnSummary {
  readonly chatSessionId: string
  readonly workspaceId: string
  readonly cwd: string
  /** The turn's last assistant message (its user message when it has none). */
  readonly messageId: string
  readonly activities: readonly NewToolActivity[]
}

/** One checkpoint per finished turn: its file state (when enabled) and its tool activities. */
export class TurnCheckpoints {
  constructor (
    private readonly store: ChatStore,
    private readonly workspaceGit: WorkspaceGit,
    private readonly withFileState: boolean,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * Commits the worktree state, then saves the checkpoint, unless `closed()` says the server
   * closed meanwhile (then nothing is saved and the result is null). A failed commit is logged
   * and the checkpoint saved without file state.
   */
  async record (turn: TurnSummary, closed: () => boolean): Promise<ConversationCheckpoint | null> {
    const { chatSessionId, workspaceId } = turn
    const prev = this.store.latestCheckpoint(chatSessionId)
    const turnIndex = prev ? prev.turn_index + 1 : 0
    let commit: string | null = null
    if (this.withFileState) {
      try {
        const parent = this.store.latestCommit(chatSessionId)
        commit = (await commitWorktreeState(this.workspaceGit, workspaceId, turn.cwd, parent, checkpointRef(chatSessionId, turnIndex),
          `claudette checkpoint: chat ${chatSessionId} turn ${turnIndex}`)).commit
      } catch (err) {
        this.log.warn({ err, chatSessionId }, 'checkpoint commit failed; recorded without file state')
      }
    }
    if (closed()) return null
    const cp: ConversationCheckpoint = {
      chat_session_id: chatSessionId,
      commit_hash: commit,
      created_at: sqlNow(),
      has_file_state: commit !== null,
      id: randomUUID(),
      message_count: this.store.countAll(chatSessionId),
      message_id: turn.messageId,
      turn_index: turnIndex,
      workspace_id: workspaceId,
    }
    this.store.insertCheckpoint(cp, turn.activities)
    return cp
  }
}
