// Crash (pairing): the server process is SIGKILLed at random moments while devices pair. Every
// restart succeeds on the same home and port, every pairing whose reply reached its client
// (committed) still authenticates afterwards, and an SDK client reconnects by itself.
import t from 'tap'
import { ClaudetteClient } from '../../src/client/index.js'
import { tempHome } from '../helpers/server.js'
import { crashRounds, waitForState } from './crash-support.js'
import { freePort, resumeDevice, WireClient, ServerProcess } from './support.js'

const ROUNDS = 6
const WORKERS = 6

t.test('SIGKILL during pairing loses no committed session and every restart succeeds', async t => {
  const home = tempHome(t)
  const port = await freePort()
  let server = await ServerProcess.start(home, { port })
  t.teardown(() => server.kill('SIGKILL'))
  const watcher = new ClaudetteClient({
    host: '127.0.0.1', port, pairingToken: server.pairingToken, clientName: 'watcher',
    pingIntervalMs: 0, reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
  })
  t.teardown(() => watcher.close())
  await watcher.connect()

  const committed: string[] = []
  let attempted = 0
  await crashRounds(t, ROUNDS, {
    current: () => server,
    restart: async () => { server = await ServerProcess.start(home, { port }); return server },
    // Pairings in a loop until the kill: a token counts as committed once its reply arrived.
    // Odd rounds: the kill delay starts at once (it may cut the first handshakes short). Even
    // rounds: after the round's first committed pairing, so a loaded machine, where a TLS
    // handshake can outlast the whole delay, still commits some in every other round.
    armsKill: true,
    work: async (stopped, round, arm) => {
      if (round % 2 === 1) arm()
      await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
        while (!stopped()) {
          attempted++
          try {
            const c = await WireClient.connect(port, server.ca)
            const res = await c.request('authenticate', { client_name: `dev-${w}`, pairing_token: server.pairingToken }, 5000)
            if (typeof res.result?.session_token === 'string') { committed.push(res.result.session_token); arm() }
            c.terminate()
          } catch { /* killed mid-way: not committed */ }
        }
      }))
    },
    check: async (round) => {
      await waitForState(watcher, 'open', 15_000)
      t.ok((await watcher.request('server_info')).name, `round ${round}: the SDK client reconnected by itself`)
    },
  })

  // Every committed pairing survived every crash.
  const lost: number[] = []
  for (let i = 0; i < committed.length; i += 16) {
    await Promise.all(committed.slice(i, i + 16).map(async (token, k) => {
      try { const c = await resumeDevice(server, token); c.terminate() } catch { lost.push(i + k) }
    }))
  }
  t.ok(committed.length >= ROUNDS / 2, `${committed.length} of ${attempted} pairings committed before the kills`)
  t.same(lost, [], 'every committed session token still authenticates')
})
