// Diffs of a workspace: the file list per layer (committed, staged, unstaged, untracked) and
// one file's hunks. Paths reach git after `--` with literal pathspecs; nothing follows symlinks.
import { constants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { join, normalize } from 'node:path'
import type { Confinement } from './confinement.js'
import { InvalidRefError, PathNotAllowedError } from './errors.js'
import { bindGit, isCommitId, isSafeRefName, type BoundGit } from './git.js'
import { resolveInsideRoot } from './paths.js'
import type { RegisteredRepositories } from './registered-repositories.js'
import { detectDefaultBranch, isDir } from './repositories.js'
import type { DiffFile, DiffFileStatus, DiffFilesResult, DiffHunk, DiffLayer, DiffLine, FileDiff, Repository, StagedDiffFiles } from './types.js'
import type { PinnedGit } from './workspace-git.js'

/** Flags for every diff we run: no external diff drivers or textconv filters from any config, no submodules. */
const DIFF_FLAGS = ['--no-color', '--no-ext-diff', '--no-textconv', '--ignore-submodules=all']
const MAX_DIFF_BYTES = 16 * 1024 * 1024
const MAX_COUNTED_UNTRACKED = 2000
const MAX_COUNTED_BYTES = 4 * 1024 * 1024

/** The commit a workspace's branch forked from: merge-base of the default branch and HEAD. */
export async function mergeBase (git: BoundGit, baseBranch: string | null, remote = 'origin'): Promise<string> {
  const candidates = baseBranch ? [baseBranch, `${remote}/${baseBranch}`] : []
  for (const base of candidates) {
    try {
      const out = await git(['merge-base', '--', base, 'HEAD'], { timeoutMs: 30_000 })
      const mb = out.stdout.trim()
      if (mb) return mb
    } catch { /* try the next candidate */ }
  }
  // No usable base: compare against HEAD itself (nothing committed on the branch).
  return (await git(['rev-parse', '--verify', 'HEAD^{commit}'], { timeoutMs: 30_000 })).stdout.trim()
}

function statusOf (code: string, from: string | undefined): DiffFileStatus {
  switch (code[0]) {
    case 'A': case 'C': return 'Added'
    case 'D': return 'Deleted'
    case 'R': return { Renamed: { from: from ?? '' } }
    default: return 'Modified'
  }
}

/** One `git diff -z --raw --numstat` over a range: status and line counts per path in one process. */
async function listDiff (git: BoundGit, worktree: string, range: readonly string[]): Promise<DiffFile[]> {
  const out = await git(['diff', ...DIFF_FLAGS, '-M', '-z', '--raw', '--numstat', ...range, '--'], { maxBuffer: MAX_DIFF_BYTES })
  const entries: Array<{ code: string, from?: string, path: string }> = []
  const counts = new Map<string, { a: number | null, d: number | null }>()
  const t = out.stdout.split('\0')
  for (let i = 0; i < t.length;) {
    const tok = t[i++]
    if (!tok) continue
    if (tok.startsWith(':')) {
      // ":<mode> <mode> <sha> <sha> <status>" NUL path (NUL new path for renames/copies)
      const code = tok.split(' ')[4] ?? 'M'
      if (code[0] === 'R' || code[0] === 'C') {
        const from = t[i++] ?? ''
        entries.push({ code, from, path: t[i++] ?? '' })
      } else entries.push({ code, path: t[i++] ?? '' })
    } else {
      // "<added>\t<deleted>\t<path>", or "<added>\t<deleted>\t" NUL old NUL new for renames
      const [a, d, p] = tok.split('\t')
      let path = p ?? ''
      if (path === '') { i++; path = t[i++] ?? '' }
      counts.set(path, { a: a === '-' ? null : Number(a), d: d === '-' ? null : Number(d) })
    }
  }
  return entries.map(e => {
    const c = counts.get(e.path)
    return { additions: c?.a ?? null, deletions: c?.d ?? null, path: e.path, status: statusOf(e.code, e.code[0] === 'R' ? e.from : undefined) }
  })
}

/** Untracked files (respecting .gitignore) as Added, with line counts for small text files. */
async function listUntracked (git: BoundGit, worktree: string): Promise<DiffFile[]> {
  const out = await git(['ls-files', '--others', '--exclude-standard', '-z', '--'], { maxBuffer: MAX_DIFF_BYTES })
  const paths = out.stdout.split('\0').filter(Boolean)
  const files: DiffFile[] = []
  for (const [i, path] of paths.entries()) {
    const additions = i < MAX_COUNTED_UNTRACKED ? await countLines(join(worktree, path)) : null
    files.push({ additions, deletions: 0, path, status: 'Added' })
  }
  return files
}

/** Line count of a regular file (never follows a symlink); null for binary or large files. */
async function countLines (file: string): Promise<number | null> {
  let st
  try { st = await lstat(file) } catch { return null }
  if (st.isSymbolicLink()) return 1 // git shows a link as one line: its target
  if (!st.isFile() || st.size > MAX_COUNTED_BYTES) return null
  // No following a link and no blocking on a FIFO, should the file have been swapped since lstat.
  let fh
  try { fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK) } catch { return null }
  try {
    const now = await fh.stat()
    if (!now.isFile() || now.size > MAX_COUNTED_BYTES) return null
    const buf = await fh.readFile()
    if (buf.subarray(0, 8000).includes(0)) return null
    if (buf.length === 0) return 0
    let n = 0
    for (const b of buf) if (b === 10) n++
    return buf[buf.length - 1] === 10 ? n : n + 1
  } finally { await fh.close() }
}

