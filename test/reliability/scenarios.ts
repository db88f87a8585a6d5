// Churn scenarios shared by the CI soak tests (test/reliability/soak-*.test.ts, small counts) and
// the manual soak (bench/soak/soak.ts, large counts). Every loop is bounded by its count.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { procStats, resumeDevice, WireClient, type ProcStats, type ServerProcess } from './support.js'
import { eventually } from '../helpers/wait.js'

/** A git repository with one commit (what add_repository and workspaces need). */
export function makeGitRepo (dir: string): string {
  mkdirSync(dir, { recursive: true })
  const git = (...args: string[]): void => { execFileSync('git', args, { cwd: dir, stdio: 'ignore' }) }
  git('init', '-q', '-b', 'main')
  git('config', 'user.email', 'soak@example.invalid')
  git('config', 'user.name', 'Soak')
  writeFileSync(join(dir, 'README.md'), '# reliability fixture\n')
  git('add', '.')
  git('commit', '-q', '-m', 'init')
  return dir
}

/**
 * Registers `path` as a repository when the server has the repos plugin; returns its id, or
 * null when the method is not there (older servers accept any directory as a pty cwd).
 */
export async function addRepository (client: WireClient, path: string, name = 'reliability'): Promise<string | null> {
  const res = await client.request('add_repository', { name, path })
  if (res.error?.message.startsWith('Unknown method')) return null
  if (res.error) throw new Error(`add_repository: ${res.error.message}`)
  return res.result.id as string
}

export interface ChurnCounts { cycles: number, concurrency: number }

/**
 * Connection churn: each cycle opens a TLS WebSocket, authenticates with the session token,
 * calls server_info and leaves, alternately with a clean close and an abrupt drop; every tenth
 * cycle also opens a connection that leaves before authenticating. Returns errors seen.
 */
export async function connectionChurn (server: ServerProcess, sessionToken: string, { cycles, concurrency }: ChurnCounts, localAddress?: string): Promise<string[]> {
  const errors: string[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < cycles) {
      const i = next++
      try {
        if (i % 10 === 0) {
          const pre = await WireClient.connect(server.port, server.ca, localAddress)
          pre.terminate()
        }
        const c = await resumeDevice(server, sessionToken, localAddress)
        const info = await c.call('server_info')
        if (typeof info.name !== 'string') errors.push(`cycle ${i}: bad server_info ${JSON.stringify(info)}`)
        if (i % 2 === 0) await c.close()
        else { c.terminate(); await c.closed }
      } catch (err) {
        errors.push(`cycle ${i}: ${(err as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return errors
}

/**
 * Pty churn on one authenticated connection: each cycle spawns a shell in `cwd`, runs a
 * command, waits for its output, and ends it: odd cycles with close_pty, even ones by typing
 * `exit` (the pty-exit event is awaited, then the exited pty is closed). Returns errors seen.
 */
export async function ptyChurn (client: WireClient, cwd: string, { cycles, concurrency }: ChurnCounts): Promise<string[]> {
  const errors: string[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < cycles) {
      const i = next++
      try {
        const spawned = await client.call('spawn_pty', { cols: 80, cwd, rows: 24 })
        const ptyId = spawned.pty_id as number
        const marker = `soak-${i}-done`
        const seen = waitForPtyText(client, ptyId, marker)
        const exited = client.event('pty-exit', p => p.pty_id === ptyId, 15_000)
        exited.catch(() => { /* awaited below only for the exit path */ })
        await client.call('write_pty', { data: [...Buffer.from(`echo soak-${i}-''done\r`)], pty_id: ptyId })
        await seen
        if (i % 2 === 1) {
          await client.call('close_pty', { pty_id: ptyId })
        } else {
          await client.call('write_pty', { data: [...Buffer.from('exit\r')], pty_id: ptyId })
          await exited
          // An exited terminal stays listed (with its exit code) until the client closes it.
          await client.call('close_pty', { pty_id: ptyId })
        }
      } catch (err) {
        errors.push(`cycle ${i}: ${(err as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return errors
}

/** Resolves when pty output (JSON `pty-output` events) of `ptyId` contains `text`. */
export function waitForPtyText (client: WireClient, ptyId: number, text: string, timeoutMs = 15_000): Promise<void> {
  let acc = ''
  return client.event('pty-output', p => {
    if (p.pty_id !== ptyId) return false
    acc = (acc + Buffer.from(p.data as number[]).toString('latin1')).slice(-4096)
    return acc.includes(text)
  }, timeoutMs).then(() => undefined)
}

/**
 * Waits until the process's descriptors are back to `baseline.fds` and steady (the same count
 * in two samples in a row), or `timeoutMs` passes, and returns a fresh sample. Children (shells)
 * exit and sockets close asynchronously, so fds settle shortly after a churn ends.
 */
export async function settle (pid: number, baseline: ProcStats, timeoutMs = 10_000): Promise<ProcStats> {
  let last = -1
  await eventually(() => {
    const { fds } = procStats(pid)
    const steady = fds === last
    last = fds
    return steady && fds <= baseline.fds
  }, { timeout: timeoutMs, interval: 200 })
  return procStats(pid)
}
