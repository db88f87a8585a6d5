// `interface` (--mdns-interface) restricts the advertisement to one interface; `includeVersion:
// false` and `hostname` keep the version and the machine's host name off the network.
import t from 'tap'
import { createRig, distUnavailable, json, Lines, NODE, netnsUnavailable } from '../../helpers/netns.js'
import { observe } from '../../helpers/wait.js'

const skip = netnsUnavailable() ?? distUnavailable()
if (skip) t.comment(`skipped: ${skip}`)

t.test('advertised on the chosen interface only, without version, under another host name', { skip: skip ?? false }, async t => {
  const rig = await createRig(t, { third: true })
  // A is joined to B (vA) and to C (vA2); the server advertises on vA2 only.
  const watchB = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '500']).stdout!)
  const watchC = new Lines(rig.spawn(rig.c, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '500']).stdout!)
  await watchB.wait(l => json(l)?.event === 'started', 60_000, 'browser B')
  await watchC.wait(l => json(l)?.event === 'started', 60_000, 'browser C')
  const server = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Quiet', mdns: { interface: 'vA2', includeVersion: false, hostname: 'quiet-box' } })])
  const err = new Lines(server.stderr!)
  const ad = json(await err.wait(l => json(l)?.msg === 'mdns advertised', 60_000, 'advertised'))!
  t.same(Object.keys(ad.txt as object).sort(), ['fingerprint', 'name'], 'TXT without version')

  const up = json(await watchC.wait(l => json(l)?.event === 'up', 5000, 'seen from C'))!
  const s = up.server as Record<string, unknown>
  t.equal(s.instanceName, 'Quiet (quiet-box)', 'instance name uses the configured host name')
  t.equal(s.host, 'quiet-box.local', 'SRV host too')
  t.equal(s.version, undefined, 'no version')
  await observe(2500, 'absence on B: multicast announcements, on no connection the test holds')
  const c = watchC.lines.map(json).filter(j => j?.event === 'up' || j?.event === 'update').at(-1)!.server as { addresses: string[] }
  t.ok(c.addresses.includes('10.98.0.1'), 'vA2\'s address is advertised')
  t.notOk(c.addresses.includes(rig.a.address), 'vA\'s address is not')
  t.equal(watchB.lines.filter(l => json(l)?.event === 'up').length, 0, 'not seen from B (other interface) after 2.5 s')
})
