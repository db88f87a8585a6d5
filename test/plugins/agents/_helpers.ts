// Helpers for the agents tests: the fake `claude` first in PATH, a real git repository, a paired
// client, and a workspace created through the real RPCs (add_repository, create_workspace).
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ClaudetteServer, ServerOptionsInput } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { startServer, type TestContext } from '../../helpers/server.js'

export const FAKE_CLAUDE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/fake-claude')
export const FAKE_CLAUDE = join(FAKE_CLAUDE_DIR, 'claude')

// Each tap test file runs in its own process: the fake goes first in this process's PATH, and
// the server passes its environment on to the agents it starts.
if (!process.env.PATH?.startsWith(FAKE_CLAUDE_DIR)) process.env.PATH = `${FAKE_CLAUDE_DIR}${delimiter}${process.env.PATH ?? ''}`

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' }
export const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()

export function makeRepo (t: TestContext): string {
  const root = join(t.testdir(), 'project')
  mkdirSync(root, { recursive: true })
  git(root, 'init', '-q', '-b', 'main')
  writeFileSync(join(root, 'README.md'), '# project\n')
  writeFileSync(join(root, '.gitignore'), 'ignored/\n')
  git(root, 'add', '.')
  git(root, 'commit', '-q', '-m', 'initial')
  return root
}

export interface AgentWorld {
  server: ClaudetteServer
  client: TestClient
  workspace: any
  chatId: string
  worktree: string
}

/** A server, a paired client, a repository and a workspace with its default chat session. */
export async function agentWorld (t: TestContext, opts: ServerOptionsInput = {}, name = 'ws-one'): Promise<AgentWorld> {
  const server = await startServer(t, opts)
  const client = await TestClient.paired(t, server)
  const repo = await client.call('add_repository', { path: makeRepo(t) })
  const created = await client.call('create_workspace', { repository_id: repo.id, name })
  return { server, client, workspace: created.workspace, chatId: created.default_session_id, worktree: created.workspace.worktree_path }
}

/** Another workspace in the same server (for concurrency tests). */
export async function anotherWorkspace (client: TestClient, repositoryId: string, name: string): Promise<{ workspace: any, chatId: string }> {
  const created = await client.call('create_workspace', { repository_id: repositoryId, name })
  return { workspace: created.workspace, chatId: created.default_session_id }
}

/** agent-stream payloads a client received for one chat session, in order. */
export const streamOf = (c: TestClient, chatId: string): any[] =>
  c.frames.filter(f => f.json?.event === 'agent-stream' && f.json.payload.chat_session_id === chatId).map(f => f.json.payload)

/** Every agent event (stream, prompt, checkpoint, resolved) a client received for one chat session. */
export const eventsOf = (c: TestClient, chatId: string): Array<{ event: string, payload: any }> =>
  c.frames.filter(f => typeof f.json?.event === 'string' && f.json.payload?.chat_session_id === chatId && typeof f.json.payload.seq === 'number')
    .map(f => ({ event: f.json.event, payload: f.json.payload }))

const isResult = (p: any): boolean => p.event?.Stream?.type === 'result'

/** Waits for the `result` stream event of the next turn of chatId (after frame index `from`). */
export function waitResult (c: TestClient, chatId: string, from = 0, timeoutMs = 10_000): Promise<any> {
  return c.waitFor(f => f.json?.event === 'agent-stream' && f.json.payload.chat_session_id === chatId && isResult(f.json.payload), timeoutMs, from)
    .then(f => f.json.payload)
}

export function waitExit (c: TestClient, chatId: string, from = 0, timeoutMs = 10_000): Promise<any> {
  return c.waitFor(f => f.json?.event === 'agent-stream' && f.json.payload.chat_session_id === chatId && 'ProcessExited' in (f.json.payload.event ?? {}), timeoutMs, from)
    .then(f => f.json.payload)
}

/** Sends a message and waits for its turn's result. */
export async function turn (c: TestClient, chatId: string, content: string, extra: Record<string, unknown> = {}): Promise<any> {
  const from = c.frames.length
  const res = await c.request('send_chat_message', { chat_session_id: chatId, content, ...extra })
  if (res.error) throw new Error(`send_chat_message failed: ${res.error.message}`)
  return waitResult(c, chatId, from)
}

export async function errorOf (c: TestClient, method: string, params?: unknown): Promise<string> {
  const res = await c.request(method, params)
  if (!res.error) throw new Error(`${method} unexpectedly succeeded: ${JSON.stringify(res.result)}`)
  return res.error.message as string
}

/** Reads the JSON lines the fake wrote to FAKE_CLAUDE_ARGS_FILE. */
export const startsOf = (file: string): Array<{ argv: string[], cwd: string, env: Record<string, string>, pid: number }> => {
  try { return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(l => JSON.parse(l)) } catch { return [] }
}
