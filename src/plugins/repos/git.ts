// Running git: argument arrays only (never a shell), literal pathspecs, a clean environment,
// plain one-line error messages. Plus the validators for names and refs that reach git.
import { existsSync } from 'node:fs'
import { ProcessError, type ProcessRunner } from '../../core/process-runner.js'
import { GitCommandError, InvalidRefError } from './errors.js'

export interface GitResult { readonly stdout: string, readonly stderr: string, readonly code: number }

export interface GitRunOptions {
  readonly cwd: string
  /** Exit codes other than 0 that are not failures (e.g. 1 for `diff --no-index`). */
  readonly okCodes?: readonly number[]
  readonly timeoutMs?: number
  readonly maxBuffer?: number
  /** Extra environment (e.g. the workspace env for a setup script). */
  readonly env?: Record<string, string>
}

/** Variables that would point git somewhere else than `cwd` (set when we run inside a git hook). */
const REPO_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR', 'GIT_NAMESPACE', 'GIT_PREFIX', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT']

export function gitEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of REPO_ENV) delete env[k]
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0', // never wait for credentials
    GIT_OPTIONAL_LOCKS: '0', // read-only commands do not take the index lock
    GIT_LITERAL_PATHSPECS: '1', // a client path is a path, never pathspec magic
    LC_ALL: 'C',
    ...extra,
  }
}


const DEFAULT_TIMEOUT_MS = 60_000
const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024

/**
 * Runs `git <args>` in `cwd` through the server's ProcessRunner (spawned by its helper process; no shell).
 * Fails with GitCommandError carrying git's own first error line, e.g.
 * `git worktree failed: fatal: '…' already exists`.
 */
export async function git (runner: ProcessRunner, args: readonly string[], opts: GitRunOptions): Promise<GitResult> {
  const sub = (): string => args.find(a => !a.startsWith('-')) ?? 'command'
  let res
  try {
    res = await runner.run('git', ['-c', 'core.quotepath=off', '-c', 'color.ui=false', ...args], {
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
