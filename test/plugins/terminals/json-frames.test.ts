// JSON pty-output events are cut at maxJsonFrameBytes while binary frames keep the whole batch
// (up to maxFrameBytes): the same output, framed per encoding.
import t from 'tap'
import { TestClient } from '../../helpers/client.js'
import { startServer } from '../../helpers/server.js'
import { outputOf, registeredRepo, sameSession, SHELL_OPTS, waitForOutput } from './_helpers.js'

t.test('a JSON viewer gets events of at most maxJsonFrameBytes; a binary viewer, larger frames of the same bytes', async t => {
  const server = await startServer(t, { terminals: { ...SHELL_OPTS, maxJsonFrameBytes: 1024, maxFrameBytes: 64 * 1024 } })
  const laptop = await TestClient.paired(t, server)
  const phone = await sameSession(t, server, laptop.sessionToken)
  await phone.call('set_pty_encoding', { encoding: 'binary' })
  const { pty_id: id } = await laptop.call('spawn_pty', { cwd: await registeredRepo(t, laptop) })
  const att = await phone.call('attach_pty', { pty_id: id })
  const phoneFrom = phone.frames.length

  await laptop.call('write_pty', { pty_id: id, data: [...Buffer.from('seq 1 30000; echo F""IN\n')] })
  await waitForOutput(laptop, id, s => s.includes('FIN\r\n'), 20_000)
  await waitForOutput(phone, id, s => s.includes('FIN\r\n'), 20_000, phoneFrom)

  const jsonSizes = laptop.frames.filter(f => f.json?.event === 'pty-output').map(f => f.json.payload.data.length as number)
  const binarySizes = phone.frames.slice(phoneFrom).filter(f => f.binary?.[0] === 0x01).map(f => f.binary!.length - 5)
  t.ok(Math.max(...jsonSizes) <= 1024, `every JSON event holds at most 1 KiB (largest ${Math.max(...jsonSizes)})`)
  t.ok(jsonSizes.filter(n => n === 1024).length > 10, 'large batches were cut into full 1 KiB events')
  t.ok(Math.max(...binarySizes) > 1024, `binary frames are not cut at the JSON limit (largest ${Math.max(...binarySizes)})`)

  const upToFin = (buf: Buffer): Buffer => buf.subarray(0, buf.indexOf('FIN\r\n') + 5)
  const a = upToFin(outputOf(laptop.frames, id))
  const b = upToFin(Buffer.concat([Buffer.from(att.replay), outputOf(phone.frames.slice(phoneFrom), id)]))
  t.ok(a.length > 150_000, `all of seq's output arrived (${a.length} bytes)`)
  t.same(b, a, 'the same bytes, in order, on both connections')
})

t.test('maxJsonFrameBytes is validated', async t => {
  const { createServer } = await import('../../../src/index.js')
  await t.rejects(createServer({ home: t.testdir(), terminals: { maxJsonFrameBytes: 100 } }), { code: 'ERR_CONFIG_INVALID', message: /maxJsonFrameBytes/ })
})
