// Helpers for the tests that run the real Claude Code CLI (the exact devDependency
// @anthropic-ai/claude-code) against a Messages-API stub of our own on 127.0.0.1. Where the CLI
// cannot be found or run, realClaude() says why and the tests skip with that reason.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { ServerOptionsInput } from '../../../src/index.js'
import { MessagesStub, type StubScript } from '../../helpers/messages-stub.js'
import { tempHome, type TestContext } from '../../helpers/server.js'
import { agentWorld, type AgentWorld } from './_helpers.js'

const require = createRequire(import.meta.url)

export interface RealClaude { readonly path: string, readonly version: string }

/** The native binary of the installed @anthropic-ai/claude-code, or why there is none. */
function locate (): RealClaude | string {
  let wanted: string
  try {
    wanted = JSON.parse(readFileSync(require.resolve('@anthropic-ai/claude-code/package.json'), 'utf8')).version
  } catch {
    return '@anthropic-ai/claude-code is not installed (npm ci installs it as a devDependency)'
  }
  // The binary ships in a platform package (an optional dependency); the wrapper's bin/claude.exe
  // is a copy made by its install script, which may not have run.
  const musl = process.platform === 'linux' && !(process.report?.getReport() as any)?.header?.glibcVersionRuntime
  const platformPkg = `@anthropic-ai/claude-code-${process.platform}-${process.arch}${musl ? '-musl' : ''}`
  const candidates: string[] = []
  try { candidates.push(join(dirname(require.resolve(`${platformPkg}/package.json`)), process.platform === 'win32' ? 'claude.exe' : 'claude')) } catch { /* not installed */ }
  candidates.push(join(dirname(require.resolve('@anthropic-ai/claude-code/package.json')), 'bin', 'claude.exe'))
  const reasons: string[] = []
  for (const path of candidates.filter(p => existsSync(p))) {
    const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/' } })
    const version = /^(\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1]
    if (r.status === 0 && version === wanted) return { path, version }
    reasons.push(`${path}: ${r.error?.message ?? `exit ${r.status}, ${(r.stdout + r.stderr).trim().slice(0, 200)}`}`)
  }
  return `Claude Code ${wanted} does not run here (${platformPkg}): ${reasons.join('; ') || 'no binary installed'}`
}

let found: RealClaude | string | undefined
/** The real CLI, or the reason it cannot run (printed as the tests' skip reason). */
export function realClaude (): RealClaude | string {
  found ??= locate()
  return found
}

/** tap's skip option for a real-CLI test: false when the CLI runs here, else the reason. */
export function skipUnlessRealClaude (): false | string {
  const c = realClaude()
  if (typeof c !== 'string') return false
  // CI must run these tests: there a missing CLI is a failure, not a skip.
  if (process.env.CI) throw new Error(`the real Claude Code CLI is required in CI: ${c}`)
  console.error(`# skipping real-CLI tests: ${c}`)
  return c
}

/**
 * The environment every real CLI of a test gets: the stub as its API and as its HTTP(S) proxy (so
 * any other traffic is seen and refused), a dummy key, auto-update, telemetry, error reports and
 * other nonessential traffic off, and a home and config directory of its own.
 */
function cliEnv (stub: MessagesStub, home: string): Record<string, string> {
  return {
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: stub.url,
    ANTHROPIC_API_KEY: 'sk-ant-test-dummy-key',
    HTTP_PROXY: stub.url,
    HTTPS_PROXY: stub.url,
    http_proxy: stub.url,
    https_proxy: stub.url,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_BUG_COMMAND: '1',
    CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
  }
}

export interface RealCli {
  readonly stub: MessagesStub
  readonly claude: RealClaude
  /** The CLI's home (HOME and CLAUDE_CONFIG_DIR inside it): kept across server restarts. */
  readonly home: string
  /** Server options that run the real CLI (merge with the test's own). */
  readonly agents: { claudePath: string }
}

/**
 * Starts the stub and points this test process's environment at it for the test's duration: the
 * server passes its environment on to the agents it starts (each tap file is its own process,
 * and the tests of one file run one after another).
 */
export async function realCli (t: TestContext, script?: StubScript): Promise<RealCli> {
  const claude = realClaude()
  if (typeof claude === 'string') throw new Error(claude)
  const stub = await MessagesStub.start(script)
  t.teardown(() => stub.close())
  const home = tempHome(t)
  mkdirSync(join(home, '.claude'), { recursive: true })
  const env = cliEnv(stub, home)
  const saved = new Map(Object.keys(env).map(k => [k, process.env[k]]))
  Object.assign(process.env, env)
  t.teardown(() => {
    for (const [k, v] of saved) { if (v === undefined) delete process.env[k]; else process.env[k] = v }
  })
  return { stub, claude, home, agents: { claudePath: claude.path } }
}

/** A server running the real CLI, a paired client and a workspace (see agentWorld). */
export async function realWorld (t: TestContext, cli: RealCli, opts: ServerOptionsInput = {}): Promise<AgentWorld> {
  return agentWorld(t, { ...opts, agents: { ...cli.agents, ...(opts.agents as object | undefined) } })
}
