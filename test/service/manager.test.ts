// ServiceManager against fake systemctl/launchctl executables (test/service/fakes.ts): the
// commands it runs, the files it writes, and its errors. The CLI on top is in
// test/bin/service-cli.test.ts.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ServiceManager, serviceSpec, type ServiceHost } from '../../src/index.js'
import { tempHome } from '../helpers/server.js'
import { fakeServiceManager } from './fakes.js'

const spec = (scope: 'user' | 'system' = 'user') => serviceSpec({
  scope, node: process.execPath, cli: '/opt/claudette/cli.js', serverArgs: ['--port', '7777'], env: { PATH: '/usr/bin' }, version: '1.0.0',
  ...(scope === 'system' ? { user: 'alice' } : {}),
})

t.test('systemd --system: root only; writes the unit where told, enables it; uninstall removes it', async t => {
  const fake = fakeServiceManager(t, 'systemctl')
  const dir = tempHome(t)
  const host: ServiceHost = { platform: 'linux', scope: 'system', env: { PATH: fake.bin }, homedir: '/root', uid: 0, username: 'root', dir }

  const notRoot = new ServiceManager({ ...host, uid: 1000 })
  await t.rejects(notRoot.install(spec('system')), { code: 'ERR_SERVICE_NEEDS_ROOT', message: /needs root: run it with sudo/ })
  await t.rejects(notRoot.uninstall(), { code: 'ERR_SERVICE_NEEDS_ROOT' })
  t.same(fake.calls(), [], 'nothing ran')
  t.notOk(existsSync(join(dir, 'claudette-server.service')))

  const m = new ServiceManager(host)
  const r = await m.install(spec('system'))
  t.equal(r.file, join(dir, 'claudette-server.service'))
  t.same(r.commands, ['systemctl daemon-reload', 'systemctl reset-failed claudette-server.service', 'systemctl enable --now claudette-server.service'])
  t.equal(r.linger, null, 'lingering is a user-unit matter')
  t.equal(r.logs, 'journalctl -u claudette-server.service')
  t.match(readFileSync(r.file, 'utf8'), /^User=alice$/m)
  t.equal(statSync(r.file).mode & 0o777, 0o644, 'a unit file is world-readable, as systemd expects (it holds no secret)')
  t.same(fake.calls(), ['daemon-reload', 'reset-failed claudette-server.service', 'enable --now claudette-server.service'], 'no --user for a system unit')

  const s = await m.status()
  t.match(s, { installed: true, enabled: true, running: true, state: 'active', pid: 4242, user: 'alice' })
  t.same(s.argv, spec('system').argv)

  // A system unit without User= runs as root.
  await m.install(serviceSpec({ scope: 'system', node: process.execPath, cli: '/opt/claudette/cli.js', env: { PATH: '/usr/bin' }, version: '1.0.0' }))
  t.notMatch(readFileSync(r.file, 'utf8'), /^User=/m)
  t.match(await m.status(), { installed: true, user: 'root' }, 'no User=: root, not the caller')
  const userUnit = await new ServiceManager({ ...host, scope: 'user', uid: 1000, username: 'alice' }).status()
  t.match(userUnit, { installed: true, user: null }, 'a user unit names no account')

  const u = await m.uninstall()
  t.same(u.commands, ['systemctl disable --now claudette-server.service', 'systemctl daemon-reload', 'systemctl reset-failed claudette-server.service'])
  t.notOk(existsSync(r.file))
  t.match(await m.uninstall(), { removed: false, commands: [], logs: null }, 'a second uninstall has nothing to do')
})

t.test('systemd user unit: reinstalling over a running service restarts it; the linger check', async t => {
  const fake = fakeServiceManager(t, 'systemctl')
  const home = tempHome(t)
  const linger = tempHome(t)
  const m = new ServiceManager({ platform: 'linux', scope: 'user', env: { PATH: fake.bin, XDG_CONFIG_HOME: join(home, 'cfg') }, homedir: home, uid: 1000, username: 'alice', lingerDir: linger })
  const first = await m.install(spec())
  t.equal(first.file, join(home, 'cfg/systemd/user/claudette-server.service'))
  t.equal(first.linger, false)
  t.same(first.commands, ['systemctl --user daemon-reload', 'systemctl --user reset-failed claudette-server.service', 'systemctl --user enable --now claudette-server.service'])
  writeFileSync(join(linger, 'alice'), '')
  const again = await m.install(spec())
  t.same(again.commands, ['systemctl --user daemon-reload', 'systemctl --user reset-failed claudette-server.service', 'systemctl --user enable --now claudette-server.service', 'systemctl --user restart claudette-server.service'])
  t.equal(again.linger, true)
})

t.test('systemd: install forgets earlier failed starts first (reset-failed), and goes on when that fails', async t => {
  const fake = fakeServiceManager(t, 'systemctl')
  const home = tempHome(t)
  const m = new ServiceManager({ platform: 'linux', scope: 'user', env: { PATH: fake.bin }, homedir: home, uid: 1000, username: 'alice', lingerDir: tempHome(t) })
  // A unit left failed by a crash loop.
  fake.set('active', 'failed\n')
  process.env.FAKE_FAIL = 'reset-failed'
  t.teardown(() => { delete process.env.FAKE_FAIL })
  const r = await m.install(spec())
  t.same(fake.calls(), ['--user daemon-reload', '--user reset-failed claudette-server.service', '--user enable --now claudette-server.service'],
    'reset-failed before enable --now')
  t.same(r.commands, ['systemctl --user daemon-reload', 'systemctl --user enable --now claudette-server.service'], 'its failure is tolerated (and not listed as done)')
  t.match(await m.status(), { running: true })
})

