// SDK terminals over a real server and real ptys, in both encodings: spawn, write, output, a cut
// link (re-attach with `since`: every line once), a stalled link (detected by the client's own
// ping), exit codes through `pty-exit` and the events() iterator.
import { execFileSync } from 'node:child_process'
import { PassThrough, Writable } from 'node:stream'
import t from 'tap'
import { ClaudetteClient, pair, runTerminal, TrustStore, type StateChange } from '../../src/index.js'
import { pairingToken, startServer, tempHome, type TestContext } from '../helpers/server.js'
import { eventually, roundTrip, waitFor } from '../helpers/wait.js'
import { tcpRelay } from './relay.js'

async function setup (t: TestContext, binaryTerminals: boolean, terminals: Record<string, unknown> = {}) {
  // /bin/sh, not the user's $SHELL: the lines are checked exactly, so no prompt, no readline.
  const server = await startServer(t, { terminals: { shell: '/bin/sh', ...terminals } })
  const relay = await tcpRelay(t, server.port)
  const repo = tempHome(t)
  execFileSync('git', ['init', '-q', repo])
  execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'init'])
  const store = await TrustStore.open(tempHome(t))
  const { server: entry } = await pair({ connectionString: `claudette://127.0.0.1:${relay.port}/${pairingToken(server)}`, store })
  const client = ClaudetteClient.fromTrusted(entry, { binaryTerminals, pingIntervalMs: 300, reconnect: { initialDelayMs: 50, maxDelayMs: 300 } })
  t.teardown(() => client.close())
  await client.connect()
  await client.request('add_repository', { path: repo }).catch(() => {})
  let out = ''
  client.on('pty-output', (_id: number, b: Uint8Array) => { out += Buffer.from(b).toString('utf8') })
  const waitOut = async (re: RegExp, ms = 15_000): Promise<void> => {
    await waitFor(() => re.test(out), { timeout: ms, interval: 50, what: () => `${re}; output:\n${out}` })
  }
  const nextState = (state: string): Promise<StateChange> => new Promise(resolve => {
    const f = (s: StateChange): void => { if (s.state === state) { client.off('state', f); resolve(s) } }
    client.on('state', f)
  })
  return { server, relay, repo, client, waitOut, nextState, output: () => out }
}

