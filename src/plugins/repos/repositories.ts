// Repositories: the built-in SQLite RepoProvider, checking that a path is a git work tree,
// default-branch detection, and turning a provider's RepoInfo into the wire Repository.
import { randomUUID } from 'node:crypto'
import { constants, readFile as readFileCb } from 'node:fs'
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { sortKeys } from '../../core/rpc/serialize.js'
import { stripControls } from '../../core/text.js'
import type { Statement } from 'better-sqlite3'
import type { Store } from '../store/types.js'
import { NotAGitRepositoryError, RepoExistsError, RepoNotFoundError } from './errors.js'
import { isSafeRefName, type GitRunner } from './git.js'
import { REPOS_MIGRATIONS, sqlNow } from './migrations.js'
import { resolveInsideRoot } from './paths.js'
import type { AddRepositoryRequest, InputField, RepoInfo, RepoProvider, Repository } from './types.js'

/**
 * The small files under .git that load_initial_data reads for every workspace: the callback
 * readFile costs the event loop about half of fs/promises' (no FileHandle, fewer promise hops).
 */
const readSmallFile = promisify(readFileCb) as (path: string, encoding: 'utf8') => Promise<string>

/** Lowercase ASCII slug of a name: letters, digits and single dashes. */
export function slugify (name: string): string {
  const s = name.normalize('NFKD').replace(/[^\x00-\x7f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')
  return s.slice(0, 60).replace(/-+$/, '') || 'repo'
}

/**
 * Checks that `path` (absolute) is the top of a non-bare git work tree and returns its realpath.
 * Clear errors: missing path, not a directory, not a git repository, bare repository.
 */
export async function inspectRepositoryPath (git: GitRunner, path: string): Promise<string> {
  if (!isAbsolute(path) || path.includes('\0')) throw new NotAGitRepositoryError(`Repository path must be an absolute path: ${path.replace(/\0/g, '\\0')}`)
  let st
  try { st = await stat(path) } catch { throw new NotAGitRepositoryError(`Path does not exist: ${path}`) }
  if (!st.isDirectory()) throw new NotAGitRepositoryError(`Not a directory: ${path}`)
  const real = await realpath(path)
  let out
  try {
    // Detection on a path the client names: nothing recorded to pin yet. rev-parse runs no
    // configured command (and the runner turns them all off anyway).
    out = await git.run(null, ['rev-parse', '--is-bare-repository', '--is-inside-work-tree', '--show-toplevel'], { cwd: real, timeoutMs: 15_000 })
  } catch {
    throw new NotAGitRepositoryError(`Not a git repository: ${path}`)
  }
  const [bare, inside, top] = out.stdout.split('\n')
  if (bare === 'true' || inside !== 'true' || !top) throw new NotAGitRepositoryError(`Not a git work tree (bare repositories are not supported): ${path}`)
  const realTop = await realpath(top)
  if (realTop !== real) throw new NotAGitRepositoryError(`Not the top of a git work tree: ${path} (the repository starts at ${realTop})`)
  return real
}

/**
 * The branch new workspaces start from: `base_branch` if set, else the remote's HEAD branch,
 * else the main work tree's current branch, else `main`/`master` if one exists. Null if none.
 */
export async function detectDefaultBranch (git: GitRunner, repoPath: string, opts: { baseBranch?: string | null, defaultRemote?: string | null } = {}): Promise<string | null> {
  if (opts.baseBranch && isSafeRefName(opts.baseBranch)) return opts.baseBranch
  const remote = opts.defaultRemote && isSafeRefName(opts.defaultRemote) ? opts.defaultRemote : 'origin'
  // What the repository says is a ref name only if it is a safe one: it goes into git
  // arguments (merge-base, worktree add) and the workspace environment.
  const safe = (b: string | null | undefined): b is string => !!b && isSafeRefName(b)
  // Fast path: read the symbolic refs from disk (no process spawn); git itself is the fallback.
  const dirs = await gitDirs(repoPath)
  if (dirs) {
    const remoteHead = await readSymref(join(dirs.common, 'refs', 'remotes', remote, 'HEAD'))
    const fromRemote = remoteHead?.startsWith(`refs/remotes/${remote}/`) ? remoteHead.slice(`refs/remotes/${remote}/`.length) : null
    if (safe(fromRemote)) return fromRemote
    const head = await readSymref(join(dirs.gitDir, 'HEAD'))
    const current = head?.startsWith('refs/heads/') && head !== 'refs/heads/.invalid' ? head.slice('refs/heads/'.length) : null
    if (safe(current)) return current
  }
  if (!dirs) return null
  const tryGit = async (args: string[]): Promise<string | null> => {
    try { return (await git.run({ gitDir: dirs.gitDir }, args, { cwd: repoPath, timeoutMs: 15_000 })).stdout.trim() || null } catch { return null }
  }
  const remoteHead = await tryGit(['symbolic-ref', '--quiet', '--short', `refs/remotes/${remote}/HEAD`])
  const fromRemote = remoteHead?.startsWith(`${remote}/`) ? remoteHead.slice(remote.length + 1) : null
  if (safe(fromRemote)) return fromRemote
  const current = await tryGit(['symbolic-ref', '--quiet', '--short', 'HEAD'])
  if (safe(current)) return current
  for (const b of ['main', 'master']) {
    if (await tryGit(['rev-parse', '--verify', '--quiet', `refs/heads/${b}`])) return b
  }
  return null
}

/** The git dir and common dir of a work tree (main or linked), read from `.git`; null if unusual. */
export async function gitDirs (worktree: string): Promise<{ gitDir: string, common: string } | null> {
  const dotgit = join(worktree, '.git')
  let gitDir: string | null
  try {
    const st = await lstat(dotgit)
    gitDir = st.isDirectory() ? dotgit : await readGitLink(worktree)
  } catch { return null }
  if (gitDir === null) return null
  let common = gitDir
  try { common = resolve(gitDir, (await readSmallFile(join(gitDir, 'commondir'), 'utf8')).trim()) } catch { /* main work tree */ }
  return { gitDir, common }
}

/** The target of a symbolic ref file (`ref: refs/heads/x` → `refs/heads/x`); null if missing or not symbolic. */
async function readSymref (file: string): Promise<string | null> {
  try {
    const m = /^ref: (\S+)\s*$/.exec(await readSmallFile(file, 'utf8'))
    return m ? m[1]! : null
  } catch { return null }
}

/**
 * The branch checked out in the work tree whose git dir is `gitDir`: the name, `null` when
 * detached, `undefined` when it cannot be read from disk (the caller asks git).
 */
export async function currentBranch (gitDir: string): Promise<string | null | undefined> {
  let text: string
  try { text = await readSmallFile(join(gitDir, 'HEAD'), 'utf8') } catch { return undefined }
  const m = /^ref: refs\/heads\/(\S+)\s*$/.exec(text)
  if (m) return m[1] === '.invalid' ? undefined : m[1]!
  return /^[0-9a-f]{40,64}\s*$/.test(text) ? null : undefined
}

/**
 * Where `<worktree>/.git` points, read without running git: the resolved `gitdir:` path if the
 * file is a regular file (not a symlink, not a directory, not a FIFO) holding one `gitdir:` line;
 * null otherwise.
 */
export async function readGitLink (worktree: string): Promise<string | null> {
  const file = join(worktree, '.git')
  let fh
  try {
    const st = await lstat(file)
    if (!st.isFile() || st.size > 4096) return null
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch { return null }
  try {
    const st = await fh.stat()
    if (!st.isFile() || st.size > 4096) return null
    const m = /^gitdir: ([^\n]+?)\s*$/.exec((await fh.readFile()).toString('utf8'))
    return m ? resolve(worktree, m[1]!) : null
  } finally { await fh.close() }
}

/** The entry of `<common>/worktrees/` whose `gitdir` file names `<worktree>/.git` (what git recorded), or null. */
export async function findWorktreeAdminDir (common: string, worktree: string): Promise<string | null> {
  const dir = join(common, 'worktrees')
  const wanted = new Set([join(worktree, '.git')])
  try { wanted.add(join(await realpath(worktree), '.git')) } catch { /* gone */ }
  let names: string[]
  try { names = await readdir(dir) } catch { return null }
  // git names the entry after the worktree's directory (plus a number on a clash): look there first.
  const base = basename(worktree)
  names.sort((a, b) => Number(b === base) - Number(a === base))
  for (const name of names) {
    try { if (wanted.has((await readSmallFile(join(dir, name, 'gitdir'), 'utf8')).trim())) return join(dir, name) } catch { /* not a worktree entry */ }
  }
  return null
}

/** Whether `adminDir` is an entry of the repository's `<common>/worktrees/` (compared by realpath). */
export async function isWorktreeAdminDirOf (common: string, adminDir: string): Promise<boolean> {
  try { return await realpath(dirname(adminDir)) === await realpath(join(common, 'worktrees')) } catch { return false }
}

/** Whether `p` is a directory now (false for anything missing or unreadable). */
export const isDir = async (p: string): Promise<boolean> => {
  try { return (await stat(p)).isDirectory() } catch { return false }
}

/**
 * `path_valid` for list_repositories, answered from a cache that lives `ttlMs`: a fleet of
 * devices polling the list shares one stat per repository per second instead of one each, and
 * concurrent calls share the stat in flight: each async stat wakes a thread-pool thread, and on
 * a busy machine the woken thread preempts the event loop.
 */
export class DirectoryCheck {
  readonly #cache = new Map<string, { at: number, ok: Promise<boolean> }>()
  constructor (private readonly ttlMs = 1000, private readonly maxEntries = 4096) {}

  isDir (p: string): Promise<boolean> {
    const now = performance.now()
    const hit = this.#cache.get(p)
    if (hit && now - hit.at < this.ttlMs) return hit.ok
    if (this.#cache.size >= this.maxEntries) this.#cache.clear()
    const ok = isDir(p)
    this.#cache.set(p, { at: now, ok })
    return ok
  }
}

// Input fields are printed as the reference prints them: keys in alphabetical order, unset
// members left out (wire doc §0, §6.2).
const inputField = (f: InputField): InputField => sortKeys({ ...f, required: f.required ?? true }, { omitNullish: true })

/** A provider's RepoInfo as the wire Repository (defaults filled, keys in wire order, path checked). */
export async function toRepository (info: RepoInfo, dirCheck: (path: string) => Promise<boolean> = isDir): Promise<Repository> {
  return {
    archive_script: info.archive_script ?? null,
    archive_script_auto_run: info.archive_script_auto_run ?? false,
    base_branch: info.base_branch ?? null,
    branch_rename_preferences: info.branch_rename_preferences ?? null,
    created_at: info.created_at ?? sqlNow(new Date(0)),
    custom_instructions: info.custom_instructions ?? null,
    default_remote: info.default_remote ?? null,
    icon: info.icon ?? null,
    id: info.id,
    name: info.name,
    path: info.path,
    path_slug: info.path_slug ?? slugify(info.name),
    path_valid: await dirCheck(info.path),
    required_inputs: info.required_inputs ? info.required_inputs.map(inputField) : null,
    setup_script: info.setup_script ?? null,
    setup_script_auto_run: info.setup_script_auto_run ?? false,
    sort_order: info.sort_order ?? 0,
  }
}

interface RepoRow {
  id: string, path: string, name: string, path_slug: string, icon: string | null, created_at: string,
  setup_script: string | null, custom_instructions: string | null, sort_order: number,
  branch_rename_preferences: string | null, setup_script_auto_run: number, archive_script: string | null,
  archive_script_auto_run: number, base_branch: string | null, default_remote: string | null, required_inputs: string | null
}

const parseInputs = (json: string | null): InputField[] | null => {
  if (!json) return null
  try {
    const v = JSON.parse(json) as unknown
    return Array.isArray(v) ? v as InputField[] : null
  } catch { return null }
}

const fromRow = (r: RepoRow): RepoInfo => ({
  id: r.id,
  path: r.path,
  name: r.name,
  path_slug: r.path_slug,
  icon: r.icon,
  created_at: r.created_at,
  setup_script: r.setup_script,
  custom_instructions: r.custom_instructions,
  sort_order: r.sort_order,
  branch_rename_preferences: r.branch_rename_preferences,
  setup_script_auto_run: r.setup_script_auto_run === 1,
  archive_script: r.archive_script,
  archive_script_auto_run: r.archive_script_auto_run === 1,
  base_branch: r.base_branch,
  default_remote: r.default_remote,
  required_inputs: parseInputs(r.required_inputs),
})

/** The built-in RepoProvider: repositories registered in this server's SQLite database. */
export class SqliteRepoProvider implements RepoProvider {
  readonly kind = 'sqlite'
  readonly #store: Store

  constructor (store: Store) {
    store.migrate('repos', REPOS_MIGRATIONS)
    this.#store = store
  }

  // Prepared once, on first use: these run on nearly every RPC (better-sqlite3 caches nothing).
  #qList: Statement<[], RepoRow> | null = null
  #qGet: Statement<[string], RepoRow> | null = null
  #qExists: Statement<[string], { id: string }> | null = null

  async list (): Promise<readonly RepoInfo[]> {
    this.#qList ??= this.#store.db.prepare<[], RepoRow>('SELECT * FROM repositories ORDER BY sort_order, created_at, id')
    return this.#qList.all().map(fromRow)
  }

  async get (id: string): Promise<RepoInfo> {
    this.#qGet ??= this.#store.db.prepare<[string], RepoRow>('SELECT * FROM repositories WHERE id = ?')
    const row = this.#qGet.get(id)
    if (!row) throw new RepoNotFoundError(id)
    return fromRow(row)
  }

  async resolveInside (repoId: string, relPath: string): Promise<string> {
    const repo = await this.get(repoId)
    return resolveInsideRoot(repo.path, relPath, 'the repository')
  }

  /** `path` must already be a checked realpath (inspectRepositoryPath). */
  async add (req: AddRepositoryRequest): Promise<RepoInfo> {
    const db = this.#store.db
    // The directory name is as hostile as a given name (a device can create directories).
    const name = stripControls(req.name ?? '') || stripControls(basename(req.path)) || 'repository'
    const insert = db.transaction((): string => {
      const existing = db.prepare<[string], { id: string }>('SELECT id FROM repositories WHERE path = ?').get(req.path)
      if (existing) throw new RepoExistsError(req.path, existing.id)
      const slugs = new Set(db.prepare<[], { path_slug: string }>('SELECT path_slug FROM repositories').all().map(r => r.path_slug))
      const base = slugify(name)
      let slug = base
      for (let i = 2; slugs.has(slug); i++) slug = `${base}-${i}`
      const order = db.prepare<[], { n: number | null }>('SELECT MAX(sort_order) AS n FROM repositories').get()?.n ?? -1
      const id = randomUUID()
      db.prepare('INSERT INTO repositories (id, path, name, path_slug, created_at, sort_order) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, req.path, name, slug, sqlNow(), order + 1)
      return id
    })
    return this.get(insert.immediate())
  }

  isRegistered (id: string): boolean {
    this.#qExists ??= this.#store.db.prepare<[string], { id: string }>('SELECT id FROM repositories WHERE id = ?')
    return this.#qExists.get(id) !== undefined
  }

  async remove (id: string): Promise<void> {
    if (!this.removeNow(id)) throw new RepoNotFoundError(id)
  }

  /** Deletes the row in one statement, for a caller's own transaction (`repo remove`); false if there was none. */
  removeNow (id: string): boolean {
    return this.#store.db.prepare('DELETE FROM repositories WHERE id = ?').run(id).changes > 0
  }
}
