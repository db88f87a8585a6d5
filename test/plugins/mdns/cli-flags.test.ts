// The server CLI's mDNS flags, in a three-namespace rig (A joined to B by vA and to C by vA2),
// with the built dist/: `--no-mdns` advertises nothing; `--mdns-interface vA2` is seen from C
// only, with vA2's address, and `--mdns-hide-version` leaves TXT version out; SIGTERM removes it
// from C (goodbye).
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createRig, distUnavailable, json, Lines, NODE, netnsUnavailable, ROOT } from '../../helpers/netns.js'
import { observe } from '../../helpers/wait.js'

const SERVER_BIN = join(ROOT, 'dist/bin/claudette-server.js')
const skip = netnsUnavailable() ?? distUnavailable() ?? (existsSync(SERVER_BIN) ? null : 'dist/bin/claudette-server.js is not built')
if (skip) t.comment(`skipped: ${skip}`)

t.test('--no-mdns, --mdns-interface and --mdns-hide-version', { skip: skip ?? false }, async t => {
  const rig = await createRig(t, { third: true })
  const home = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'claudette-flags-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }
  const watchB = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '500']).stdout!)
  const watchC = new Lines(rig.spawn(rig.c, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '500']).stdout!)
  await watchB.wait(l => json(l)?.event === 'started', 60_000, 'browser B')
  await watchC.wait(l => json(l)?.event === 'started', 60_000, 'browser C')

  const off = rig.spawn(rig.a, [NODE, SERVER_BIN, '--home', home(), '--port', '0', '--name', 'Silent', '--no-mdns', '--log-level', 'debug'], { hostname: 'silent-host' })
  const offErr = new Lines(off.stderr!)
  await new Lines(off.stdout!).wait(l => /^Ready for connections/.test(l), 60_000, '--no-mdns server ready')

  const on = rig.spawn(rig.a, [NODE, SERVER_BIN, '--home', home(), '--port', '0', '--name', 'Only C', '--mdns-interface', 'vA2', '--mdns-hide-version', '--log-level', 'info'], { hostname: 'flags-host' })
  const onErr = new Lines(on.stderr!)
  const ad = json(await onErr.wait(l => json(l)?.msg === 'mdns advertised', 60_000, '--mdns-interface server advertised'))!
  t.same(ad.interfaces, 'vA2', 'the responder was given vA2 only')
  const up = json(await watchC.wait(l => json(l)?.event === 'up' || json(l)?.event === 'update', 5000, 'seen from C'))!
  t.equal((up.server as { name: string }).name, 'Only C')
  t.equal((up.server as { version?: string }).version, undefined, '--mdns-hide-version: no TXT version')
  t.match((up.server as { fingerprintPrefix?: string }).fingerprintPrefix, /^[0-9a-f]{16}$/, 'the fingerprint prefix is still there')

  await observe(2500, 'absence on B and of the --no-mdns server: multicast announcements, on no connection the test holds')
  const fromC = watchC.lines.map(json).filter(j => j?.event === 'up' || j?.event === 'update').map(j => j!.server as { name: string, addresses: string[] })
  t.same([...new Set(fromC.map(s => s.name))], ['Only C'], 'C sees only the server advertising on vA2 (not the --no-mdns one)')
  t.ok(fromC.at(-1)!.addresses.includes('10.98.0.1'), 'with vA2\'s address')
  t.notOk(fromC.at(-1)!.addresses.includes(rig.a.address), 'and not vA\'s')
  t.equal(watchB.lines.filter(l => json(l)?.event === 'up').length, 0, 'B (behind vA) sees neither server')
  t.notOk(offErr.lines.some(l => /"plugin":"mdns"/.test(l)), 'the --no-mdns server has no mdns plugin at all (no mdns log lines at debug level)')

  const killedAt = Date.now()
  on.kill('SIGTERM')
  const down = json(await watchC.wait(l => json(l)?.event === 'down', 3000, 'goodbye on vA2'))!
  t.equal(down.reason, 'goodbye')
  t.ok(Number(down.t) - killedAt < 3000, `gone ${Number(down.t) - killedAt} ms after SIGTERM`)
  off.kill('SIGTERM')
  for (const child of [on, off]) {
    const code = await new Promise(resolve => child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve))
    t.equal(code, 0, 'exits 0 on SIGTERM')
  }
})
