// The generated systemd unit and launchd plist: systemd-analyze accepts the unit without a
// warning, odd server flags survive the ExecStart quoting, and the plist parses back with the
// expected keys (and passes plutil -lint where there is one).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'plist'
import t from 'tap'
import {
  LAUNCHD_LABEL, launchdPlist, launchdPlistArgv, parseSystemdExecLine, serviceSpec, systemdExecWord, systemdUnit, systemdUnitArgv,
  systemdUnitPath, type ServiceSpecInput,
} from '../../src/index.js'

const run = promisify(execFile)
/** Why a tool's check cannot run here (false: it can), printed as the skip reason. */
const unavailable = (tool: string, args: string[], hint: string): Promise<string | false> =>
  run(tool, args).then(() => false as const, (err: Error) => `${tool} cannot run here (${err.message.split('\n')[0]}); ${hint}`)
const noAnalyze = await unavailable('systemd-analyze', ['--version'], 'install systemd (.ci/run does)')
const noPlutil = await unavailable('plutil', ['-help'], 'plutil is macOS only')

/** Flags an operator might pass after `--`: quotes, specifiers, variables, escapes, a lone `;`. */
const ODD_FLAGS = [
  '--name', 'Studio "A" 100% $HOME ${USER} `id` \'x\'', '--worktree-base-dir', '/srv/work trees/%h/$$',
  '--bind', '::1', 'back\\slash\\', ';', 'semi;colon', 'ünïcødé ✓', '%%', '-%n', '', '\u00a0nbsp',
]

const input = (over: Partial<ServiceSpecInput> = {}): ServiceSpecInput => ({
  scope: 'user', node: process.execPath, cli: '/opt/claudette server/dist/cli/claudette-server.js', home: '/var/lib/claudette home',
  serverArgs: ODD_FLAGS, env: { PATH: '/usr/bin:/bin' }, version: '9.9.9', ...over,
})

t.test('systemdExecWord quotes as systemd.service(5) says', async t => {
  t.equal(systemdExecWord('--port'), '--port', 'a plain word stays bare')
  t.equal(systemdExecWord('a b'), '"a b"')
  t.equal(systemdExecWord('100%'), '"100%%"', '% is doubled (specifiers)')
  t.equal(systemdExecWord('$HOME'), '"$$HOME"', '$ is doubled (environment variables)')
  t.equal(systemdExecWord('say "hi"'), '"say \\"hi\\""')
  t.equal(systemdExecWord('a\\b'), '"a\\\\b"')
  t.equal(systemdExecWord('l1\nl2'), '"l1\\nl2"', 'a newline cannot end the line')
  t.equal(systemdExecWord(';'), '\\;', 'a lone ; would separate commands')
  t.equal(systemdExecWord(''), '""')
  t.throws(() => systemdExecWord('a\0b'), /NUL/)
})

t.test('odd flags survive the round trip through ExecStart', async t => {
  const spec = serviceSpec(input())
  const unit = systemdUnit(spec)
  t.same(systemdUnitArgv(unit), spec.argv, 'ExecStart parses back to the argv')
  t.same(spec.argv.slice(0, 5), [process.execPath, '/opt/claudette server/dist/cli/claudette-server.js', 'run', '--home', '/var/lib/claudette home'])
  t.same(spec.argv.slice(5), ODD_FLAGS)
  const line = /^ExecStart=(.*)$/m.exec(unit)![1]!
  t.notMatch(line.replaceAll('$$', ''), /\$/, 'no $ left that systemd would expand')
  t.notMatch(line.replaceAll('%%', ''), /%/, 'no % left that systemd would expand')
  t.same(parseSystemdExecLine('/bin/a "b c" d\\;e \\;'), ['/bin/a', 'b c', 'd;e', ';'])
  t.throws(() => parseSystemdExecLine('/bin/a "b'), /unterminated/)
})

