// Checkpoints of a worktree as git commits that never touch what the user sees: the state is
// staged into a temporary index (the real index, HEAD and the branch stay as they are), written
// as a tree, committed with `git commit-tree` and kept alive by a ref under
// refs/claudette/checkpoints/<chat session>/<turn>. A turn that changed nothing records no commit.
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import type { ProcessRunner } from '../../core/process-runner.js'

const IDENTITY = {
  GIT_AUTHOR_NAME: 'claudette-server',
  GIT_AUTHOR_EMAIL: 'claudette-server@localhost',
  GIT_COMMITTER_NAME: 'claudette-server',
  GIT_COMMITTER_EMAIL: 'claudette-server@localhost',
}

/** Runs git through the server's ProcessRunner (spawned by its helper process); stdout trimmed. */
async function git (runner: ProcessRunner, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const res = await runner.run('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env }, maxBuffer: 16 * 1024 * 1024, timeoutMs: 120_000 })
    return res.stdout.trim()
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr
    throw new Error(`git ${args[0]} failed: ${String(stderr ?? '').trim() || (err as Error).message}`, { cause: err })
  }
}

export const checkpointRef = (chatSessionId: string, turnIndex: number): string => `refs/claudette/checkpoints/${chatSessionId}/${turnIndex}`

export interface CheckpointCommit {
  /** The new commit, or null when the worktree equals the previous state. */
  readonly commit: string | null
}

/**
 * Records the worktree state at `cwd` (tracked and untracked files, .gitignore honoured).
 * `parent` is the previous checkpoint's commit; without one the comparison base is HEAD.
 */
export async function commitWorktreeState (runner: ProcessRunner, cwd: string, parent: string | null, ref: string, message: string): Promise<CheckpointCommit> {
  const dir = await mkdtemp(join(tmpdir(), 'claudette-cp-'))
  try {
    const index = join(dir, 'index')
    const env = { GIT_INDEX_FILE: index }
    // Start from a copy of the real index so unchanged files are not re-hashed.
    const realIndex = await git(runner, cwd, ['rev-parse', '--git-path', 'index'])
    const head = await git(runner, cwd, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => null)
    try { await copyFile(isAbsolute(realIndex) ? realIndex : join(cwd, realIndex), index) } catch {
      if (head) await git(runner, cwd, ['read-tree', head], env)
    }
    await git(runner, cwd, ['add', '-A', '--', '.'], env)
    const tree = await git(runner, cwd, ['write-tree'], env)
    const base = parent ?? head
    const baseTree = base ? await git(runner, cwd, ['rev-parse', `${base}^{tree}`]).catch(() => null) : null
    if (baseTree === tree) return { commit: null }
    const commit = await git(runner, cwd, ['commit-tree', tree, ...(base ? ['-p', base] : []), '-m', message], IDENTITY)
    await git(runner, cwd, ['update-ref', ref, commit])
    return { commit }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
