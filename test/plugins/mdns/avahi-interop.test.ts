// Interop with avahi, both ways: avahi-browse (in namespace B) resolves our server (namespace A)
// with TXT name/fingerprint/version intact; our browser (A) sees a service avahi publishes (B).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { avahiUnavailable, createRig, distUnavailable, json, Lines, NODE, netnsUnavailable, ROOT } from '../../helpers/netns.js'

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

const skip = netnsUnavailable() ?? avahiUnavailable() ?? distUnavailable()
if (skip) t.comment(`skipped: ${skip}`)

/** avahi-browse -p: `=;iface;proto;name;type;domain;host;address;port;"txt" "txt"`, names escaped (\032 = space). */
const unescapeAvahi = (s: string): string => {
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const m = /^\\(\d{3})/.exec(s.slice(i))
    if (m) { bytes.push(Number(m[1])); i += 3 } else if (s[i] === '\\') { bytes.push(...Buffer.from(s[++i] ?? '')) } else bytes.push(...Buffer.from(s[i]!))
  }
  return Buffer.from(bytes).toString('utf8')
}

t.test('avahi-browse resolves our server with its TXT record', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  const env = await rig.avahi(rig.b)
  const server = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Lab v2.1' })], { hostname: 'lab-host' })
  const listening = json(await new Lines(server.stdout!).wait(l => json(l)?.event === 'listening', 60_000, 'listening'))!
  await new Lines(server.stderr!).wait(l => json(l)?.msg === 'mdns advertised', 10_000, 'advertised')
  const browse = rig.spawn(rig.b, ['avahi-browse', '--resolve', '--parsable', '--no-db-lookup', '_claudette._tcp'], { env })
  const line = await new Lines(browse.stdout!).wait(l => l.startsWith('=;'), 10_000, 'avahi-browse resolving our server')
  const resolved = [line.split(';')]
  const [, , , name, type, , host, address, port, txt] = resolved[0] ?? []
  t.equal(unescapeAvahi(name ?? ''), 'Lab v2\u20241 (lab-host)', 'instance name (the dot in the name advertised as U+2024)')
  t.equal(type, '_claudette._tcp')
  t.equal(host, 'lab-host.local', 'SRV host')
  t.equal(address, rig.a.address, 'A record resolves to the server namespace address')
  t.equal(Number(port), listening.port, 'port')
  const items = [...(txt ?? '').matchAll(/"([^"]*)"/g)].map(m => m[1]).sort()
  t.same(items, [`fingerprint=${String(listening.fingerprint).slice(0, 16)}`, 'name=Lab v2.1', `version=${VERSION}`].sort(), 'TXT intact, dots included')
})

t.test('our browser sees a service published by avahi', { skip: skip ?? false }, async t => {
  const rig = await createRig(t, { third: true })
  const env = await rig.avahi(rig.b)
  // Dots in the instance name (sent escaped, `\.`) and in TXT values must survive.
  const pub = rig.spawn(rig.b, ['avahi-publish', '--service', 'Avahi box 2.0 (host-vB)', '_claudette._tcp', '7777', 'version=1.2.3', 'name=Avahi box 2.0', 'fingerprint=0123456789ABCDEF', 'extra=a=b'], { env })
  await new Lines(pub.stderr!).wait(l => /Established/.test(l), 10_000, 'avahi-publish established')
  const browser = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'once', '2500'])
  const result = json(await new Lines(browser.stdout!).wait(l => json(l)?.event === 'result', 20_000, 'browse result'))!
  const servers = result.servers as Array<Record<string, unknown>>
  t.equal(servers.length, 1, 'one server')
  t.match(servers[0], {
    instanceName: 'Avahi box 2.0 (host-vB)',
    name: 'Avahi box 2.0',
    host: 'host-vB.local',
    port: 7777,
    fingerprintPrefix: '0123456789abcdef',
    version: '1.2.3',
  }, 'instance name, SRV and TXT as published, dots included (fingerprint lower-cased)')
  t.ok((servers[0]!.addresses as string[]).includes(rig.b.address), 'address from avahi\'s A record')

  // Browsing on one interface: vA (towards B) sees it, vA2 (towards C) does not.
  const onIface = async (iface: string): Promise<unknown[]> => {
    const b = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'once', '2000', iface])
    return (json(await new Lines(b.stdout!).wait(l => json(l)?.event === 'result', 20_000, `browse on ${iface}`))!.servers as unknown[])
  }
  const [viaA, viaA2] = await Promise.all([onIface('vA'), onIface('vA2')])
  t.equal(viaA.length, 1, 'interface vA: found')
  t.equal(viaA2.length, 0, 'interface vA2: not found')

  // Goodbye from avahi (publisher stopped) removes it from a watching browser.
  const watch = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '1000'])
  const w = new Lines(watch.stdout!)
  await w.wait(l => json(l)?.event === 'up', 10_000, 'up')
  const stoppedAt = Date.now()
  pub.kill('SIGTERM')
  const down = json(await w.wait(l => json(l)?.event === 'down', 3000, 'down after avahi goodbye'))!
  t.equal(down.reason, 'goodbye')
  t.ok(Number(down.t) - stoppedAt < 3000, `removed ${Number(down.t) - stoppedAt} ms after the publisher stopped`)
})

t.test('next to avahi-daemon owning the same host name: renamed (logged), still discoverable', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  await rig.avahi(rig.a) // answers for host-vA.local, as avahi/mDNSResponder do for the machine's name
  const server = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name: 'Shared', mdns: { hostname: 'host-vA' } })])
  const err = new Lines(server.stderr!)
  const ad = json(await err.wait(l => json(l)?.msg === 'mdns advertised', 60_000, 'advertised'))!
  t.ok(err.lines.some(l => /mdns host name conflict/.test(String(json(l)?.msg))), 'ciao sees the host name as taken and logs the rename')
  t.equal(ad.host, 'host-vA-(2).local', 'advertised on the renamed host')
  const b = rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'once', '2000'])
  const servers = json(await new Lines(b.stdout!).wait(l => json(l)?.event === 'result', 20_000, 'browse'))!.servers as Array<Record<string, unknown>>
  t.equal(servers.length, 1)
  t.match(servers[0], { name: 'Shared', host: 'host-vA-(2).local', instanceName: ad.instanceName }, 'found under the new names, TXT name unchanged')
  t.ok((servers[0]!.addresses as string[]).includes(rig.a.address), 'with our address')
})
