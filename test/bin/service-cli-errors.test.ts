// `claudette-server service …` refusing bad command lines and reporting a missing or failing
// systemctl (a fake first in PATH, test/service/fakes.ts), with the CLI's exit codes.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCli, SERVER_BIN } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'
import { fakeServiceManager } from '../service/fakes.js'

t.test('errors: flags before --, a command after --, no systemctl, systemctl failing, a bad platform', async t => {
  const fake = fakeServiceManager(t, 'systemctl')
  const home = tempHome(t)
  const env = { PATH: `${fake.bin}:${process.env.PATH}`, HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') }

  const early = await runCli(SERVER_BIN, ['--port', '7777', 'service', 'install'], { env })
  t.equal(early.code, 2)
  t.match(early.stderr, /^error: --port: server flags for the service go after --/)

  const word = await runCli(SERVER_BIN, ['service', 'install', '--', 'qr'], { env })
  t.equal(word.code, 2)
  t.match(word.stderr, /^error: the words after -- are flags of `claudette-server run`/)

  // The flags after -- are parsed as `run` parses them, before anything is written or run.
  const unit = join(home, 'cfg/systemd/user/claudette-server.service')
  for (const [args, message] of [
    [['--prot', '7683'], /^error: after --: unknown option '--prot' \(Did you mean --port\?\)$/m],
    [['--port', 'abc'], /^error: after --: option '--port <n>' argument 'abc' is invalid\. must be an integer from 0 to 65535\.$/m],
    [['run', '--log-level', 'loud'], /^error: after --: option '--log-level <level>' argument 'loud' is invalid/m],
    [['--name', 'Studio', 'A'], /^error: after --: 'A' is not a flag of `claudette-server run`/m],
    [['--version'], /^error: after --: unknown option '--version'/m],
  ] as const) {
    const bad = await runCli(SERVER_BIN, ['service', 'install', '--', ...args], { env })
    t.equal(bad.code, 2, args.join(' '))
    t.match(bad.stderr, message)
  }
  t.notOk(existsSync(unit), 'no unit written')
  t.same(fake.calls(), [], 'no systemctl run')
  const good = await runCli(SERVER_BIN, ['service', 'install', '--print', '--', 'run', '--port=7683', '--no-mdns', '--log-format', 'json', '--max-connections', '9'], { env })
  t.equal(good.code, 0, good.stderr)

  const noTool = await runCli(SERVER_BIN, ['service', 'install'], { env: { ...env, PATH: tempHome(t) } })
  t.equal(noTool.code, 1)
  t.match(noTool.stderr, /^error: systemctl not found in PATH: this system does not run systemd/)

  const failing = await runCli(SERVER_BIN, ['service', 'install'], { env: { ...env, FAKE_FAIL: 'enable' } })
  t.equal(failing.code, 1)
  t.match(failing.stderr, /^error: `systemctl --user enable --now claudette-server\.service` failed \(exit 1\): Failed to connect to bus: No medium found/)

  const platform = await runCli(SERVER_BIN, ['service', 'status', '--platform', 'win32'], { env })
  t.equal(platform.code, 2)
  t.match(platform.stderr, /argument 'win32' is invalid/)

  const user = await runCli(SERVER_BIN, ['service', 'install', '--user', 'alice', '--print'], { env })
  t.equal(user.code, 2)
  t.match(user.stderr, /^error: --user applies to --system services only/)

  if (process.getuid?.() === 0) {
    const sudo = await runCli(SERVER_BIN, ['service', 'install'], { env: { ...env, SUDO_USER: 'alice' } })
    t.equal(sudo.code, 2)
    t.match(sudo.stderr, /^error: under sudo this would install a user service for root: .* add --system/)
  }

  // Under sudo the service gets sudo's PATH: a warning says so and how to keep the user's.
  const sudoPath = await runCli(SERVER_BIN, ['service', 'install', '--system', '--print'], { env: { ...env, SUDO_USER: 'alice', PATH: `/usr/sbin:${env.PATH}` } })
  t.equal(sudoPath.code, 0, sudoPath.stderr)
  t.match(sudoPath.stderr, /^warning: under sudo the service gets sudo's PATH, not alice's: \S*\/usr\/sbin:\S+; to keep alice's, run: sudo env PATH="\$PATH" claudette-server service install --system …$/m)
  t.match(sudoPath.stdout, /^User=alice$/m)
  const noSudo = await runCli(SERVER_BIN, ['service', 'install', '--system', '--print'], { env: { ...env, SUDO_USER: '' } })
  t.notMatch(noSudo.stderr, /sudo's PATH/, 'no warning without sudo')

  const help = await runCli(SERVER_BIN, ['service', 'install', '--help'], { env })
  t.match(help.stdout, /claudette-server service install -- --port 7683 --name Studio/)
})
