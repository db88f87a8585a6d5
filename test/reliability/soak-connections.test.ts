// Soak (CI variant): connect/disconnect churn against the server process leaves its open file
// descriptors at the baseline and its memory bounded. The long variant is bench/soak/soak.ts.
import t from 'tap'
import { tempHome } from '../helpers/server.js'
import { connectionChurn, settle } from './scenarios.js'
import { mib, pairDevice, procStats, ServerProcess } from './support.js'

const CYCLES = 400
const CONCURRENCY = 8

t.test('connection churn returns descriptors and memory to the baseline', async t => {
  const server = await ServerProcess.start(tempHome(t))
  t.teardown(() => server.kill('SIGKILL'))
  const { client, sessionToken } = await pairDevice(server, 'soak')
  // Warm-up: lazy modules, JIT and pools settle before the baseline is taken.
  t.same(await connectionChurn(server, sessionToken, { cycles: 40, concurrency: CONCURRENCY }), [], 'warm-up without errors')
  const baseline = await settle(server.pid, procStats(server.pid))

  const started = performance.now()
  const errors = await connectionChurn(server, sessionToken, { cycles: CYCLES, concurrency: CONCURRENCY })
  const seconds = (performance.now() - started) / 1000
  t.same(errors, [], `${CYCLES} connect/authenticate/server_info/leave cycles without errors`)

  const after = await settle(server.pid, baseline)
  t.comment(`${CYCLES} cycles in ${seconds.toFixed(1)} s; fds ${baseline.fds} -> ${after.fds}; RSS ${mib(baseline.rss)} -> ${mib(after.rss)} MiB`)
  t.ok(after.fds <= baseline.fds, `open descriptors back to the baseline (${after.fds} <= ${baseline.fds})`)
  t.ok(after.rss <= baseline.rss + 48 * 1024 * 1024, `RSS within 48 MiB of the baseline (${mib(after.rss)} vs ${mib(baseline.rss)} MiB)`)
  t.ok((await client.call('server_info')).name, 'the long-lived connection still works')
  t.ok(server.running, 'the server is still running')
  await client.close()
})
