// `rotate-certificate` while the server runs: the TXT `fingerprint` prefix that browsers see
// follows the new certificate within seconds, without a restart (two-namespace rig, built dist/).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { avahiUnavailable, createRig, distUnavailable, json, Lines, NODE, netnsUnavailable, ROOT } from '../../helpers/netns.js'

const SERVER_BIN = join(ROOT, 'dist/bin/claudette-server.js')
const skip = netnsUnavailable() ?? avahiUnavailable() ?? distUnavailable() ?? (existsSync(SERVER_BIN) ? null : 'dist/bin/claudette-server.js is not built')
if (skip) t.comment(`skipped: ${skip}`)

t.test('a certificate rotation re-announces TXT fingerprint to browsers on the LAN', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  const watch = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '1000']).stdout!)
  await watch.wait(l => json(l)?.event === 'started', 60_000, 'watching browser')

  const home = mkdtempSync(join(tmpdir(), 'claudette-rot-'))
  const server = rig.spawn(rig.a, [NODE, SERVER_BIN, '--home', home, '--port', '0', '--name', 'Rotating', '--log-level', 'info'], { hostname: 'rot-host' })
  const sOut = new Lines(server.stdout!)
  const sErr = new Lines(server.stderr!)
  const before = /\b[0-9a-f]{64}\b/.exec(await sOut.wait(l => /fingerprint/i.test(l), 60_000, 'banner fingerprint'))![0]
  const up = json(await watch.wait(l => json(l)?.event === 'up', 10_000, 'browser sees the server'))!
  t.equal((up.server as { fingerprintPrefix: string }).fingerprintPrefix, before.slice(0, 16), 'first announcement: the original prefix')

  // The admin command writes the new identity into the home; the running server picks it up.
  const out = execFileSync(NODE, [SERVER_BIN, '--home', home, '--json', 'rotate-certificate'], { encoding: 'utf8' })
  const after = (JSON.parse(out) as { fingerprint: string }).fingerprint
  t.not(after, before, 'a new certificate')
  const rotatedAt = Date.now()
  await sErr.wait(l => json(l)?.msg === 'mdns TXT updated after a certificate rotation', 10_000, 'server re-announces TXT')
  const update = json(await watch.wait(l => {
    const e = json(l)
    return e?.event === 'update' && (e.server as { fingerprintPrefix?: string }).fingerprintPrefix === after.slice(0, 16)
  }, 10_000, 'browser sees the new prefix'))!
  t.ok(Number(update.t) - rotatedAt < 5000, `browser saw the new prefix ${Number(update.t) - rotatedAt} ms after the rotation`)

  server.kill('SIGTERM')
  await new Promise(resolve => server.exitCode !== null ? resolve(null) : server.once('exit', resolve))
  t.equal(server.exitCode, 0, 'the server exits 0')
})
