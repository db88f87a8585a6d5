// Running git: one runner for every git process the server starts. Argument arrays only (never a
// shell), literal pathspecs, a scrubbed environment, a repository pinned by the caller (never
// discovered from a `.git` a worktree can change), every configured command turned off, and
// plain one-line error messages. Plus the validators for names and refs that reach git.
import { existsSync } from 'node:fs'
import { ProcessError, type ChildProcesses } from '../../core/process-runner.js'
import { GitCommandError, InvalidRefError } from './errors.js'

export interface GitResult { readonly stdout: string, readonly stderr: string, readonly code: number }

/**
 * The repository a git process works on, as the server recorded it. `gitDir` is passed as
 * `--git-dir` (a worktree's own admin dir `<common>/worktrees/<name>`, or a repository's git
 * dir), `workTree` as `--work-tree`. Null only for detection on a path a client names
 * (add_repository), where there is nothing recorded yet.
 */
export interface GitTarget { readonly gitDir: string, readonly workTree?: string }

export interface GitRunOptions {
  readonly cwd: string
  /** Exit codes other than 0 that are not failures (e.g. 1 for `diff --no-index`). */
  readonly okCodes?: readonly number[]
  readonly timeoutMs?: number
  readonly maxBuffer?: number
  /** Extra environment, applied after the scrub (e.g. GIT_INDEX_FILE, author identity). */
  readonly env?: Record<string, string>
  /**
   * Checkouts only (`worktree add`): keep the repository owner's filter drivers (git-lfs needs
   * its smudge filter). Hooks, fsmonitor and the rest stay off.
   */
  readonly ownerFilters?: boolean
}

/**
 * Environment variables git reads that are kept: they only choose which of the operator's own
 * config files apply, and every key there that runs a command is overridden by HARDENING below
 * (`-c` beats every file). Every other GIT_* variable is dropped: they redirect the repository
 * (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_COMMON_DIR, GIT_OBJECT_DIRECTORY, …), inject config
 * (GIT_CONFIG, GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT/KEY_n/VALUE_n) or name commands
 * (GIT_EXTERNAL_DIFF, GIT_PAGER, GIT_EDITOR, GIT_SSH, GIT_SSH_COMMAND, GIT_ASKPASS, GIT_EXEC_PATH,
 * GIT_PROXY_COMMAND, GIT_TEMPLATE_DIR, GIT_TRACE*, …), e.g. when the server was started from a
 * git hook or a shell that set them.
 */
const KEPT_GIT_ENV = new Set(['GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_ATTR_NOSYSTEM'])
/** Non-GIT_ variables that make git run a command. */
const COMMAND_ENV = ['SSH_ASKPASS', 'GIT_ASKPASS', 'PAGER', 'EDITOR', 'VISUAL']

export function gitEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GIT_') && !KEPT_GIT_ENV.has(k)) continue
    if (COMMAND_ENV.includes(k)) continue
    env[k] = v
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0', // never wait for credentials
    GIT_OPTIONAL_LOCKS: '0', // read-only commands do not take the index lock
    GIT_LITERAL_PATHSPECS: '1', // a client path is a path, never pathspec magic
    LC_ALL: 'C',
    ...extra,
  }
}

/**
 * `-c` settings for every git process: each git feature that runs a configured command is off,
 * whatever the repository's, the user's or the system's config says. (`-c` also reaches the git
 * processes git itself starts, through GIT_CONFIG_PARAMETERS.) Those a local repository can
 * trigger (fsmonitor, hooks, ssh commands, filters, external diff) are checked against the
 * installed git by test/plugins/repos/git-hardening.test.ts and test/e2e/security-git-config.test.ts.
 */
export const HARDENING: readonly string[] = [
  'core.fsmonitor=false', // a hook command or the builtin daemon
  'core.hooksPath=/dev/null', // no hook can exist under a non-directory
  'core.pager=cat', // no pager (`cat` means none to git)
  'core.askPass=', // with GIT_TERMINAL_PROMPT=0: no prompt of any kind
  'credential.helper=', // an empty value resets the helper list
  'protocol.allow=never', // no transport at all: nothing here fetches, so no ssh/proxy command
  'gc.auto=0', 'maintenance.auto=false', // no background `git gc`/`maintenance` (which run hooks)
  'submodule.recurse=false', 'diff.ignoreSubmodules=all', 'status.submoduleSummary=false', // a submodule's .git is the worktree's to change
  'core.untrackedCache=false',
  'commit.gpgSign=false', 'tag.gpgSign=false', // no gpg.program
  'core.quotepath=off', 'color.ui=false',
].flatMap(kv => ['-c', kv])

