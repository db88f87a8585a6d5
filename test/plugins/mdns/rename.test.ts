// SIGHUP after `config set server.name`: browsers on the LAN see the old instance go (goodbye)
// and the server come back under the new name, without a restart (two-namespace rig, built dist/).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { avahiUnavailable, createRig, distUnavailable, json, Lines, NODE, netnsUnavailable, ROOT } from '../../helpers/netns.js'

const SERVER_BIN = join(ROOT, 'dist/bin/claudette-server.js')
const skip = netnsUnavailable() ?? avahiUnavailable() ?? distUnavailable() ?? (existsSync(SERVER_BIN) ? null : 'dist/bin/claudette-server.js is not built')
if (skip) t.comment(`skipped: ${skip}`)

t.test('a reload that renames the server re-advertises it under the new name', { skip: skip ?? false }, async t => {
  const rig = await createRig(t)
  const watch = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '1000']).stdout!)
  await watch.wait(l => json(l)?.event === 'started', 60_000, 'watching browser')

  const home = mkdtempSync(join(tmpdir(), 'claudette-rename-'))
  execFileSync(NODE, [SERVER_BIN, '--home', home, 'config', 'set', 'server.name', 'Before'])
  const server = rig.spawn(rig.a, [NODE, SERVER_BIN, '--home', home, '--port', '0', '--log-level', 'info'], { hostname: 'ren-host' })
  const sOut = new Lines(server.stdout!)
  const sErr = new Lines(server.stderr!)
  await sOut.wait(l => /Ready for connections/.test(l), 60_000, 'banner')
  const up = json(await watch.wait(l => json(l)?.event === 'up', 10_000, 'browser sees the server'))!
  t.equal((up.server as { name: string }).name, 'Before')

  execFileSync(NODE, [SERVER_BIN, '--home', home, 'config', 'set', 'server.name', 'After'])
  server.kill('SIGHUP')
  await sErr.wait(l => json(l)?.msg === 'server.toml reloaded', 10_000, 'the reload')
  const renamed = json(await watch.wait(l => {
    const e = json(l)
    return (e?.event === 'up' || e?.event === 'update') && (e.server as { name?: string }).name === 'After'
  }, 15_000, 'browser sees the new name'))!
  t.match(renamed.server, { name: 'After' })
  t.ok(watch.lines.some(l => json(l)?.event === 'down' && (json(l)!.server as { name?: string }).name === 'Before'), 'the old name said goodbye')

  server.kill('SIGTERM')
  await new Promise(resolve => server.exitCode !== null ? resolve(null) : server.once('exit', resolve))
  t.equal(server.exitCode, 0, 'the server exits 0')
})
