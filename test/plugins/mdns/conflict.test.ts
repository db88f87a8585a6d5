// Two of our servers with the same name on the same host name: the second one finds the
// conflict while probing, renames itself, logs it, and both are then visible side by side.
import t from 'tap'
import { createRig, distUnavailable, json, Lines, NODE, netnsUnavailable } from '../../helpers/netns.js'
import { observe } from '../../helpers/wait.js'

const skip = netnsUnavailable() ?? distUnavailable()
if (skip) t.comment(`skipped: ${skip}`)

t.test('a name conflict leads to a rename', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  const serve = (side: typeof rig.a) => {
    const child = rig.spawn(side, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Twin' })], { hostname: 'twin' })
    return { out: new Lines(child.stdout!), err: new Lines(child.stderr!) }
  }
  const first = serve(rig.a)
  const firstAd = json(await first.err.wait(l => json(l)?.msg === 'mdns advertised', 60_000, 'first advertised'))!
  t.equal(firstAd.instanceName, 'Twin (twin)', 'the first server gets the plain name')

  const second = serve(rig.b)
  const renamed = json(await second.err.wait(l => /mdns (host )?name conflict/.test(String(json(l)?.msg)), 60_000, 'conflict log'))!
  t.equal(renamed.level, 40, 'the rename is logged as a warning')
  const secondAd = json(await second.err.wait(l => json(l)?.msg === 'mdns advertised', 60_000, 'second advertised'))!
  t.not(secondAd.instanceName, 'Twin (twin)', `the second server advertises under a new name: ${String(secondAd.instanceName)}`)
  t.match(secondAd.instanceName, /^Twin \(twin\)/, 'derived from the original name')
  t.equal(first.err.lines.filter(l => /conflict/.test(l)).length, 0, 'the first server keeps its name')

  const browser = rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'once', '2500'])
  const result = json(await new Lines(browser.stdout!).wait(l => json(l)?.event === 'result', 20_000, 'browse result'))!
  const names = (result.servers as Array<{ instanceName: string }>).map(s => s.instanceName).sort()
  t.same(names, [String(firstAd.instanceName), String(secondAd.instanceName)].sort(), 'both are listed, under distinct names')

  // A browser capped at one entry (maxEntries, the guard against a flood of fake services)
  // tracks one of them and warns once.
  const capped = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '500'], { env: { NEARBY_MAX_ENTRIES: '1' } }).stdout!)
  const warning = json(await capped.wait(l => json(l)?.event === 'error', 20_000, 'cap warning'))!
  t.equal(warning.message, 'more than 1 _claudette._tcp services on the network; ignoring the rest')
  await capped.wait(l => json(l)?.event === 'up', 5000, 'one entry up')
  await observe(2000, 'no second entry: the other service keeps announcing itself by multicast, on no connection the test holds')
  t.equal(capped.lines.filter(l => json(l)?.event === 'up').length, 1, 'only one entry tracked')
  t.equal(capped.lines.filter(l => json(l)?.event === 'error').length, 1, 'warned once')
})
