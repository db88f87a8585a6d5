// Helpers for the repos tests: real git repositories in fresh temp dirs, and a paired server.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { ClaudetteServer, ServerOptionsInput } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { startServer, type TestContext } from '../../helpers/server.js'

/** Env for the tests' own git calls (the server's calls must work without it). */
export const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
}

export function gitIn (cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export function writeFile (root: string, rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true })
  writeFileSync(join(root, rel), content)
}

/** A fresh, unique temp directory (realpath) removed on teardown; t.testdir() is one per test. */
export function tempDir (t: TestContext): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'claudette-repos-')))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A repository on branch `main` with a few commits (README, src/a.txt, src/b.txt). */
export function makeRepo (t: TestContext, name = 'project'): string {
  const root = join(tempDir(t), name)
  mkdirSync(root, { recursive: true })
  gitIn(root, 'init', '-q', '-b', 'main')
  writeFile(root, 'README.md', '# project\n')
  gitIn(root, 'add', '.')
  gitIn(root, 'commit', '-q', '-m', 'initial')
  writeFile(root, 'src/a.txt', 'one\ntwo\nthree\n')
  writeFile(root, 'src/b.txt', 'bee\n')
  gitIn(root, 'add', '.')
  gitIn(root, 'commit', '-q', '-m', 'add sources')
  writeFile(root, 'src/a.txt', 'one\ntwo\nthree\nfour\n')
  gitIn(root, 'commit', '-q', '-am', 'four')
  return root
}

/** A repository whose content carries a complete git dir `evil/` that runs `plant.sh` (which touches `marker`). */
export function makeEvilRepo (t: TestContext): { repoPath: string, marker: string } {
  const repoPath = makeRepo(t)
  const dir = tempDir(t)
  const marker = join(dir, 'marker')
  const script = join(dir, 'plant.sh')
  writeFileSync(script, `#!/bin/sh\ntouch '${marker}'\n`)
  chmodSync(script, 0o755)
  writeFile(repoPath, 'evil/HEAD', 'ref: refs/heads/main\n')
  writeFile(repoPath, 'evil/objects/.keep', '')
  writeFile(repoPath, 'evil/refs/.keep', '')
  writeFile(repoPath, 'evil/hooks/post-checkout', `#!/bin/sh\n'${script}'\n`)
  chmodSync(join(repoPath, 'evil/hooks/post-checkout'), 0o755)
  writeFile(repoPath, 'evil/config', `[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "${script}"\n\thooksPath = hooks\n\tpager = "${script}"\n[diff]\n\texternal = "${script}"\n`)
  gitIn(repoPath, 'add', '.')
  gitIn(repoPath, 'commit', '-q', '-m', 'carry a git dir')
  return { repoPath, marker }
}

/** A started server and a paired client. */
export async function setup (t: TestContext, opts: ServerOptionsInput = {}): Promise<{ server: ClaudetteServer, client: TestClient }> {
  const server = await startServer(t, opts)
  const client = await TestClient.paired(t, server)
  return { server, client }
}

/** Registers `path` over the wire and returns the Repository. */
export async function addRepo (client: TestClient, path: string, name?: string): Promise<any> {
  return client.call('add_repository', name === undefined ? { path } : { path, name })
}

/** The error message of a call that must fail. */
export async function errorOf (client: TestClient, method: string, params?: unknown): Promise<string> {
  const res = await client.request(method, params)
  if (!res.error) throw new Error(`${method} unexpectedly succeeded: ${JSON.stringify(res.result)}`)
  return res.error.message as string
}