const byPath = (a: DiffFile, b: DiffFile): number => a.path < b.path ? -1 : a.path > b.path ? 1 : 0

/** `load_diff_files`: the combined list (merge-base → working tree, untracked included) and the four layers. */
export async function diffFiles (git: BoundGit, worktree: string, base: string): Promise<{ files: DiffFile[], staged_files: StagedDiffFiles }> {
  const [committed, staged, unstaged, untracked, combined] = await Promise.all([
    listDiff(git, worktree, [base, 'HEAD']),
    listDiff(git, worktree, ['--cached']),
    listDiff(git, worktree, []),
    listUntracked(git, worktree),
    listDiff(git, worktree, [base]),
  ])
  const seen = new Set(combined.map(f => f.path))
  const files = [...combined, ...untracked.filter(f => !seen.has(f.path))].sort(byPath)
  return { files, staged_files: { committed, staged, unstaged, untracked } }
}

/** Is `rel` an untracked file of the worktree? */
async function isUntracked (git: BoundGit, worktree: string, rel: string): Promise<boolean> {
  const out = await git(['ls-files', '--others', '--exclude-standard', '-z', '--', rel])
  return out.stdout.split('\0').includes(rel)
}

async function noIndexDiff (git: BoundGit, worktree: string, rel: string): Promise<string> {
  return (await git(['diff', ...DIFF_FLAGS, '--no-index', '--', '/dev/null', rel], { okCodes: [1], maxBuffer: MAX_DIFF_BYTES })).stdout
}

/**
 * `load_file_diff`: one file's diff in the requested layer. `rel` and `base` must already be
 * validated (relative, confined; a commit id or safe ref).
 */
