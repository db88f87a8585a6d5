// Two connections of one session, one JSON and one binary, both get the same bytes;
// writes from either are applied in arrival order.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { roundTrip } from '../../helpers/wait.js'
import { inputFrame, outputOf, sameSession, SHELL_OPTS, waitForOutput, registeredRepo } from './_helpers.js'

t.test('JSON and binary connections of one session see identical output', async t => {
  const server = await startServer(t, { terminals: SHELL_OPTS })
  const laptop = await TestClient.paired(t, server)
  const phone = await sameSession(t, server, laptop.sessionToken)
  await phone.call('set_pty_encoding', { encoding: 'binary' })

  const { pty_id: id } = await laptop.call('spawn_pty', { cwd: await registeredRepo(t, laptop) })
  const att = await phone.call('attach_pty', { pty_id: id })
  const phoneFrom = phone.frames.length

  laptop.sendBinary(inputFrame(id, 'echo from-laptop; '))
  await phone.call('write_pty', { pty_id: id, data: [...Buffer.from('echo from-phone; seq 1 500; echo F""IN\n')] })
  await waitForOutput(laptop, id, s => s.includes('FIN\r\n'))
  await waitForOutput(phone, id, s => s.includes('FIN\r\n'), 5000, phoneFrom)

  // Up to the marker: the shell's next prompt may have reached one connection and not yet the other.
  const upToFin = (buf: Buffer): Buffer => buf.subarray(0, buf.indexOf('FIN\r\n') + 5)
  const a = upToFin(outputOf(laptop.frames, id))
  const b = upToFin(Buffer.concat([Buffer.from(att.replay), outputOf(phone.frames.slice(phoneFrom), id)]))
  t.ok(a.length > 1000)
  t.same(b, a, 'same bytes on both connections')
  t.ok(laptop.frames.some(f => f.json?.event === 'pty-output') && !laptop.frames.some(f => f.binary), 'laptop: JSON')
  t.ok(phone.frames.some(f => f.binary) && !phone.frames.some(f => f.json?.event === 'pty-output'), 'phone: binary')
  t.match(a.toString(), /from-laptop\r\nfrom-phone\r\n/, 'writes applied in arrival order')

  // The pty keeps going when one connection leaves; the other still gets output.
  laptop.ws.terminate()
  const from = phone.frames.length
  phone.sendBinary(inputFrame(id, 'echo after-laptop-""left\n'))
  await waitForOutput(phone, id, s => s.includes('after-laptop-left\r\n'), 5000, from)

  // Detach stops the output for that connection only.
  await phone.call('detach_pty', { pty_id: id })
  const other = await sameSession(t, server, laptop.sessionToken)
  await other.call('attach_pty', { pty_id: id })
  const f2 = phone.frames.length
  const f3 = other.frames.length
  await other.call('write_pty', { pty_id: id, data: [...Buffer.from('echo detached-""check\n')] })
  await waitForOutput(other, id, s => s.includes('detached-check\r\n'), 5000, f3)
  // Output goes to every attached connection at once, so any for phone was queued on it before
  // this round trip's reply.
  await roundTrip(phone)
  t.equal(outputOf(phone.frames.slice(f2), id).length, 0, 'a detached connection gets nothing')
})
