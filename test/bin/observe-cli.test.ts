// The server CLI's log output and metrics flags, driven as a real process: piped stderr gets JSON
// lines, --log-format pretty gets readable lines, neither has Fastify's "Server listening at"
// line; --metrics-bind serves metrics, a public address without --metrics-bind-public exits 2.
import t from 'tap'
import { SERVER_BIN, runCli, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'
import { scrape } from '../plugins/metrics/_prometheus.js'

const READY = /Ready for connections\./
const base = (t: Parameters<typeof tempHome>[0]): string[] => ['--home', tempHome(t), '--port', '0', '--bind', '127.0.0.1', '--no-mdns']

async function runUntilReady (t: Parameters<typeof tempHome>[0], extra: string[]): Promise<{ stderr: () => string, stdout: () => string, stop: () => Promise<number | null> }> {
  const cli = await startCli(SERVER_BIN, [...base(t), ...extra], READY)
  let stopped = false
  const stop = async (): Promise<number | null> => {
    if (!stopped) { stopped = true; cli.child.kill('SIGTERM') }
    return (await cli.exited).code
  }
  t.teardown(stop)
  return { stderr: cli.stderr, stdout: cli.stdout, stop }
}

t.test('piped stderr: JSON lines; one accurate listening line, no "Server listening at"', async t => {
  const cli = await runUntilReady(t, [])
  const port = /listening on wss:\/\/127\.0\.0\.1:(\d+)/.exec(cli.stdout())![1]
  await waitFor(() => cli.stderr().includes('listening on'), { what: 'the listening log line' })
  t.equal(await cli.stop(), 0)
  const lines = cli.stderr().split('\n').filter(l => l !== '')
  t.ok(lines.length > 0)
  for (const l of lines) t.doesNotThrow(() => JSON.parse(l), `JSON: ${l}`)
  t.match(lines.map(l => JSON.parse(l).msg), [`listening on wss://127.0.0.1:${port}`])
  t.notMatch(cli.stderr(), /Server listening/)
})

t.test('--log-format pretty: readable lines, no colours on a pipe, no "Server listening at"', async t => {
  const cli = await runUntilReady(t, ['--log-format', 'pretty'])
  await waitFor(() => cli.stderr().includes('listening on'), { what: 'the listening log line' })
  t.equal(await cli.stop(), 0)
  const lines = cli.stderr().split('\n').filter(l => l !== '')
  t.match(lines[0], /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: listening on wss:\/\/127\.0\.0\.1:\d+/)
  for (const l of lines) t.throws(() => JSON.parse(l), `not JSON: ${l}`)
  t.notMatch(cli.stderr(), /\u001b\[/, 'no ANSI colours when stderr is not a terminal')
  t.notMatch(cli.stderr(), /Server listening/)
  t.match((await runCli(SERVER_BIN, ['--log-format', 'yaml', '--help'])).code, 2, 'an unknown format is a usage error')
})

t.test('--metrics-bind serves metrics; a public address needs --metrics-bind-public (exit 2)', async t => {
  const refused = await runCli(SERVER_BIN, [...base(t), '--metrics-bind', '0.0.0.0:9464'])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /error: --metrics-bind 0\.0\.0\.0:9464 is not a loopback address.*--metrics-bind-public/)
  t.equal(refused.stdout, '', 'nothing started')
  const bad = await runCli(SERVER_BIN, [...base(t), '--metrics-bind', 'nope'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /must be host:port/)
  const lonely = await runCli(SERVER_BIN, [...base(t), '--metrics-bind-public'])
  t.equal(lonely.code, 2)

  const cli = await runUntilReady(t, ['--metrics-bind', '127.0.0.1:0'])
  const url = await waitFor(() => /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(cli.stderr())?.[1], { what: 'the metrics url in the log' })
  const s = await scrape(url)
  t.equal(s.status, 200)
  t.equal(s.metrics.get('claudette_connections', { state: 'authenticated' }), 0)
  t.equal(await cli.stop(), 0)
})
