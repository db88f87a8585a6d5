// A failure to advertise is logged and does not stop the server (the reference fails startup).
import { once } from 'node:events'
import t from 'tap'
import { createRig, distUnavailable, json, Lines, NODE, netnsUnavailable } from '../../helpers/netns.js'
import { observe } from '../../helpers/wait.js'

const skip = netnsUnavailable() ?? distUnavailable()
if (skip) t.comment(`skipped: ${skip}`)

t.test('an unknown --mdns-interface is logged; the server keeps serving', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  const child = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ mdns: { interface: 'nope0' } })])
  const out = new Lines(child.stdout!)
  const err = new Lines(child.stderr!)
  await out.wait(l => json(l)?.event === 'listening', 60_000, 'listening')
  const failed = json(await err.wait(l => json(l)?.msg === 'mdns advertisement failed; the server keeps running without it', 15_000, 'failure log'))!
  t.equal(failed.level, 40, 'logged as a warning')
  t.match((failed.err as { message: string }).message, /nope0/, `the message names the interface: ${(failed.err as { message: string }).message}`)
  t.equal((failed.err as { type: string }).type, 'MdnsAdvertiseError')
  await observe(500, 'no exit after the failure: the server runs in another network namespace, on no connection the test holds')
  t.equal(child.exitCode, null, 'the server is still running')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'and closes cleanly')
})

t.test('no interface but loopback: logged, the server keeps serving; browsing finds nothing and does not crash', { skip: skip ?? false }, async t => {
  const rig = await createRig(t, { bare: true })
  const child = rig.spawn(rig.d, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Alone' })])
  const out = new Lines(child.stdout!)
  const err = new Lines(child.stderr!)
  await out.wait(l => json(l)?.event === 'listening', 60_000, 'listening')
  const failed = json(await err.wait(l => json(l)?.msg === 'mdns advertisement failed; the server keeps running without it', 15_000, 'failure log'))!
  t.match((failed.err as { message: string }).message, /no network interface/, (failed.err as { message: string }).message)
  t.equal(child.exitCode, null, 'the server is still running')

  // No multicast route here: sending may fail; browsing still ends normally with an empty list.
  const browser = rig.spawn(rig.d, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'once', '1500'])
  const result = json(await new Lines(browser.stdout!).wait(l => json(l)?.event === 'result', 20_000, 'browse result'))!
  t.same(result.servers, [], 'nothing found')
  const [code] = await (browser.exitCode !== null ? Promise.resolve([browser.exitCode]) : once(browser, 'exit')) as [number | null]
  t.equal(code, 0, 'the browser exits normally')
  child.kill('SIGTERM')
  const [serverCode] = await once(child, 'exit') as [number | null]
  t.equal(serverCode, 0, 'the server closes cleanly')
})
