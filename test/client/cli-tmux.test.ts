// The client CLI's questions on a real terminal (tmux on a private socket): `workspaces create`,
// `term` with no flags (a numbered choice the first time, the same workspace without asking the
// next time, and a reattach hint that keeps --home), `forget` without --yes (n keeps the server,
// y forgets it), --workspace with --cwd, and the server CLI's regenerate-token answered n.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { basename, join } from 'node:path'
import t from 'tap'
import { CLIENT_BIN, SERVER_BIN, runCli } from '../helpers/cli.js'
import { startServer, tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const hasTmux = spawnSync('tmux', ['-V']).status === 0

function tmux (sock: string) {
  const run = (...args: string[]): string => execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...args], { encoding: 'utf8' })
  const capture = (): string => run('capture-pane', '-p', '-J', '-S', '-1000', '-t', 'main')
  return {
    run,
    capture,
    type: (text: string): void => { run('send-keys', '-t', 'main', '-l', text); run('send-keys', '-t', 'main', 'Enter') },
    key: (k: string): void => { run('send-keys', '-t', 'main', k) },
    waitFor: (re: RegExp, timeoutMs = 20_000): Promise<string> =>
      waitFor(() => { const screen = capture(); return re.test(screen) && screen }, { timeout: timeoutMs, interval: 100, what: () => `${re}; screen:\n${capture()}` }),
    /** Clears screen and scrollback, so the next waitFor sees only what follows. */
    clear: async (): Promise<void> => {
      run('send-keys', '-t', 'main', 'clear', 'Enter')
      await waitFor(() => /^local\$ $/m.test(capture()), { timeout: 10_000, interval: 50, what: 'a clear prompt' })
      run('clear-history', '-t', 'main')
    },
  }
}

