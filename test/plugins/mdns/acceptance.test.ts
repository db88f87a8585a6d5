// Discovery acceptance, in a two-namespace rig, with the real CLIs (built dist/):
// - `claudette nearby --json --timeout 3` in B lists the `claudette-server` running in A with the
//   right port and fingerprint prefix, first seen within 2 s of the server's start;
// - avahi-browse in B resolves it with TXT name/fingerprint/version intact (dots included);
// - after SIGTERM it disappears from both within 3 s.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { avahiUnavailable, createRig, distUnavailable, json, Lines, NODE, netnsUnavailable, ROOT } from '../../helpers/netns.js'

const SERVER_BIN = join(ROOT, 'dist/bin/claudette-server.js')
const CLIENT_BIN = join(ROOT, 'dist/bin/claudette.js')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const skip = netnsUnavailable() ?? avahiUnavailable() ?? distUnavailable() ??
  (existsSync(SERVER_BIN) && existsSync(CLIENT_BIN) ? null : 'dist/bin/ is not built')
if (skip) t.comment(`skipped: ${skip}`)

t.test('nearby lists the server in the other namespace; avahi resolves it; both drop it after SIGTERM', { skip: skip ?? false }, async t => {
  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }
  const rig = await createRig(t)
  const env = await rig.avahi(rig.b)
  const avahi = new Lines(rig.spawn(rig.b, ['avahi-browse', '--resolve', '--parsable', '--no-db-lookup', '_claudette._tcp'], { env }).stdout!)
  const watch = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '1000']).stdout!)
  await watch.wait(l => json(l)?.event === 'started', 60_000, 'watching browser')

  const home = tempDir('claudette-acc-')
  const server = rig.spawn(rig.a, [NODE, SERVER_BIN, '--home', home, '--port', '0', '--name', 'Acceptance 1.0', '--log-level', 'info'], { hostname: 'acc-host' })
  const sOut = new Lines(server.stdout!)
  const sErr = new Lines(server.stderr!)
  const listening = json(await sErr.wait(l => /^listening on wss:\/\/0\.0\.0\.0:\d+$/.test(String(json(l)?.msg)), 60_000, 'server listening'))!
  const port = Number(/:(\d+)$/.exec(String(listening.msg))![1])
  const fingerprint = /\b[0-9a-f]{64}\b/.exec((await sOut.wait(l => /fingerprint/i.test(l), 10_000, 'banner fingerprint')))![0]

  // The real client CLI, exactly as the acceptance criterion says.
  const nearby = rig.spawn(rig.b, [NODE, CLIENT_BIN, '--home', tempDir('claudette-acc-client-'), 'nearby', '--json', '--timeout', '3'])
  const nearbyOut: string[] = []
  nearby.stdout!.on('data', (d: Buffer) => nearbyOut.push(d.toString()))
  await new Promise(resolve => nearby.once('exit', resolve))
  t.equal(nearby.exitCode, 0, 'nearby exits 0')
  const list = JSON.parse(nearbyOut.join('')) as Array<Record<string, unknown>>
  t.equal(list.length, 1, 'one server listed')
  const s = list[0]!
  t.equal(s.port, port, 'correct port')
  t.equal(s.fingerprintPrefix, fingerprint.slice(0, 16), 'correct fingerprint prefix')
  t.equal(s.name, 'Acceptance 1.0', 'TXT name')
  t.equal(s.host, 'acc-host.local')
  t.ok((s.addresses as string[]).includes(rig.a.address), 'with the server\'s address')
  t.equal(s.paired, null, 'not paired yet')
  // Time to discovery, from a browser already running (the one-shot CLI's own start-up, seconds
  // on a loaded machine, is not the server's doing).
  const up = json(await watch.wait(l => json(l)?.event === 'up', 5000, 'watching browser sees it'))!
  const seenAfter = Number(up.t) - Number(listening.time)
  t.ok(seenAfter < 2000, `discovered ${seenAfter} ms after the server started listening (< 2000)`)

  const resolved = (await avahi.wait(l => l.startsWith('=;') && l.includes(`;${port};`), 10_000, 'avahi-browse resolves it')).split(';')
  t.equal(resolved[6], 'acc-host.local', 'avahi: SRV host')
  t.equal(resolved[7], rig.a.address, 'avahi: address')
  const txt = [...(resolved[9] ?? '').matchAll(/"([^"]*)"/g)].map(m => m[1]).sort()
  t.same(txt, [`fingerprint=${fingerprint.slice(0, 16)}`, 'name=Acceptance 1.0', `version=${VERSION}`], 'avahi: TXT intact, dots included')

  const killedAt = Date.now()
  server.kill('SIGTERM')
  const down = json(await watch.wait(l => json(l)?.event === 'down', 3000, 'our browser drops it'))!
  t.equal(down.reason, 'goodbye')
  t.ok(Number(down.t) - killedAt < 3000, `our browser: gone ${Number(down.t) - killedAt} ms after SIGTERM`)
  await avahi.wait(l => l.startsWith('-;') && l.includes('_claudette._tcp'), Math.max(100, 3000 - (Date.now() - killedAt)), 'avahi-browse removal')
  t.ok(Date.now() - killedAt < 3000, `avahi-browse: gone ${Date.now() - killedAt} ms after SIGTERM`)
  await new Promise(resolve => server.exitCode !== null ? resolve(null) : server.once('exit', resolve))
  t.equal(server.exitCode, 0, 'the server exits 0')
})
