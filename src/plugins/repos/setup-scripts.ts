// A repository's setup script, run in a new workspace's worktree (create_workspace's setup_result).
import { spawn, type ChildProcess } from 'node:child_process'
import type { Disposable } from '../../core/lifecycle.js'
import type { Repository, SetupResult, Workspace } from './types.js'

const MAX_SETUP_OUTPUT = 1024 * 1024

/** SIGKILL to a setup script's process group (it was spawned detached, as its group leader). */
function killGroup (child: ChildProcess): void {
  try { process.kill(-child.pid!, 'SIGKILL') } catch { child.kill('SIGKILL') }
}

interface SetupEntry { child: ChildProcess | null, cancelled: boolean, readonly workspaceId: string, readonly exited: Promise<void> }

/** The setup scripts starting or running, each with its workspace; stopped on archive and on close. */
export class SetupScripts implements Disposable {
  readonly #running = new Set<SetupEntry>()
  #closed = false

  constructor (private readonly timeoutMs: number) {}

  /**
   * Starts the repository's setup script (`/bin/sh -c`) in the workspace's worktree with
   * `env()` added to the server's environment; null when there is none. Registered
   * synchronously (before the first await), so a stop() that follows at once finds it.
   */
  run (repo: Repository, ws: Workspace, env: () => Promise<Record<string, string>>): Promise<SetupResult | null> {
    const script = repo.setup_script?.trim()
    if (!script || !ws.worktree_path || this.#closed) return Promise.resolve(null)
    let exited!: () => void
    const entry: SetupEntry = { child: null, cancelled: false, workspaceId: ws.id, exited: new Promise<void>(resolve => { exited = resolve }) }
    this.#running.add(entry)
    const notRun = (): SetupResult => {
      this.#running.delete(entry)
      exited()
      return { exit_code: null, output: 'Setup script not run: the workspace was archived or the server is closing', script, source: 'settings', success: false, timed_out: false }
    }
    return env().then(wsEnv => new Promise<SetupResult>(resolve => {
      if (entry.cancelled || this.#closed) { resolve(notRun()); return }
      const child = spawn('/bin/sh', ['-c', script], { cwd: ws.worktree_path!, env: { ...process.env, ...wsEnv }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      entry.child = child
      let output = ''
      let timedOut = false
      const onData = (b: Buffer): void => { if (output.length < MAX_SETUP_OUTPUT) output += b.toString('utf8') }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      const timer = setTimeout(() => { timedOut = true; killGroup(child) }, this.timeoutMs)
      timer.unref()
      const done = (code: number | null): void => {
        clearTimeout(timer)
        this.#running.delete(entry)
        exited()
        resolve({ exit_code: code, output: output.slice(0, MAX_SETUP_OUTPUT), script, source: 'settings', success: code === 0 && !timedOut, timed_out: timedOut })
      }
      child.on('error', err => { output += String(err.message); done(null) })
      child.on('close', code => done(code))
    }), () => notRun())
  }

  /** Stops the workspace's scripts (SIGKILL to their process groups) and waits until they have exited. */
  async stop (workspaceId: string): Promise<void> {
    const scripts = [...this.#running].filter(s => s.workspaceId === workspaceId)
    for (const s of scripts) { s.cancelled = true; if (s.child) killGroup(s.child) }
    await Promise.all(scripts.map(s => s.exited))
  }

  /** Kills every script and starts no more. */
  dispose (): void {
    if (this.#closed) return
    this.#closed = true
    for (const s of this.#running) { s.cancelled = true; if (s.child) killGroup(s.child) }
  }
}
