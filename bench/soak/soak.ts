// Soak, manual variant: connect/disconnect churn and pty spawn/close churn, side by
// side, for SOAK_MINUTES against the server CLI in a child process. A checkpoint line per round
// prints the server's RSS and open file descriptors; at the end both must be back at the
// baseline (fds exactly, RSS within SOAK_RSS_SLACK_MIB) and no request may have failed.
// The CI variants are test/reliability/soak-connections.test.ts and soak-ptys.test.ts.
//   npm run build && node --import @tapjs/typescript/import bench/soak/soak.ts
// Knobs (env): SOAK_MINUTES=10, SOAK_RSS_SLACK_MIB=32, SOAK_CONN_PER_ROUND=500, SOAK_PTY_PER_ROUND=100
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addRepository, connectionChurn, makeGitRepo, ptyChurn, settle } from '../../test/reliability/scenarios.js'
import { mib, pairDevice, procStats, ServerProcess } from '../../test/reliability/support.js'

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10)
const SLACK = Number(process.env.SOAK_RSS_SLACK_MIB ?? 32) * 1024 * 1024
const CONN_PER_ROUND = Number(process.env.SOAK_CONN_PER_ROUND ?? 500)
const PTY_PER_ROUND = Number(process.env.SOAK_PTY_PER_ROUND ?? 100)

const root = mkdtempSync(join(tmpdir(), 'claudette-soak-'))
let server: ServerProcess | null = null
try {
  const repo = makeGitRepo(join(root, 'repo'))
  server = await ServerProcess.start(join(root, 'home'), { env: { SHELL: '/bin/sh', CLAUDETTE_HOME: join(root, 'claudette') } })
  const srv = server
  const { client, sessionToken } = await pairDevice(srv, 'soak')
  await addRepository(client, repo)
  // Warm-up, then the baseline.
  await connectionChurn(srv, sessionToken, { cycles: 100, concurrency: 8 })
  await ptyChurn(client, repo, { cycles: 20, concurrency: 4 })
  const baseline = await settle(srv.pid, procStats(srv.pid))
  console.log(`soak: ${MINUTES} min; baseline RSS ${mib(baseline.rss)} MiB, ${baseline.fds} fds, ${baseline.threads} threads`)

  const end = Date.now() + MINUTES * 60_000
  const errors: string[] = []
  let conns = 0
  let ptys = 0
  let round = 0
  let peakRss = baseline.rss
  let peakFds = baseline.fds
  const started = performance.now()
  while (Date.now() < end) {
    round++
    // Alternate the source address so the per-address caps are exercised, not hit.
    const localAddress = `127.0.0.${2 + (round % 4)}`
    const [e1, e2] = await Promise.all([
      connectionChurn(srv, sessionToken, { cycles: CONN_PER_ROUND, concurrency: 16 }, localAddress),
      ptyChurn(client, repo, { cycles: PTY_PER_ROUND, concurrency: 4 }),
    ])
    errors.push(...e1, ...e2)
    conns += CONN_PER_ROUND
    ptys += PTY_PER_ROUND
    const s = procStats(srv.pid)
    peakRss = Math.max(peakRss, s.rss)
    peakFds = Math.max(peakFds, s.fds)
    const min = (performance.now() - started) / 60_000
    console.log(`  round ${round} (${min.toFixed(1)} min): ${conns} connections, ${ptys} ptys; RSS ${mib(s.rss)} MiB, ${s.fds} fds, ${s.threads} threads, ${errors.length} errors`)
  }
  const after = await settle(srv.pid, baseline, 20_000)
  const listed = (await client.call('list_ptys')).length
  console.log(`end: RSS ${mib(after.rss)} MiB (baseline ${mib(baseline.rss)}, peak ${mib(peakRss)}), fds ${after.fds} (baseline ${baseline.fds}, peak ${peakFds}), ${listed} ptys listed`)
  const failed: string[] = []
  if (errors.length > 0) failed.push(`${errors.length} errors, first: ${errors.slice(0, 3).join('; ')}`)
  if (after.fds > baseline.fds) failed.push(`fds ${after.fds} > baseline ${baseline.fds}`)
  if (after.rss > baseline.rss + SLACK) failed.push(`RSS ${mib(after.rss)} MiB > baseline + ${mib(SLACK)} MiB`)
  if (listed !== 0) failed.push(`${listed} ptys still listed`)
  if (!srv.running) failed.push('the server exited')
  if (errors.length > 0) console.log(`server log tail:\n${srv.stderr.slice(-3000)}`)
  console.log(failed.length === 0 ? 'soak: no leak (descriptors at the baseline, memory bounded, no errors)' : `soak FAILED: ${failed.join(' | ')}`)
  process.exitCode = failed.length === 0 ? 0 : 1
  client.terminate()
} finally {
  if (server) await server.kill('SIGTERM')
  rmSync(root, { recursive: true, force: true })
}