const DEFAULT_TIMEOUT_MS = 60_000
const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024
/**
 * Subcommands that neither read work-tree files nor write an index (writing one re-hashes
 * "racily clean" entries through the clean filter: write-tree does): no lookup of the drivers for
 * them. Anything else (add, status, diff, write-tree, worktree add/remove, …) gets every driver
 * turned off.
 */
const NO_FILTER_COMMANDS = new Set(['rev-parse', 'symbolic-ref', 'update-ref', 'merge-base', 'rev-list', 'commit-tree', 'config', 'branch'])
const NO_FILTER_WORKTREE_COMMANDS = new Set(['list', 'prune', 'lock', 'unlock'])

function needsFilterOverrides (args: readonly string[]): boolean {
  const words = args.filter(a => !a.startsWith('-'))
  if (words[0] === 'worktree') return !NO_FILTER_WORKTREE_COMMANDS.has(words[1] ?? '')
  return !NO_FILTER_COMMANDS.has(words[0] ?? '')
}

/**
 * The one git runner of the server (owned by the repos plugin; other plugins reach it through
 * `REPOS.Git`). Every call pins its repository (GitTarget), drops the environment that redirects
 * git, turns off hooks, fsmonitor, pagers, helpers, and, except for checkouts, the repository's
 * filter drivers.
 */
export class GitRunner {
  /** Driver lookups in flight, shared by the calls that start meanwhile (a diff starts five git processes at once). */
  readonly #filters = new Map<string, Promise<Record<string, string>>>()

  constructor (private readonly runner: ChildProcesses) {}

  /**
   * Runs `git <args>` on `target` in `cwd` through the server's ProcessRunner (spawned by its
   * helper process; no shell). Fails with GitCommandError carrying git's own first error line,
   * e.g. `git worktree failed: fatal: '…' already exists`.
   */
  async run (target: GitTarget | null, args: readonly string[], opts: GitRunOptions): Promise<GitResult> {
    const pin = target ? [`--git-dir=${target.gitDir}`, ...(target.workTree ? [`--work-tree=${target.workTree}`] : [])] : []
    const filters = target && !opts.ownerFilters && needsFilterOverrides(args) ? await this.#filterOverrides(target.gitDir, opts.cwd) : {}
    return this.#exec([...HARDENING, ...pin, ...args], args, { ...opts, env: { ...opts.env, ...filters } })
  }