for (const binary of [true, false]) {
  t.test(`terminal across a cut and a stalled link (${binary ? 'binary' : 'JSON'} encoding)`, async t => {
    const { relay, repo, client, waitOut, nextState, output } = await setup(t, binary)
    t.equal(client.binaryTerminals, binary, binary ? 'fast path negotiated' : 'JSON encoding')
    const id = await client.spawnPty({ cwd: repo, cols: 100, rows: 30 })
    t.same(client.attachedPtys, [id])
    await client.writePty(id, 'stty -echo; PS1=; echo ready-$((40+2))\r')
    await waitOut(/ready-42/)

    await client.writePty(id, 'for i in $(seq 1 30); do echo "N$((i*7))"; sleep 0.04; done; echo fin-$((1+1))\r')
    await waitOut(/N21\r?\n/)
    const reconnecting = nextState('reconnecting')
    relay.drop(300)
    await reconnecting
    await nextState('open')
    await waitOut(/fin-2/)
    const lines = output().split(/\r?\n/)
    for (let i = 1; i <= 30; i++) {
      const n = lines.filter(l => l === `N${i * 7}`).length
      if (n !== 1) t.fail(`N${i * 7} delivered ${n} times`)
    }
    t.pass('cut link: all 30 lines exactly once')

    // A link that silently stops carrying bytes is found by the client's ping and replaced.
    const stalled = nextState('reconnecting')
    relay.stall()
    const s = await stalled
    t.match(s.error!.message, /connection lost \(code 1006/, 'dropped after missed pings')
    await nextState('open')
    await client.writePty(id, 'echo after-stall-$((2*4))\r')
    await waitOut(/after-stall-8/)

    const exits = client.events(['pty-exit'])
    await client.writePty(id, 'exit 5\r')
    const ev = await exits.next()
    t.same(ev.value, { event: 'pty-exit', payload: { exit_code: 5, pty_id: id, signal: null } })
    await exits.return!()
    t.same(client.attachedPtys, [], 'an exited terminal is no longer followed')
  })
}

t.test('attach to an existing terminal from a second client: scrollback first, then live', async t => {
  const { repo, client, waitOut, server } = await setup(t, true)
  const id = await client.spawnPty({ cwd: repo })
  await client.writePty(id, 'echo one-$((0+1))\r')
  await waitOut(/one-1/)
  // The same device session (pty ids belong to the session): reuse the stored token.
  const other = new ClaudetteClient({ host: '127.0.0.1', port: server.port, fingerprint: server.fingerprint, sessionToken: client.sessionToken })
  t.teardown(() => other.close())
  await other.connect()
  let live = ''
  other.on('pty-output', (_i: number, b: Uint8Array) => { live += Buffer.from(b).toString() })
  const replay = Buffer.from(await other.attachPty(id)).toString()
  t.match(replay, /one-1/, 'scrollback')
  await other.writePty(id, 'echo two-$((1+1))\r')
  await eventually(() => /two-2/.test(live), { interval: 50 })
  t.match(live, /two-2/, 'live output after the replay')
  t.notMatch(live, /one-1/, 'the replay is not delivered twice')
  await other.detachPty(id)
  t.same(other.attachedPtys, [])
})

t.test('output beyond the server\'s scrollback while disconnected: pty-gap, and runTerminal says so', async t => {
  const { relay, repo, client, waitOut, nextState, output } = await setup(t, true, { scrollbackBytes: 4096 })
  const gaps: Array<[number, number]> = []
  client.on('pty-gap', (id: number, bytes: number) => gaps.push([id, bytes]))
  // runTerminal (what `claudette term` runs) on plain streams.
  const input = new PassThrough()
  const statuses: string[] = []
  let shown = ''
  const out = new Writable({ write (chunk: Buffer, _enc, cb) { shown += chunk.toString(); cb() } })
  const outcome = runTerminal({ client, input, output: out, status: l => statuses.push(l), spawn: { cwd: repo }, size: () => ({ cols: 80, rows: 24 }) })
  input.write('stty -echo; PS1=; echo ready-$((40+2))\r')
  await waitOut(/ready-42/)
  // 20000 bytes written while the link is down; the server keeps the last 4096.
  input.write('sleep 0.5; head -c 20000 /dev/zero | tr "\\0" x; echo; echo end-$((1+1))\r')
  // The command must reach the server before the link drops: runTerminal hands the input to the
  // socket within this turn of the event loop, and the round trip behind it proves it arrived.
  await new Promise(resolve => setImmediate(resolve))
  await roundTrip(client)
  const down = nextState('reconnecting')
  relay.drop(2500)
  await down
  await nextState('open')
  await waitOut(/end-2/)
  t.equal(gaps.length, 1, 'one gap reported')
  const xs = (output().match(/x/g) ?? []).length
  t.equal(gaps[0]![1] + xs, 20000, `the gap (${gaps[0]![1]} bytes) and what was shown (${xs}) add up to what was written`)
  t.ok(xs > 0 && xs <= 4096, 'only the scrollback was replayed')
  t.equal((shown.match(/x/g) ?? []).length, xs, 'runTerminal drew the same output')
  t.match(statuses.join('\n'), /^connection lost \(code 1006\); reconnecting…$/m)
  t.ok(statuses.includes(`${gaps[0]![1]} bytes of output were lost while disconnected (more than the server's scrollback keeps); showing the rest`), statuses.join(' | '))
  t.ok(statuses.includes('reconnected'))
  input.write('exit 3\r')
  t.match(await outcome, { kind: 'exit', exitCode: 3 })
})