t.test('the unit: run command, restart policy, stop deadline, reload, logs, hardening, install target', async t => {
  const user = systemdUnit(serviceSpec(input()))
  for (const line of [
    'Restart=on-failure', 'RestartSec=5s', 'StartLimitIntervalSec=300', 'StartLimitBurst=5', 'KillSignal=SIGTERM', 'TimeoutStopSec=10s', 'KillMode=control-group',
    'ExecReload=/bin/kill -HUP $MAINPID', 'StandardOutput=journal', 'StandardError=journal', 'NoNewPrivileges=yes',
    'WorkingDirectory=~', 'WantedBy=default.target', 'Environment="CLAUDETTE_SERVER_SERVICE=systemd"', 'Environment="PATH=' + [process.execPath.replace(/\/[^/]*$/, ''), '/usr/bin', '/bin'].filter((v, i, a) => a.indexOf(v) === i).join(':') + '"',
  ]) t.ok(user.split('\n').includes(line), line)
  for (const forbidden of ['ProtectHome', 'ProtectSystem', 'PrivateTmp', 'User=', 'network-online']) t.notMatch(user, forbidden, `a user unit has no ${forbidden}`)

  const system = systemdUnit(serviceSpec(input({ scope: 'system', user: 'alice' })))
  for (const line of ['User=alice', 'WantedBy=multi-user.target', 'After=network-online.target', 'Environment="CLAUDETTE_SERVER_SERVICE=systemd"']) t.ok(system.split('\n').includes(line), line)
  t.ok(systemdUnit(serviceSpec(input({ scope: 'system', env: { PATH: '/bin', SUDO_USER: 'bob' } }))).includes('\nUser=bob\n'), 'the sudo user by default')
  t.notMatch(systemdUnit(serviceSpec(input({ scope: 'system', env: { PATH: '/bin', SUDO_USER: 'root' } }))), /^User=/m, 'root: no User=')
  t.notMatch(systemdUnit(serviceSpec(input({ hardening: false }))), /NoNewPrivileges/, '--no-hardening')
  t.throws(() => serviceSpec(input({ user: 'alice' })), { code: 'ERR_SERVICE_USAGE', message: /--system services only/ })
  t.throws(() => serviceSpec(input({ scope: 'system', user: 'al ice' })), { code: 'ERR_SERVICE_USAGE', message: /not an account name/ })
  t.throws(() => serviceSpec(input({ serverArgs: ['--name', 'a\nb'] })), { code: 'ERR_SERVICE_USAGE', message: /control character/ })
  t.throws(() => serviceSpec(input({ serverArgs: ['show-connection-string'] })), { code: 'ERR_SERVICE_USAGE', message: /flags of `claudette-server run`/ })
  t.same(serviceSpec(input({ serverArgs: ['run', '--port', '1'], home: undefined })).argv.slice(2), ['run', '--port', '1'], 'a leading `run` is the same command; no --home unless given')
  t.same(serviceSpec(input({ home: undefined, env: { CLAUDETTE_SERVER_HOME: 'rel/home' }, serverArgs: [] })).argv.slice(3), ['--home', join(process.cwd(), 'rel/home')], '$CLAUDETTE_SERVER_HOME, made absolute')

  t.equal(systemdUnitPath('user', { XDG_CONFIG_HOME: '/x/cfg' }, '/home/a'), '/x/cfg/systemd/user/claudette-server.service')
  t.equal(systemdUnitPath('user', {}, '/home/a'), '/home/a/.config/systemd/user/claudette-server.service')
  t.equal(systemdUnitPath('user', { XDG_CONFIG_HOME: 'relative' }, '/home/a'), '/home/a/.config/systemd/user/claudette-server.service', 'a relative XDG_CONFIG_HOME is ignored, as the spec says')
  t.equal(systemdUnitPath('system', {}, '/home/a'), '/etc/systemd/system/claudette-server.service')
})

t.test('systemd-analyze verify accepts the user and the system unit without a warning', { skip: noAnalyze }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'claudette-unit-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'claudette-server.service')
  const verify = async (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number, stderr: string }> =>
    run('systemd-analyze', [...args, 'verify', file], { env }).then(r => ({ code: 0, stderr: r.stderr }), (e: { code: number, stderr: string }) => ({ code: e.code, stderr: e.stderr }))

  writeFileSync(file, systemdUnit(serviceSpec(input())))
  // A user manager's runtime directory: an empty one serves for checking a file.
  const runtime = mkdtempSync(join(tmpdir(), 'claudette-xdg-'))
  t.teardown(() => rmSync(runtime, { recursive: true, force: true }))
  const user = await verify(['--user'], { ...process.env, XDG_RUNTIME_DIR: runtime })
  t.same(user, { code: 0, stderr: '' }, 'user unit with odd flags')

  writeFileSync(file, systemdUnit(serviceSpec(input({ scope: 'system', user: 'alice' }))))
  t.same(await verify([]), { code: 0, stderr: '' }, 'system unit')

  // The check can fail: a % that is not doubled (an unknown specifier) is an error.
  writeFileSync(file, systemdUnit(serviceSpec(input())).replace(' 100%%', ' 100%Z'))
  const broken = await verify(['--user'], { ...process.env, XDG_RUNTIME_DIR: runtime })
  t.not(broken.code, 0, 'a unit with an unknown specifier fails')
  t.match(broken.stderr, /specifier/)
})

t.test('the plist: well-formed, the expected keys, the argv intact', async t => {
  const spec = serviceSpec(input())
  const xml = await launchdPlist(spec, '/Users/alice')
  const job = parse(xml) as Record<string, unknown>
  t.equal(job.Label, LAUNCHD_LABEL)
  t.same(job.ProgramArguments, spec.argv)
  t.same(await launchdPlistArgv(xml), spec.argv)
  t.equal(job.RunAtLoad, true)
  t.same(job.KeepAlive, { SuccessfulExit: false }, 'restarted after a failure, not after a clean stop')
  t.equal(job.StandardOutPath, '/Users/alice/Library/Logs/claudette-server.log')
  t.equal(job.StandardErrorPath, '/Users/alice/Library/Logs/claudette-server.log')
  t.equal(job.WorkingDirectory, '/Users/alice')
  t.equal(job.ExitTimeOut, 10)
  t.same(job.EnvironmentVariables, { PATH: spec.path, CLAUDETTE_SERVER_SERVICE: 'launchd' }, 'the server knows its stdout goes to a log file')
  t.notOk('UserName' in job)

  const daemon = parse(await launchdPlist(serviceSpec(input({ scope: 'system', user: 'alice' })), '/var/root')) as Record<string, unknown>
  t.equal(daemon.UserName, 'alice')
  t.equal(daemon.StandardOutPath, '/Library/Logs/claudette-server.log')
  t.notOk('WorkingDirectory' in daemon)
  t.match(daemon.EnvironmentVariables, { CLAUDETTE_SERVER_SERVICE: 'launchd' })
  t.equal(await launchdPlistArgv('<plist><dict><key>Label</key></plist>'), null, 'a broken plist has no argv')
})

t.test('plutil -lint accepts the plist', { skip: noPlutil }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'claudette-plist-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'job.plist'), await launchdPlist(serviceSpec(input({ serverArgs: ['--name', 'Studio <&> "x"'] })), '/Users/alice'))
  await t.resolves(run('plutil', ['-lint', join(dir, 'job.plist')]), 'plutil -lint')
})