  /**
   * Config (as GIT_CONFIG_COUNT/KEY_n/VALUE_n, which takes any key, unlike `-c` and a driver
   * name containing `=`) that makes every filter driver configured for `gitDir` (repository,
   * user and system config) a no-op: empty clean/smudge/process commands, not required. git
   * skips a driver whose commands are empty.
   */
  #filterOverrides (gitDir: string, cwd: string): Promise<Record<string, string>> {
    const inFlight = this.#filters.get(gitDir)
    if (inFlight) return inFlight
    const env = this.#exec([...HARDENING, `--git-dir=${gitDir}`, 'config', '--null', '--get-regexp', '^filter\\.'], ['config'], { cwd, okCodes: [1], timeoutMs: 15_000 })
      .then(res => {
        const names = new Set<string>()
        for (const entry of res.stdout.split('\0')) {
          const key = entry.split('\n', 1)[0]!
          const m = /^filter\.(.+)\.[^.]+$/s.exec(key)
          if (m) names.add(m[1]!)
        }
        const pairs = [...names].flatMap(n => [[`filter.${n}.clean`, ''], [`filter.${n}.smudge`, ''], [`filter.${n}.process`, ''], [`filter.${n}.required`, 'false']])
        const out: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) }
        pairs.forEach(([k, v], i) => { out[`GIT_CONFIG_KEY_${i}`] = k!; out[`GIT_CONFIG_VALUE_${i}`] = v! })
        return pairs.length ? out : {}
      })
    this.#filters.set(gitDir, env)
    const done = (): void => { if (this.#filters.get(gitDir) === env) this.#filters.delete(gitDir) }
    env.then(done, done)
    return env
  }

  async #exec (argv: readonly string[], args: readonly string[], opts: GitRunOptions): Promise<GitResult> {
    const sub = (): string => args.find(a => !a.startsWith('-')) ?? 'command'
    let res
    try {
      res = await this.runner.run('git', argv, {
        cwd: opts.cwd,
        env: gitEnv(opts.env),
        timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBuffer: opts.maxBuffer ?? DEFAULT_MAX_BUFFER,
        ...(opts.okCodes ? { okCodes: opts.okCodes } : {}),
      })
    } catch (err) {
      if (!(err instanceof ProcessError)) throw new GitCommandError(`git ${sub()} failed: ${(err as Error).message}`, null, { cause: err })
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
        // spawn reports a missing cwd and a missing git binary alike.
        const msg = existsSync(opts.cwd) ? 'git is not installed or not on the server\'s PATH' : `git ${sub()} failed: directory not found: ${opts.cwd}`
        throw new GitCommandError(msg, null, { cause: err })
      }
      if (err.killed || err.signal) throw new GitCommandError(`git ${sub()} timed out`, null, { cause: err })
      if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') throw new GitCommandError(`git ${sub()} produced too much output`, null, { cause: err })
      throw new GitCommandError(`git ${sub()} failed: ${firstErrorLine(err.stderr) || `exit code ${String(err.code)}`}`, typeof err.code === 'number' ? err.code : null, { cause: err })
    }
    return { stdout: res.stdout, stderr: res.stderr, code: res.code }
  }
}

/** A GitRunner call bound to one target and cwd (what the diff and checkpoint code takes). */
export type BoundGit = (args: readonly string[], opts?: Omit<GitRunOptions, 'cwd' | 'ownerFilters'>) => Promise<GitResult>

export const bindGit = (git: GitRunner, target: GitTarget, cwd: string): BoundGit =>
  (args, opts = {}) => git.run(target, args, { ...opts, cwd })

/** git's most useful stderr line (the first `fatal:`/`error:` line, else the last line), bounded. */
export function firstErrorLine (stderr: string): string {
  const lines = stderr.split('\n').map(l => l.trim()).filter(Boolean)
  const line = lines.find(l => /^(fatal|error):/.test(l)) ?? lines.at(-1) ?? ''
  return line.length > 300 ? line.slice(0, 297) + '...' : line
}

// ---------------------------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------------------------

const WORKSPACE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/
export const MAX_WORKSPACE_NAME = 100

/** Reference rule: non-empty ASCII letters/digits/`-`, not starting or ending with `-`. */
export const isValidWorkspaceName = (name: string): boolean => name.length <= MAX_WORKSPACE_NAME && WORKSPACE_NAME.test(name)

/**
 * A branch or ref name that is safe to hand to git as a positional argument: git's
 * check-ref-format rules plus no leading `-` (never an option) and a conservative charset.
 */
export function isSafeRefName (ref: string): boolean {
  if (ref.length === 0 || ref.length > 200) return false
  if (!/^[A-Za-z0-9._/+-]+$/.test(ref)) return false
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock')) return false
  if (ref.includes('..') || ref.includes('//') || ref.includes('@{') || ref === '@') return false
  return ref.split('/').every(part => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'))
}

export function assertSafeRef (ref: string, what: string): string {
  if (!isSafeRefName(ref)) throw new InvalidRefError(`Invalid ${what}: '${ref.length > 100 ? ref.slice(0, 100) + '…' : ref}'`)
  return ref
}

/** A commit id (abbreviated or full, SHA-1 or SHA-256). */
export const isCommitId = (s: string): boolean => /^[0-9a-f]{4,64}$/i.test(s)

/** Per-key serialization: operations on one repository run one at a time, others run freely. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>()

  run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve()
    const result = prev.then(fn, fn)
    const tail = result.then(() => undefined, () => undefined)
    this.#tails.set(key, tail)
    void tail.then(() => { if (this.#tails.get(key) === tail) this.#tails.delete(key) })
    return result
  }

  /** Waits for every queued operation (used on close). */
  async drain (): Promise<void> { await Promise.all([...this.#tails.values()]) }
}
