// Our advertiser (server in namespace A) is found by our Nearby browser (namespace B) with the
// right port, addresses and TXT; it is gone within 3 s of SIGTERM (goodbye). The browser here is
// the SDK's browse() async iterator (NearbyBrowser underneath), stopped with an AbortSignal.
import t from 'tap'
import { createRig, json, Lines, NODE, netnsUnavailable, distUnavailable } from '../../helpers/netns.js'

const skip = netnsUnavailable() ?? distUnavailable()
if (skip) t.comment(`skipped: ${skip}`)

t.test('browser in one namespace finds the server in the other, then sees it leave', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  const browser = rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'iterate', '1000'])
  const bOut = new Lines(browser.stdout!)
  await bOut.wait(l => json(l)?.event === 'started', 60_000, 'browser start')

  const server = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Build box 1.2' })], { hostname: 'ns-host-a' })
  const sOut = new Lines(server.stdout!)
  const sErr = new Lines(server.stderr!)
  const listening = json(await sOut.wait(l => json(l)?.event === 'listening', 60_000, 'server listening'))!

  const up = json(await bOut.wait(l => json(l)?.event === 'up', 5000, 'server up in browser'))!
  const s = up.server as Record<string, unknown>
  t.equal(s.instanceName, 'Build box 1\u20242 (ns-host-a)', 'instance name is "<name> (<hostname>)" (a dot in the name becomes U+2024)')
  t.equal(s.name, 'Build box 1.2', 'TXT name')
  t.equal(s.host, 'ns-host-a.local', 'SRV host is <hostname>.local')
  t.equal(s.port, listening.port, 'the real port (listening on port 0)')
  t.equal(s.fingerprintPrefix, String(listening.fingerprint).slice(0, 16), 'first 16 hex of the fingerprint')
  t.match(s.version, /^\d+\.\d+\.\d+/, 'TXT version with its dots intact')
  // The 2 s budget is asserted once, in acceptance.test.ts; here it is only reported.
  t.comment(`discovered ${Number(up.t) - Number(listening.t)} ms after listen`)
  // Addresses can come with the first answer or a moment later.
  const withAddr = json(await bOut.wait(l => { const j = json(l); return (j?.event === 'up' || j?.event === 'update') && (j.server as { addresses: string[] }).addresses.includes(rig.a.address) }, 5000, 'address'))!
  t.ok(withAddr, `address ${rig.a.address} advertised (A record)`)
  const advertised = json(await sErr.wait(l => json(l)?.msg === 'mdns advertised', 10_000, 'advertised log'))!
  t.same(advertised.txt, { version: s.version, name: 'Build box 1.2', fingerprint: s.fingerprintPrefix }, 'logged TXT matches')

  const killedAt = Date.now()
  server.kill('SIGTERM')
  const down = json(await bOut.wait(l => json(l)?.event === 'down', 3000, 'goodbye'))!
  t.equal(down.reason, 'goodbye', 'removed because of the goodbye packet')
  t.ok(Number(down.t) - killedAt < 3000, `gone ${Number(down.t) - killedAt} ms after SIGTERM (< 3000)`)
  await sErr.wait(l => json(l)?.msg === 'mdns goodbye sent', 3000, 'goodbye log')

  // Aborting the signal ends the for-await loop and releases the socket: the process exits.
  browser.kill('SIGTERM')
  await bOut.wait(l => json(l)?.event === 'ended', 5000, 'iterator ended')
  const code = await new Promise(resolve => browser.exitCode !== null ? resolve(browser.exitCode) : browser.once('exit', resolve))
  t.equal(code, 0, 'the browsing process exits by itself once the iterator ends')
})
