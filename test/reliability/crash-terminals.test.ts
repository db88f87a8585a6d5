// Crash (terminals): when the server process dies without closing its terminals (SIGKILL, a
// crash), nothing it started may keep running. The kernel hangs up a pty when its master is
// closed; the shells, busy in a foreground loop that never reads input, must still go.
//
// Found by the load bench: after its server was killed, shells stayed behind forever, one
// spinning at 60 % CPU writing to a dead terminal. The causes: the exit-barrier wrapper (the
// session leader, the only process the kernel signals on hangup) ignored SIGHUP; even when it
// dies of it, the kernel signals only the foreground process group, not a bash running a loop
// whose current command is in another group, nor background jobs; and node-pty 1.1.0 does not
// mark its master fds close-on-exec, so every later pty child holds the masters of the earlier
// ptys and keeps them from hanging up at all. The fix: the server's helper process
// (ProcessRunner.guardSession) outlives it by a moment and hangs up every process of every
// terminal session still open.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tempHome } from '../helpers/server.js'
import { addRepository, makeGitRepo, waitForPtyText } from './scenarios.js'
import { pairDevice, ServerProcess } from './support.js'
import { eventually } from '../helpers/wait.js'

/** Pids of live processes whose working directory is `dir` (the terminals' shells). */
function processesIn (dir: string): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      if (readlinkSync(`/proc/${e}/cwd`) !== dir) continue
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1')
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(e))
    } catch { /* gone, or not ours */ }
  }
  return out
}

/** A process as a failure message shows it: command line, state, ppid, pgrp, session. */
function describe (pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return `${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ').trim()} (${stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(0, 4).join(' ')})`
  } catch { return `${pid} (gone)` }
}

t.test('SIGKILL of the server: every terminal process goes, busy foreground loops included', async t => {
  const root = tempHome(t)
  const repo = realpathSync(makeGitRepo(join(root, 'repo')))
  for (const shell of ['/bin/sh', '/bin/bash']) {
    // HOME is a fresh directory: an interactive bash runs ~/.bashrc, and the machine's own one
    // may do slow work there (a pyenv rehash takes a lock file; a shell killed while holding it
    // stalls every later bash of that user for a minute).
    const server = await ServerProcess.start(join(root, `home-${shell.replace(/\W/g, '')}`), { env: { SHELL: shell, HOME: root } })
    t.teardown(() => server.kill('SIGKILL'))
    const { client } = await pairDevice(server, 'crash-terminals')
    await addRepository(client, repo)
    const ptys: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await client.request('spawn_pty', { cwd: repo, rows: 24, cols: 80 })
      if (res.error) throw new Error(res.error.message)
      ptys.push(res.result.pty_id as number)
    }
    // Each terminal runs a loop of builtins in its foreground: it never reads its input again.
    for (const [i, id] of ptys.entries()) {
      const marker = `loop-${i}-running`
      await client.request('write_pty', { pty_id: id, data: [...Buffer.from(`while :; do echo ${marker.slice(0, 4)}""${marker.slice(4)}; sleep 0.01; done\n`)] })
      await waitForPtyText(client, id, marker)
    }
    const before = processesIn(repo)
    t.ok(before.length >= 4, `${shell}: ${before.length} terminal processes running`)
    await server.kill('SIGKILL')

    await eventually(() => processesIn(repo).length === 0, { timeout: 5000, interval: 50 })
    const left = processesIn(repo)
    t.same(left.map(describe), [], `${shell}: no terminal process outlives the server`)
    for (const pid of left) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
})