t.test('systemd errors: systemctl missing, failing (its stderr shown, with a hint for a user unit)', async t => {
  const home = tempHome(t)
  const host: ServiceHost = { platform: 'linux', scope: 'user', env: { PATH: tempHome(t) }, homedir: home, uid: 1000, username: 'alice' }
  await t.rejects(new ServiceManager(host).install(spec()), { code: 'ERR_SERVICE_TOOL_MISSING', message: /^systemctl not found in PATH: this system does not run systemd/ })

  const fake = fakeServiceManager(t, 'systemctl')
  process.env.FAKE_FAIL = 'daemon-reload'
  t.teardown(() => { delete process.env.FAKE_FAIL })
  const m = new ServiceManager({ ...host, env: { PATH: fake.bin } })
  await t.rejects(m.install(spec()), {
    code: 'ERR_SERVICE_COMMAND_FAILED',
    message: /^`systemctl --user daemon-reload` failed \(exit 1\): Failed to connect to bus: No medium found \(systemctl --user needs your login session/,
  })
  process.env.FAKE_FAIL = 'is-enabled'
  await t.rejects(m.status(), { code: 'ERR_SERVICE_COMMAND_FAILED', message: /is-enabled claudette-server.service` failed \(exit 1\): Failed to connect to bus/ })
  process.env.FAKE_FAIL = 'disable'
  await t.rejects(m.uninstall(), { code: 'ERR_SERVICE_COMMAND_FAILED' })
  t.ok(existsSync(m.file), 'a service that could not be stopped keeps its file')
})

t.test('launchd: bootstrap, with load -w as the fallback; status from launchctl print; bootout', async t => {
  const fake = fakeServiceManager(t, 'launchctl')
  const home = tempHome(t)
  const m = new ServiceManager({ platform: 'darwin', scope: 'user', env: { PATH: fake.bin }, homedir: home, uid: 501, username: 'alice' })
  const r = await m.install(spec())
  t.equal(r.file, join(home, 'Library/LaunchAgents/dev.claudette.server.plist'))
  t.equal(r.logs, join(home, 'Library/Logs/claudette-server.log'))
  t.equal(statSync(r.logs).mode & 0o777, 0o600, 'the log file is created private')
  t.same(r.commands, ['launchctl enable gui/501/dev.claudette.server', `launchctl bootstrap gui/501 ${r.file}`])
  t.match(await m.status(), { installed: true, enabled: true, running: true, state: 'running', pid: 4343 })
  fake.set('disabled', '\t"dev.claudette.server" => disabled\n')
  t.match(await m.status(), { enabled: false }, 'a disabled override')

  // Installing again unloads the old definition first.
  const again = await m.install(spec())
  t.equal(again.commands[0], 'launchctl bootout gui/501/dev.claudette.server')

  const u = await m.uninstall()
  t.same(u.commands, ['launchctl bootout gui/501/dev.claudette.server'])
  t.notOk(existsSync(r.file))
  t.equal(u.logs, r.logs)
  t.ok(existsSync(r.logs), 'the log file is left: it is the user\'s data')
  chmodSync(r.logs, 0o640)
  await m.install(spec())
  t.equal(statSync(r.logs).mode & 0o777, 0o640, 'an existing log file keeps its mode')
  await m.uninstall()
  t.match(await m.status(), { installed: false, running: false, state: null })

  process.env.FAKE_FAIL = 'bootstrap'
  t.teardown(() => { delete process.env.FAKE_FAIL })
  const old = await m.install(spec())
  t.same(old.commands.slice(-1), [`launchctl load -w ${old.file}`], 'load -w when bootstrap fails')
})

t.test('launchd: both bootstrap and load fail: an error with their stderr', async t => {
  const fake = fakeServiceManager(t, 'launchctl')
  const home = tempHome(t)
  // A fake whose bootstrap and load both fail.
  const tool = join(fake.bin, 'launchctl')
  writeFileSync(tool, readFileSync(tool, 'utf8').replace('bootstrap|load) touch "$d/loaded" ;;', 'bootstrap|load) echo "$1: Operation not permitted" >&2; exit 1 ;;'))
  const m = new ServiceManager({ platform: 'darwin', scope: 'system', env: { PATH: fake.bin }, homedir: home, uid: 0, username: 'root', dir: home })
  await t.rejects(m.install(spec('system')), {
    code: 'ERR_SERVICE_COMMAND_FAILED',
    message: /^`launchctl bootstrap system \S+dev\.claudette\.server\.plist` failed \(exit 1\): bootstrap: Operation not permitted; then `launchctl load -w`: load: Operation not permitted$/,
  })
  const nothing = new ServiceManager({ platform: 'darwin', scope: 'user', env: { PATH: '' }, homedir: home, uid: 501, username: 'a' })
  t.match(await nothing.status(), { installed: false, enabled: false, running: false }, 'status of nothing installed needs no launchctl (none on PATH here)')
  await t.rejects(nothing.install(spec()), { code: 'ERR_SERVICE_TOOL_MISSING', message: /^launchctl not found in PATH/ })
})
