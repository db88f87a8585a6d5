// `claudette term` in a real terminal (tmux on a private socket): type a command and see its
// output, resize the window and see the remote size follow, drop the TCP link in the middle of
// output and see the session continue with every line exactly once, detach with Ctrl-] and
// reattach with scrollback, and get the remote shell's exit code.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { basename } from 'node:path'
import t from 'tap'
import { ClaudetteClient, pair, TrustStore } from '../../src/index.js'
import { CLIENT_BIN } from '../helpers/cli.js'
import { pairingToken, startServer, tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'
import { tcpRelay } from './relay.js'

const hasTmux = spawnSync('tmux', ['-V']).status === 0

function tmux (sock: string) {
  const run = (...args: string[]): string => execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...args], { encoding: 'utf8' })
  const capture = (): string => run('capture-pane', '-p', '-J', '-S', '-1000', '-t', 'main')
  return {
    run,
    capture,
    type: (text: string): void => { run('send-keys', '-t', 'main', '-l', text); run('send-keys', '-t', 'main', 'Enter') },
    key: (k: string): void => { run('send-keys', '-t', 'main', k) },
    waitFor: (re: RegExp, timeoutMs = 15_000): Promise<string> =>
      waitFor(() => { const screen = capture(); return re.test(screen) && screen }, { timeout: timeoutMs, interval: 100, what: () => `${re}; screen:\n${capture()}` }),
  }
}

t.test('claudette term in tmux: output, resize, dropped link, detach/reattach, exit code', { skip: hasTmux ? false : 'tmux is not installed (apt-get install tmux)' }, async t => {
  // The remote shell is /bin/sh whatever $SHELL says: an interactive bash runs ~/.bashrc, which on
  // a developer's machine may stall for a minute (a pyenv rehash waiting on a stale lock, say).
  const server = await startServer(t, { name: 'termbox', terminals: { shell: '/bin/sh' } })
  const relay = await tcpRelay(t, server.port)
  const clientHome = tempHome(t)
  const repo = tempHome(t)
  execFileSync('git', ['init', '-q', repo])
  execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'init'])

  // Pair through the relay: the TLS session (and the pin) goes end to end.
  const store = await TrustStore.open(clientHome)
  const { server: entry } = await pair({ connectionString: `claudette://127.0.0.1:${relay.port}/${pairingToken(server)}`, store })
  t.equal(entry.fingerprint, server.fingerprint)
  const admin = ClaudetteClient.fromTrusted(entry)
  t.teardown(() => admin.close())
  await admin.connect()
  await admin.request('add_repository', { path: repo }).catch(() => { /* older servers: any directory */ })

  const sock = `claudette-test-${process.pid}-${randomBytes(4).toString('hex')}`
  const tm = tmux(sock)
  t.teardown(() => { try { tm.run('kill-server') } catch { /* already gone */ } })
  tm.run('new-session', '-d', '-s', 'main', '-x', '100', '-y', '30', 'env', '-i', `PATH=${process.env.PATH}`, `HOME=${clientHome}`,
    `CLAUDETTE_CLIENT_HOME=${clientHome}`, 'TERM=xterm-256color', 'PS1=local$ ', 'bash', '--norc', '--noprofile')
  await tm.waitFor(/local\$ $/m)
  const cli = `${process.execPath} ${CLIENT_BIN}`

  // 1. Type a command, see its output. The working directory proves it ran in the remote shell
  // (the local one is elsewhere), so a client that failed to start cannot pass for one that works.
  tm.type(`${cli} term termbox --cwd ${repo}; echo LOCAL-EXIT=$?`)
  // The line is typed ahead, so the remote pty may echo it before its shell prints a prompt; the
  // output then follows that prompt on the same line (`# ready-42-…`). Match the line's end: the
  // typed text itself never contains "ready-42".
  tm.type('echo ready-$((40+2))-"$(basename "$PWD")"')
  await tm.waitFor(new RegExp(`ready-42-${basename(repo)}$`, 'm'))

  // 2. Resize the window: the remote terminal follows (SIGWINCH → resize_pty). The signal reaches
  // the client asynchronously, so on a loaded machine the first `stty size` may still see 100x30;
  // ask again until the new size shows (each answer is a fresh line).
  tm.run('resize-window', '-t', 'main', '-x', '120', '-y', '40')
  const resizedBy = Date.now() + 15_000
  for (;;) {
    tm.type('stty size')
    const seen = await tm.waitFor(/^40 120$/m, 1000).then(() => true, () => false)
    if (seen) break
    if (Date.now() > resizedBy) throw new Error(`the remote terminal never saw 40x120; screen:\n${tm.capture()}`)
  }

  // 3. Cut the TCP link in the middle of output; nothing may be lost or shown twice.
  tm.type('for i in $(seq 1 40); do echo "L$((i*1000))"; sleep 0.05; done; echo done-$((2+3))')
  await tm.waitFor(/^L3000$/m)
  const before = relay.accepted
  relay.drop(700)
  const screen = await tm.waitFor(/^done-5$/m, 20_000)
  t.ok(relay.accepted > before, 'the client reconnected through the relay by itself')
  t.match(screen, /\[claudette\] connection lost/, 'the drop is visible')
  t.match(screen, /\[claudette\] reconnected/, 'and so is the reconnect')
  for (let i = 1; i <= 40; i++) {
    const n = screen.split('\n').filter(l => l === `L${i * 1000}`).length
    if (n !== 1) t.fail(`line L${i * 1000} appears ${n} times`)
  }
  t.pass('all 40 lines exactly once')

  // 4. Detach with Ctrl-]: the terminal keeps running; reattach shows its scrollback.
  tm.type('echo before-detach-$((3*3))')
  await tm.waitFor(/^before-detach-9$/m)
  tm.key('C-]')
  const detached = await tm.waitFor(/LOCAL-EXIT=0/)
  const m = /terminal (\d+) keeps running\. Reattach: claudette term termbox --attach (\d+)/.exec(detached)
  t.ok(m, 'detach message names the terminal')
  tm.run('send-keys', '-t', 'main', 'clear', 'Enter')
  await tm.waitFor(/^local\$ $/m)
  tm.run('clear-history', '-t', 'main')
  tm.type(`${cli} term termbox --attach ${m![1]}; echo LOCAL-EXIT=$?`)
  await tm.waitFor(/^before-detach-9$/m)
  t.pass('reattach drew the scrollback')
  tm.type('echo after-$((5+6))')
  await tm.waitFor(/^after-11$/m)

  // 5. The remote shell's exit code becomes ours.
  tm.type('exit 7')
  await tm.waitFor(/LOCAL-EXIT=7/)
  t.pass('exit code of the remote shell')
})
