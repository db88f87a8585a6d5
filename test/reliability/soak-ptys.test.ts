// Soak (CI variant): pty spawn/close churn leaves the server's open file descriptors (pty
// masters, pipes) at the baseline, reaps every shell, and keeps memory bounded.
import { join } from 'node:path'
import t from 'tap'
import { tempHome } from '../helpers/server.js'
import { addRepository, makeGitRepo, ptyChurn, settle } from './scenarios.js'
import { mib, pairDevice, procStats, ServerProcess } from './support.js'

const CYCLES = 200
const CONCURRENCY = 4

t.test('pty spawn/close churn returns descriptors and memory to the baseline', async t => {
  const root = tempHome(t)
  const repo = makeGitRepo(join(root, 'repo'))
  const server = await ServerProcess.start(join(root, 'home'), { env: { SHELL: '/bin/sh' } })
  t.teardown(() => server.kill('SIGKILL'))
  const { client } = await pairDevice(server, 'soak')
  await addRepository(client, repo)
  t.same(await ptyChurn(client, repo, { cycles: 6, concurrency: 2 }), [], 'warm-up without errors')
  const baseline = await settle(server.pid, procStats(server.pid))

  const started = performance.now()
  const errors = await ptyChurn(client, repo, { cycles: CYCLES, concurrency: CONCURRENCY })
  const seconds = (performance.now() - started) / 1000
  t.same(errors, [], `${CYCLES} spawn/run/close cycles without errors`)

  const after = await settle(server.pid, baseline)
  t.comment(`${CYCLES} pty cycles in ${seconds.toFixed(1)} s; fds ${baseline.fds} -> ${after.fds}; RSS ${mib(baseline.rss)} -> ${mib(after.rss)} MiB`)
  t.ok(after.fds <= baseline.fds, `open descriptors back to the baseline (${after.fds} <= ${baseline.fds})`)
  t.ok(after.rss <= baseline.rss + 48 * 1024 * 1024, `RSS within 48 MiB of the baseline (${mib(after.rss)} vs ${mib(baseline.rss)} MiB)`)
  t.same(await client.call('list_ptys'), [], 'no terminal is left listed')
  t.ok(server.running, 'the server is still running')
  await client.close()
})
