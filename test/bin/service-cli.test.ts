// `claudette-server service install|uninstall|status` end to end: the built CLI with a fake
// systemctl/launchctl first in PATH (test/service/fakes.ts) and a temp HOME/XDG_CONFIG_HOME.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'plist'
import t from 'tap'
import { parseSystemdExecLine } from '../../src/index.js'
import { runCli, SERVER_BIN } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'
import { fakeServiceManager } from '../service/fakes.js'

const ODD_NAME = 'Studio "A" 100% $HOME \'x\''

t.test('systemd user unit: status, install with odd flags, status --json with the connection string, uninstall', async t => {
  const fake = fakeServiceManager(t, 'systemctl')
  const home = tempHome(t)
  const serverHome = join(home, 'server home')
  const env = { PATH: `${fake.bin}:${process.env.PATH}`, HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') }
  const unit = join(home, 'cfg/systemd/user/claudette-server.service')

  const before = await runCli(SERVER_BIN, ['service', 'status'], { env })
  t.equal(before.code, 1, 'not running: exit 1')
  t.match(before.stdout, /^Installed: {2}no$/m)
  t.match(before.stdout, /Install it with: claudette-server service install\n/)

  const print = await runCli(SERVER_BIN, ['--home', serverHome, 'service', 'install', '--print', '--', '--port', '7777'], { env })
  t.equal(print.code, 0)
  t.match(print.stdout, /^\[Service\]$/m)
  t.match(print.stdout, /^Environment="CLAUDETTE_SERVER_SERVICE=systemd"$/m, 'the server knows its stdout goes to the journal')
  t.notOk(existsSync(unit), '--print writes nothing')
  t.same(fake.calls(), [], '--print runs nothing (nor does the status of nothing installed)')

  const install = await runCli(SERVER_BIN, ['--home', serverHome, 'service', 'install', '--', '--port', '7777', '--name', ODD_NAME], { env })
  t.equal(install.code, 0, install.stderr)
  t.match(install.stdout, `Installed the systemd user unit ${unit} and started it:\n  systemctl --user daemon-reload\n  systemctl --user reset-failed claudette-server.service\n  systemctl --user enable --now claudette-server.service\n`)
  t.match(install.stdout, /^Logs: {5}journalctl --user -u claudette-server\.service -f$/m)
  if (!existsSync('/var/lib/systemd/linger/root')) t.match(install.stdout, /loginctl enable-linger/, 'says how to keep it running after logout')
  t.same(fake.calls(), ['--user daemon-reload', '--user reset-failed claudette-server.service', '--user enable --now claudette-server.service'])

  const text = readFileSync(unit, 'utf8')
  const execStart = /^ExecStart=(.*)$/m.exec(text)![1]!
  t.same(parseSystemdExecLine(execStart), [process.execPath, SERVER_BIN, 'run', '--home', serverHome, '--port', '7777', '--name', ODD_NAME],
    'this installation\'s node and CLI, --home made absolute, the flags after -- intact')

  // The fake started nothing, so the service's home does not exist yet: status only looks.
  const early = await runCli(SERVER_BIN, ['service', 'status', '--json'], { env })
  t.equal(early.code, 0, early.stderr)
  t.match(JSON.parse(early.stdout), { running: true, connection_string: null })
  t.match(early.stderr, /^warning: cannot read the connection string: .*server home.*does not exist/m)
  t.notOk(existsSync(serverHome), 'status creates no home (nor a server.toml with a fresh token)')

  // What the service's first start would do.
  const show = await runCli(SERVER_BIN, ['--home', serverHome, 'show-connection-string'], { env })
  t.equal(show.code, 0, show.stderr)

  const status = await runCli(SERVER_BIN, ['service', 'status', '--json'], { env })
  t.equal(status.code, 0, status.stderr)
  const s = JSON.parse(status.stdout)
  t.same(Object.keys(s), ['platform', 'scope', 'name', 'file', 'installed', 'enabled', 'running', 'state', 'pid', 'user', 'connection_string'], 'stable keys')
  t.match(s, { platform: 'linux', scope: 'user', name: 'claudette-server.service', file: unit, installed: true, enabled: true, running: true, state: 'active', pid: 4242, user: null })
  t.equal(s.connection_string, show.stdout.trim(), 'the connection string of the service\'s home (found in its ExecStart)')

  const human = await runCli(SERVER_BIN, ['service', 'status'], { env })
  t.match(human.stdout, /^Running: {4}yes \(active, pid 4242\)$/m)
  t.match(human.stdout, `Connection string: ${show.stdout.trim()}`)

  const uninstall = await runCli(SERVER_BIN, ['service', 'uninstall'], { env })
  t.equal(uninstall.code, 0, uninstall.stderr)
  t.match(uninstall.stdout, `Stopped, disabled and removed the service (${unit}):\n  systemctl --user disable --now claudette-server.service`)
  t.notOk(existsSync(unit))
  t.ok(existsSync(join(serverHome, 'server.toml')), 'the home is left alone')
  const again = await runCli(SERVER_BIN, ['service', 'uninstall'], { env })
  t.equal(again.code, 0)
  t.match(again.stdout, /^No service is installed/)
})

t.test('launchd agent through --platform darwin: install, status, uninstall', async t => {
  const fake = fakeServiceManager(t, 'launchctl')
  const home = tempHome(t)
  const env = { PATH: `${fake.bin}:${process.env.PATH}`, HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') }
  const plistFile = join(home, 'Library/LaunchAgents/dev.claudette.server.plist')
  const uid = process.getuid!()

  const install = await runCli(SERVER_BIN, ['service', 'install', '--platform', 'darwin', '--', '--name', ODD_NAME], { env })
  t.equal(install.code, 0, install.stderr)
  t.match(install.stdout, `Installed the launchd agent ${plistFile} and started it:`)
  t.match(install.stdout, `tail -f ${join(home, 'Library/Logs/claudette-server.log')}`)
  const job = parse(readFileSync(plistFile, 'utf8')) as Record<string, unknown>
  t.same(job.ProgramArguments, [process.execPath, SERVER_BIN, 'run', '--name', ODD_NAME])
  t.match(job.EnvironmentVariables, { CLAUDETTE_SERVER_SERVICE: 'launchd' }, 'the server knows its stdout goes to a log file')
  t.same(fake.calls(), [`print gui/${uid}/dev.claudette.server`, `enable gui/${uid}/dev.claudette.server`, `bootstrap gui/${uid} ${plistFile}`])

  // The job would create its (default) home at its first start; the fake does not run it.
  t.equal((await runCli(SERVER_BIN, ['show-connection-string'], { env })).code, 0)
  const status = await runCli(SERVER_BIN, ['--json', 'service', 'status', '--platform', 'darwin'], { env })
  t.equal(status.code, 0, status.stderr)
  t.match(JSON.parse(status.stdout), { platform: 'darwin', scope: 'user', name: 'dev.claudette.server', installed: true, enabled: true, running: true, pid: 4343, connection_string: /^claudette:\/\// })

  const uninstall = await runCli(SERVER_BIN, ['service', 'uninstall', '--platform', 'darwin'], { env })
  t.equal(uninstall.code, 0, uninstall.stderr)
  t.notOk(existsSync(plistFile))
  t.equal(fake.calls().at(-1), `bootout gui/${uid}/dev.claudette.server`)
  const log = join(home, 'Library/Logs/claudette-server.log')
  t.match(uninstall.stdout, `Its log file is left too (remove it if you no longer need it): ${log}`)
  t.ok(existsSync(log))
})