t.test('workspaces create, term with no flags, forget and regenerate-token on a terminal', { skip: hasTmux ? false : 'tmux is not installed (apt-get install tmux)' }, async t => {
  const root = tempHome(t)
  const server = await startServer(t, { name: 'ttybox', terminals: { shell: '/bin/sh' }, repos: { worktreeBaseDir: join(root, 'trees') } })
  // A client home given with --home (not the environment), with a space, so the hint must quote it.
  const clientHome = join(tempHome(t), 'client home')
  const repo = join(root, 'app')
  execFileSync('git', ['init', '-q', '-b', 'main', repo])
  execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'init'])
  t.equal((await runCli(SERVER_BIN, ['--home', server.home, 'repo', 'add', repo])).code, 0)
  const cliArgs = (...args: string[]) => runCli(CLIENT_BIN, ['--home', clientHome, ...args])
  t.equal((await cliArgs('pair', server.connectionString, '--name', 'tty-device')).code, 0)
  t.equal((await cliArgs('workspaces', 'ttybox', 'create', '--repo', 'app', '--name', 'other')).code, 0)

  const sock = `claudette-cli-test-${process.pid}-${randomBytes(4).toString('hex')}`
  const tm = tmux(sock)
  t.teardown(() => { try { tm.run('kill-server') } catch { /* already gone */ } })
  tm.run('new-session', '-d', '-s', 'main', '-x', '120', '-y', '30', 'env', '-i', `PATH=${process.env.PATH}`, `HOME=${root}`,
    'TERM=xterm-256color', 'PS1=local$ ', 'bash', '--norc', '--noprofile')
  await tm.waitFor(/local\$ $/m)
  const cli = `${process.execPath} ${CLIENT_BIN} --home '${clientHome}'`

  // 1. workspaces create, on a terminal.
  tm.type(`${cli} workspaces ttybox create --repo app --name picked; echo LOCAL-EXIT=$?`)
  await tm.waitFor(/^Created workspace picked \(.+\) of app on branch \S+ at .+\.$/m)
  await tm.waitFor(/LOCAL-EXIT=0/)
  const workspaces = JSON.parse((await cliArgs('workspaces', 'ttybox', '--json')).stdout) as Array<{ id: string, name: string, worktree_path: string }>
  const picked = workspaces.find(w => w.name === 'picked')!
  await tm.clear()

  // 2. term with no flags: nothing remembered yet, so a numbered choice; pick 'picked'.
  tm.type(`${cli} term ttybox; echo LOCAL-EXIT=$?`)
  const menu = await tm.waitFor(/^Number \(1-2, empty to cancel\): $/m)
  const choice = new RegExp(`^\\s+(\\d)\\) picked  \\(app, branch \\S+\\)$`, 'm').exec(menu)
  t.ok(choice, 'the menu lists the workspace with its repository and branch')
  t.match(menu, /^\s+\d\) other {2}\(app, branch \S+\)$/m)
  tm.type('7')
  await tm.waitFor(/Number \(1-2, empty to cancel\): 7\n.*Number \(1-2, empty to cancel\): $/m)
  t.pass('an answer out of range asks again')
  tm.type(choice![1]!)
  tm.type('echo ready-$((40+2))-"$(basename "$PWD")"')
  await tm.waitFor(new RegExp(`ready-42-${basename(picked.worktree_path)}$`, 'm'))
  t.pass('the shell runs in the chosen workspace')

  // Detach: the hint to reattach keeps --home.
  tm.key('C-]')
  const detached = await tm.waitFor(/LOCAL-EXIT=0/)
  const hint = /Reattach: (claudette --home .+ term ttybox --attach \d+)/.exec(detached.replace(/\n/g, ''))
  t.ok(hint, 'detach prints a reattach hint')
  t.ok(hint![1]!.startsWith(`claudette --home '${clientHome}' term ttybox --attach `), `the hint has the quoted --home: ${hint![1]}`)
  await tm.clear()

  // 3. term with no flags again: the workspace used last, without asking.
  tm.type(`${cli} term ttybox; echo LOCAL-EXIT=$?`)
  tm.type('echo again-$((40+3))-"$(basename "$PWD")"')
  const again = await tm.waitFor(new RegExp(`again-43-${basename(picked.worktree_path)}$`, 'm'))
  t.notMatch(again, /Number \(/, 'no question the second time')
  tm.type('exit 3')
  await tm.waitFor(/LOCAL-EXIT=3/)
  await tm.clear()

  // --workspace with a relative --cwd: the directory is resolved inside that workspace.
  const other = workspaces.find(w => w.name === 'other')!
  tm.type(`${cli} term ttybox --workspace other --cwd .; echo LOCAL-EXIT=$?`)
  tm.type('echo cwd-$((40+4))-"$(basename "$PWD")"')
  await tm.waitFor(new RegExp(`cwd-44-${basename(other.worktree_path)}$`, 'm'))
  t.pass('--cwd is taken inside the --workspace')
  tm.type('exit 0')
  await tm.waitFor(/LOCAL-EXIT=0/)
  await tm.clear()

  // 4. forget without --yes: n keeps it, y forgets it.
  tm.type(`${cli} forget ttybox; echo LOCAL-EXIT=$?`)
  await tm.waitFor(/^Forget ttybox \(127\.0\.0\.1:\d+\) and revoke this device's session on it\? \[y\/N\] $/m)
  tm.type('n')
  await tm.waitFor(/^error: aborted; nothing was changed\n.*LOCAL-EXIT=1/m)
  const kept = JSON.parse((await cliArgs('list', '--json', '--no-status')).stdout) as Array<{ name: string }>
  t.same(kept.map(s => s.name), ['ttybox'], 'n: the server is kept')
  t.equal(JSON.parse((await runCli(SERVER_BIN, ['--home', server.home, 'sessions', 'list', '--json'])).stdout).length, 1, 'and its session too')

  // The server CLI asks the same way: regenerate-token answered n changes nothing.
  await tm.clear()
  tm.type(`${process.execPath} ${SERVER_BIN} --home '${server.home}' regenerate-token; echo LOCAL-EXIT=$?`)
  await tm.waitFor(/^Replace the pairing token and revoke the 1 paired device\? \[y\/N\] $/m)
  tm.type('')
  await tm.waitFor(/^error: aborted; nothing was changed\n.*LOCAL-EXIT=1/m)
  const cs = await runCli(SERVER_BIN, ['--home', server.home, 'show-connection-string'])
  t.equal(cs.stdout.trim().split('/').pop(), server.connectionString.split('/').pop(), 'the pairing token is unchanged')

  await tm.clear()
  tm.type(`${cli} forget ttybox; echo LOCAL-EXIT=$?`)
  await tm.waitFor(/\[y\/N\] $/m)
  tm.type('y')
  await tm.waitFor(/^Forgot ttybox \(127\.0\.0\.1:\d+\)\.\n.*revoked/m)
  await tm.waitFor(/LOCAL-EXIT=0/)
  const gone = JSON.parse((await cliArgs('list', '--json', '--no-status')).stdout) as unknown[]
  t.same(gone, [], 'y: forgotten')
  await waitFor(async () => JSON.parse((await runCli(SERVER_BIN, ['--home', server.home, 'sessions', 'list', '--json'])).stdout).length === 0, { timeout: 10_000, what: 'the session revoked' })
})
