// The settings GitRunner puts on every git process, each checked against the installed git: a
// configured command (or one named by the server's environment) that plain git runs is not run
// through the runner. Each check has a control that runs plain git with the same setup.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ProcessRunner } from '../../../src/core/process-runner.js'
import { gitEnv, GitRunner } from '../../../src/plugins/repos/git.js'
import { GIT_ENV, gitIn, makeRepo, tempDir, writeFile } from './_helpers.js'

t.test('GitRunner turns off every command-running git feature', async t => {
  const processes = new ProcessRunner()
  t.teardown(() => processes.dispose())
  const git = new GitRunner(processes)
  const repo = makeRepo(t)
  const target = { gitDir: join(repo, '.git'), workTree: repo }
  const dir = tempDir(t)
  const log = join(dir, 'ran.log')
  const spy = (name: string, body = ''): string => {
    const file = join(dir, name)
    writeFileSync(file, `#!/bin/sh\necho ${name} >> '${log}'\n${body}\n`)
    chmodSync(file, 0o755)
    return file
  }
  const ran = (): string[] => { try { return readFileSync(log, 'utf8').split('\n').filter(Boolean) } catch { return [] } }
  const plain = (args: string[], env: Record<string, string> = {}): void => {
    try { execFileSync('git', args, { cwd: repo, env: { ...GIT_ENV, GIT_TERMINAL_PROMPT: '0', ...env }, stdio: 'ignore' }) } catch { /* only what it ran matters */ }
  }
  const viaRunner = async (args: string[]): Promise<void> => {
    try { await git.run(target, args, { cwd: repo }) } catch { /* only what it ran matters */ }
  }
  /** Runs the control with plain git (must run `name`), then the same through the runner (must not). */
  const check = async (what: string, name: string, args: string[], env: Record<string, string> = {}): Promise<void> => {
    rmSync(log, { force: true })
    plain(args, env)
    t.ok(ran().includes(name), `control: plain git runs ${what}`)
    rmSync(log, { force: true })
    const saved = Object.fromEntries(Object.keys(env).map(k => [k, process.env[k]]))
    Object.assign(process.env, env)
    try { await viaRunner(args) } finally {
      for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v }
    }
    t.same(ran(), [], `the runner does not run ${what}`)
  }
  const config = (k: string, v: string): void => { gitIn(repo, 'config', k, v) }
  const unset = (k: string): void => { try { gitIn(repo, 'config', '--unset-all', k) } catch { /* not set */ } }

  writeFile(repo, 'src/a.txt', 'changed\n')
  config('core.fsmonitor', spy('fsmonitor', 'exit 0'))
  await check('core.fsmonitor', 'fsmonitor', ['status', '--porcelain'])
  unset('core.fsmonitor')

  const hooks = join(dir, 'hooks')
  mkdirSync(hooks)
  writeFileSync(join(hooks, 'reference-transaction'), `#!/bin/sh\necho hook >> '${log}'\n`)
  chmodSync(join(hooks, 'reference-transaction'), 0o755)
  config('core.hooksPath', hooks)
  await check('core.hooksPath hooks', 'hook', ['update-ref', 'refs/heads/spy', 'HEAD'])
  unset('core.hooksPath')
  rmSync(join(repo, '.git', 'hooks'), { recursive: true, force: true })
  execFileSync('cp', ['-r', hooks, join(repo, '.git', 'hooks')])
  await check('hooks in .git/hooks', 'hook', ['update-ref', 'refs/heads/spy2', 'HEAD'])

  // Credential helpers and askpass only run for a transport, and protocol.allow=never allows none
  // (the ssh checks below show it); the variables naming them are dropped from the environment.
  process.env.GIT_ASKPASS = process.env.SSH_ASKPASS = spy('askpass')
  t.teardown(() => { delete process.env.GIT_ASKPASS; delete process.env.SSH_ASKPASS })
  t.notOk('GIT_ASKPASS' in gitEnv() || 'SSH_ASKPASS' in gitEnv(), 'askpass variables are dropped')
  delete process.env.GIT_ASKPASS
  delete process.env.SSH_ASKPASS

  config('core.sshCommand', spy('ssh', 'exit 1'))
  await check('core.sshCommand', 'ssh', ['ls-remote', 'ssh://example.invalid/x'])
  unset('core.sshCommand')
  await check('GIT_SSH_COMMAND', 'ssh2', ['ls-remote', 'ssh://example.invalid/x'], { GIT_SSH_COMMAND: spy('ssh2', 'exit 1') })
  await check('GIT_SSH', 'ssh3', ['ls-remote', 'ssh://example.invalid/x'], { GIT_SSH: spy('ssh3', 'exit 1') })
  await check('GIT_EXTERNAL_DIFF', 'extdiff', ['diff'], { GIT_EXTERNAL_DIFF: spy('extdiff', 'exit 0') })

  // Filter drivers: every configured one (names with dots too) is skipped, even when required.
  writeFile(repo, '.gitattributes', '*.txt filter=spy\n*.md filter=odd.name\n')
  writeFile(repo, 'x.txt', 'x\n')
  writeFile(repo, 'y.md', 'y\n')
  config('filter.spy.clean', spy('clean', 'cat'))
  config('filter.spy.required', 'true')
  config('filter.odd.name.clean', spy('clean2', 'cat'))
  await check('filter.<driver>.clean', 'clean', ['add', '-A'])
  gitIn(repo, 'reset', '-q')
  await check('filter.<driver>.clean (dotted driver name)', 'clean2', ['add', '-A'])
  rmSync(log, { force: true })
  await git.run(target, ['add', '-A'], { cwd: repo })
  t.match(gitIn(repo, 'diff', '--cached', '--name-only'), /x\.txt/, 'add still works, unfiltered')
  // Checkouts keep the owner's filters.
  rmSync(log, { force: true })
  await git.run(target, ['worktree', 'add', '--', join(dir, 'wt'), 'HEAD'], { cwd: repo, ownerFilters: true })
  t.same(ran(), [], 'nothing to smudge without a smudge command')
  config('filter.spy.smudge', spy('smudge', 'cat'))
  gitIn(repo, 'commit', '-q', '-m', 'filtered')
  rmSync(log, { force: true })
  await git.run(target, ['worktree', 'add', '--', join(dir, 'wt2'), 'HEAD'], { cwd: repo, ownerFilters: true })
  t.ok(ran().includes('smudge'), 'a checkout runs the owner\'s smudge filter')
  t.notOk(ran().includes('hook'), 'but no hook (post-checkout would run here; reference-transaction too)')

  // The environment never redirects the repository.
  const saved = process.env.GIT_DIR
  process.env.GIT_DIR = join(dir, 'nowhere')
  try {
    t.equal((await git.run(null, ['rev-parse', '--show-toplevel'], { cwd: repo })).stdout.trim(), repo, 'GIT_DIR from the server\'s environment is ignored')
  } finally { if (saved === undefined) delete process.env.GIT_DIR; else process.env.GIT_DIR = saved }
})
