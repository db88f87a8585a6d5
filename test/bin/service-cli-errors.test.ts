// `claudette-server service …` refusing bad command lines and reporting a missing or failing
// systemctl (a fake first in PATH, test/service/fakes.ts), with the CLI's exit codes.
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

  const help = await runCli(SERVER_BIN, ['service', 'install', '--help'], { env })
  t.match(help.stdout, /claudette-server service install -- --port 7683 --name Studio/)
})
