// A `yes` flood to a client that stops reading: the pty is paused at the high watermark, so
// the server's socket buffer and RSS stay bounded; reading again resumes the output.
import t from 'tap'
import { CORE, resolve } from '../../../src/index.js'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { eventually, observe, waitFor } from '../../helpers/wait.js'
import { inputFrame, outputOf, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

const MiB = 1024 * 1024

for (const encoding of ['binary', 'json'] as const) {
  t.test(`yes flood with a stalled ${encoding} client keeps memory bounded`, async t => {
    const server = await startServer(t, { terminals: { ...SHELL_OPTS, highWaterMark: MiB, lowWaterMark: 256 * 1024 } })
    const hub = resolve(server.app.di, CORE.Hub)
    const c = await TestClient.paired(t, server)
    await c.call('set_pty_encoding', { encoding })
    const { pty_id: id } = await c.call('spawn_pty', { cwd: await registeredRepo(t, c) })
    c.sendBinary(inputFrame(id, 'yes flood-line-flood-line-flood-line\n'))
    await waitForOutput(c, id, s => s.includes('flood-line\r\nflood-line'))
    c.ws.pause() // stop reading: TCP buffers fill, then the server's socket buffer

    // The pty is paused once the connection's buffer passes the high watermark.
    await waitFor(() => hub.all().some(conn => conn.bufferedAmount > MiB), { what: 'the buffer to reach the high watermark' })
    const rss1 = process.memoryUsage().rss
    let maxBuffered = 0
    for (let i = 0; i < 20; i++) {
      await observe(150, 'the measurement: memory is sampled while the client stays stalled, and no event marks "not growing"')
      for (const conn of hub.all()) maxBuffered = Math.max(maxBuffered, conn.bufferedAmount)
    }
    const rss2 = process.memoryUsage().rss
    const growth = (rss2 - rss1) / MiB
    t.comment(`${encoding}: rss ${(rss1 / MiB).toFixed(1)} → ${(rss2 / MiB).toFixed(1)} MiB over 3 s; max socket buffer ${(maxBuffered / MiB).toFixed(2)} MiB`)
    t.ok(maxBuffered < 3 * MiB, 'socket buffer stays near the high watermark')
    t.ok(growth < 40, `RSS grew ${growth.toFixed(1)} MiB while the client was stalled`)

    // Reading again drains the buffer and the pty resumes.
    const before = c.frames.length
    c.ws.resume()
    await c.waitFor(() => true, 5000, before)
    const mark = c.frames.length
    await eventually(() => outputOf(c.frames.slice(mark), id).length >= 4 * MiB, { timeout: 15_000, interval: 100 })
    t.ok(outputOf(c.frames.slice(mark), id).length >= 4 * MiB, 'output flows again (4 MiB more after the pause)')
    c.sendBinary(inputFrame(id, '\x03'))
    await c.call('close_pty', { pty_id: id })
  })
}
