// Helpers for the terminals tests: gather a pty's output from a TestClient's recorded frames,
// whichever encoding the connection uses.
import type { Frame, TestClient } from '../../helpers/client.js'

/** The output bytes of `ptyId` in `frames` (JSON pty-output events and 0x01 binary frames). */
export function outputOf (frames: readonly Frame[], ptyId: number): Buffer {
  const parts: Buffer[] = []
  for (const f of frames) {
    if (f.binary && f.binary[0] === 0x01 && f.binary.readUInt32BE(1) === ptyId) parts.push(f.binary.subarray(5))
    else if (f.json?.event === 'pty-output' && f.json.payload.pty_id === ptyId) parts.push(Buffer.from(f.json.payload.data))
  }
  return Buffer.concat(parts)
}

/** Waits until the pty's output (from frame index `from`) satisfies `pred`; returns it. */
export async function waitForOutput (c: TestClient, ptyId: number, pred: (text: string) => boolean, timeoutMs = 5000, from = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const text = outputOf(c.frames.slice(from), ptyId).toString('utf8')
    if (pred(text)) return text
    if (Date.now() > deadline) throw new Error(`timed out waiting for pty output; got ${JSON.stringify(text.slice(-300))}`)
    await c.waitFor(() => true, Math.max(1, deadline - Date.now()), c.frames.length).catch(() => {})
  }
}

/** A binary input frame: 0x02, pty id (u32 BE), bytes. */
export function inputFrame (ptyId: number, data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data
  const head = Buffer.alloc(5)
  head[0] = 0x02
  head.writeUInt32BE(ptyId, 1)
  return Buffer.concat([head, body])
}

/** A shell that prints no prompt and reads commands (predictable output). */
export const SHELL_OPTS = { shell: '/bin/sh', idleDetachedMs: 0 }

/** A second connection of the same device session (authenticated with its session token). */
export async function sameSession (t: import('../../helpers/server.js').TestContext, server: import('../../../src/index.js').ClaudetteServer, sessionToken: string): Promise<TestClient> {
  const { TestClient } = await import('../../helpers/client.js')
  const c = await TestClient.connect(t, server)
  const res = await c.request('authenticate', { session_token: sessionToken })
  if (res.error) throw new Error(`re-authentication failed: ${JSON.stringify(res.error)}`)
  return c
}

/**
 * A real git repository in a fresh temp dir, registered over the wire (`add_repository`):
 * spawn_pty only runs inside registered repositories and workspaces. Returns its realpath.
 */
export async function registeredRepo (t: import('../../helpers/server.js').TestContext, c: TestClient): Promise<string> {
  const { execFileSync } = await import('node:child_process')
  const { mkdtempSync, realpathSync, rmSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  // Not t.testdir(): calling it again in the same test wipes the first one (the server home).
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'claudette-term-')))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1' }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir, env })
  writeFileSync(`${dir}/README.md`, '# repo\n')
  execFileSync('git', ['add', '.'], { cwd: dir, env })
  execFileSync('git', ['commit', '-q', '-m', 'initial'], { cwd: dir, env })
  const repo = await c.call('add_repository', { path: dir })
  repoIds.set(dir, repo.id)
  return dir
}

/** Repository ids of the directories registeredRepo() created. */
export const repoIds = new Map<string, string>()