export async function fileDiff (git: BoundGit, worktree: string, rel: string, base: string, layer: DiffLayer | string | null | undefined): Promise<FileDiff> {
  let text: string
  const run = async (range: string[]): Promise<string> =>
    (await git(['diff', ...DIFF_FLAGS, ...range, '--', rel], { maxBuffer: MAX_DIFF_BYTES })).stdout
  switch (layer) {
    case 'committed': text = await run([base, 'HEAD']); break
    case 'staged': text = await run(['--cached']); break
    case 'unstaged': text = await run([]); break
    case 'untracked': text = await noIndexDiff(git, worktree, rel); break
    default:
      text = await run([base])
      if (text === '' && await isUntracked(git, worktree, rel)) text = await noIndexDiff(git, worktree, rel)
  }
  return parseUnifiedDiff(text, rel)
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/

/** Parses one file's unified diff into the wire FileDiff. */
export function parseUnifiedDiff (text: string, path: string): FileDiff {
  const hunks: DiffHunk[] = []
  let isBinary = false
  let hunk: DiffHunk | null = null
  let oldNo = 0
  let newNo = 0
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (const line of lines) {
    const m = HUNK.exec(line)
    if (m) {
      oldNo = Number(m[1])
      newNo = Number(m[2])
      hunk = { header: line, lines: [], new_start: newNo, old_start: oldNo }
      hunks.push(hunk)
      continue
    }
    if (!hunk) {
      if (line.startsWith('Binary files ') || line === 'GIT binary patch') isBinary = true
      continue
    }
    let l: DiffLine
    const c = line[0]
    if (c === '+') l = { content: line.slice(1), line_type: 'Added', new_line_number: newNo++, old_line_number: null }
    else if (c === '-') l = { content: line.slice(1), line_type: 'Removed', new_line_number: null, old_line_number: oldNo++ }
    else if (c === ' ' || line === '') l = { content: line.slice(1), line_type: 'Context', new_line_number: newNo++, old_line_number: oldNo++ }
    else if (c === '\\') continue // "\ No newline at end of file"
    else { hunk = null; if (line.startsWith('Binary files ')) isBinary = true; continue } // next file header
    hunk.lines.push(l)
  }
  return { hunks, is_binary: isBinary, path }
}

/** load_diff_files and load_file_diff on the server's workspaces, pinned and confined. */
export class WorkspaceDiffs {
  constructor (
    private readonly git: PinnedGit,
    private readonly repositories: RegisteredRepositories,
    private readonly confinement: Confinement,
  ) {}

  async #mergeBase (repo: Repository, git: BoundGit): Promise<string> {
    const b = await detectDefaultBranch(this.git.runner, repo.path, { baseBranch: repo.base_branch, defaultRemote: repo.default_remote })
    const remote = repo.default_remote && isSafeRefName(repo.default_remote) ? repo.default_remote : 'origin'
    return mergeBase(git, b, remote)
  }

  async loadDiffFiles (workspaceId: string): Promise<DiffFilesResult> {
    const { path, repo, target } = await this.git.pinnedWorkspace(workspaceId)
    const git = bindGit(this.git.runner, target, path)
    const mb = await this.#mergeBase(repo, git)
    const { files, staged_files } = await diffFiles(git, path, mb)
    return { files, merge_base: mb, staged_files }
  }

  async loadFileDiff (p: { worktree_path: string, file_path: string, merge_base: string, diff_layer?: string | null }): Promise<FileDiff> {
    const { path, row } = await this.confinement.worktreeFromClient(p.worktree_path)
    const repo = await this.repositories.require(row.repository_id)
    const git = bindGit(this.git.runner, await this.git.workspaceTarget(row, repo.path), path)
    const real = await resolveInsideRoot(path, p.file_path)
    if (await isDir(real)) throw new PathNotAllowedError('Invalid file path: is a directory')
    const rel = normalize(p.file_path).replace(/\/+$/, '')
    const layer = p.diff_layer ?? null
    let base = p.merge_base
    if (layer !== 'staged' && layer !== 'unstaged' && layer !== 'untracked') {
      if (base === '') base = await this.#mergeBase(repo, git)
      else if (!isCommitId(base) && !isSafeRefName(base)) throw new InvalidRefError(`Invalid merge base: '${base.length > 100 ? base.slice(0, 100) + '…' : base}'`)
    }
    const d = await fileDiff(git, path, rel, base, layer)
    return { hunks: d.hunks, is_binary: d.is_binary, path: p.file_path }
  }
}
