// A pty survives its connection; attach_pty {since} replays exactly the bytes the client missed.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { inputFrame, outputOf, sameSession, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

// Slow enough to drop the connection in the middle; the marker is quoted so its echo differs.
const SCRIPT = 'i=0; while [ $i -lt 4000 ]; do echo line-$i; i=$((i+1)); [ $((i%200)) -eq 0 ] && sleep 0.05; done; echo END-OF""-RUN\n'

for (const encoding of ['json', 'binary'] as const) {
  t.test(`disconnect mid-output, reconnect, attach_pty replays the missed bytes (${encoding})`, async t => {
    const server = await startServer(t, { terminals: SHELL_OPTS })
    const first = await TestClient.paired(t, server)
    await first.call('set_pty_encoding', { encoding })
    const { pty_id: id } = await first.call('spawn_pty', { cwd: await registeredRepo(t, first) })
    first.sendBinary(inputFrame(id, SCRIPT))
    await waitForOutput(first, id, s => s.includes('line-300\r\n'))
    first.ws.terminate() // mid-output: the loop is still printing
    const seen = outputOf(first.frames, id)
    t.notOk(seen.toString().includes('END-OF-RUN\r\n'), 'dropped before the end')

    const again = await sameSession(t, server, first.sessionToken)
    await again.call('set_pty_encoding', { encoding })
    const [entry] = await again.call('list_ptys')
    t.match(entry, { pty_id: id, alive: true })
    const res = await again.call('attach_pty', { pty_id: id, since: seen.length })
    t.equal(res.offset, seen.length, 'replay starts exactly where the client stopped')
    t.match(res, { alive: true, exit_code: null, signal: null })
    const from = again.frames.length
    const restOf = (): Buffer => Buffer.concat([Buffer.from(res.replay), outputOf(again.frames.slice(from), id)])
    while (!restOf().toString().includes('END-OF-RUN\r\n')) await again.waitFor(() => true, 10_000, again.frames.length)
    const rest = restOf()
    const all = Buffer.concat([seen, rest]).toString()

    // Compare against everything the server recorded (the scrollback holds the whole run).
    const full = await again.call('attach_pty', { pty_id: id })
    t.equal(full.offset, 0)
    // The shell's next prompt may follow END-OF-RUN in the scrollback by now: compare the prefix.
    t.equal(all, Buffer.from(full.replay).toString().slice(0, all.length), 'no byte lost, none duplicated')
    // (the shell's "# " prompt may land in front of the first line)
    const lines = all.match(/line-\d+(?=\r\n)/g)!
    t.equal(lines.length, 4000)
    t.ok(lines.every((l, i) => l === `line-${i}`), 'lines in order')
  })
}

t.test('replay is bounded by the scrollback; since older than it gets what is kept', async t => {
  const server = await startServer(t, { terminals: { ...SHELL_OPTS, scrollbackBytes: 4096 } })
  const c = await TestClient.paired(t, server)
  const { pty_id: id } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
  c.sendBinary(inputFrame(id, 'i=0; while [ $i -lt 2000 ]; do echo l-$i; i=$((i+1)); done; echo DO""NE\n'))
  await waitForOutput(c, id, s => s.includes('DONE\r\n'))
  const total = outputOf(c.frames, id)
  const res = await c.call('attach_pty', { pty_id: id, since: 0 })
  t.equal(res.replay.length, 4096)
  t.equal(res.offset, total.length - 4096)
  t.same(Buffer.from(res.replay), total.subarray(total.length - 4096), 'the newest 4 KiB')
  const [entry] = await c.call('list_ptys')
  t.equal(entry.output_bytes, total.length)
  const tail = await c.call('attach_pty', { pty_id: id, since: total.length })
  t.same(tail.replay, [], 'nothing missed, nothing replayed')
})
