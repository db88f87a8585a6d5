// A server that vanishes without a goodbye (SIGKILL) is dropped once it is not seen again.
import t from 'tap'
import { createRig, distUnavailable, json, Lines, NODE, netnsUnavailable } from '../../helpers/netns.js'

const skip = netnsUnavailable() ?? distUnavailable()
if (skip) t.comment(`skipped: ${skip}`)

t.test('an entry not seen again expires', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  // Queries every 500 ms, so an entry expires 1.5 s after its last answer.
  const watch = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '500']).stdout!)
  await watch.wait(l => json(l)?.event === 'started', 60_000, 'browser')
  const server = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Crashy' })])
  await watch.wait(l => json(l)?.event === 'up', 60_000, 'up')
  const killedAt = Date.now()
  server.kill('SIGKILL')
  const down = json(await watch.wait(l => json(l)?.event === 'down', 5000, 'down'))!
  t.equal(down.reason, 'expired', 'dropped as not seen again (no goodbye was sent)')
  const after = Number(down.t) - killedAt
  t.ok(after >= 500 && after < 3000, `dropped ${after} ms after the server died`)
})
