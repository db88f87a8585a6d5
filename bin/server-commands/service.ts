// `claudette-server service install|uninstall|status`: run the server as a systemd unit (Linux)
// or a launchd job (macOS). The work is done by the package's ServiceManager; this module parses
// the flags and prints what was done.
import { homedir, userInfo } from 'node:os'
import { Command, CommanderError, Option } from 'commander'
import {
  ServiceManager, ServiceUnsupportedPlatformError, ServiceUsageError, VERSION, argvOption, openAdmin, serviceSpec,
  type InstallResult, type ServicePlatform, type ServiceScope, type ServiceStatus,
} from '../../src/index.js'
import { EXIT_OK, EXIT_RUNTIME, UsageError, json, out } from '../cli-output.js'

export interface ServiceCommandsContext {
  /** The absolute path of the CLI script that is running (what the service will run). */
  readonly cliPath: string
}

interface Globals { home?: string, config?: string, json?: boolean }
interface ScopeOptions { system?: boolean, platform?: string }

/** The global options a service command takes: the rest belong after `--` (install) or nowhere. */
const GLOBALS_ALLOWED = new Set(['home', 'config', 'json'])

const shellWord = (a: string): string => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`

export function registerServiceCommands (program: Command, ctx: ServiceCommandsContext): void {
  const globals = (): Globals => program.opts<Globals>()

  /** Server flags given before `--` would be silently lost: say where they go. */
  const refuseServerFlags = (): void => {
    const given = program.options
      .filter(o => program.getOptionValueSource(o.attributeName()) === 'cli' && !GLOBALS_ALLOWED.has(o.attributeName()))
      .map(o => o.long ?? o.flags)
    if (given.length > 0) {
      throw new UsageError(`${given.join(', ')}: server flags for the service go after --, e.g. claudette-server service install -- ${given[0]} …`)
    }
  }

  /**
   * The flags after `--`, parsed as `run` parses them: with the program's own option definitions
   * (the same Option objects, so the same parsers and choices) on a fresh Command that has no
   * action, so nothing starts. A mistyped flag or a bad value is a usage error here, before
   * anything is written, instead of a service that fails at every start.
   */
  const checkServerFlags = (args: readonly string[]): void => {
    const check = new Command('run').exitOverride().helpOption(false).showSuggestionAfterError(true).allowExcessArguments(true)
      .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} })
    // --version would print and exit: a service that does nothing.
    for (const option of program.options) if (option.long !== '--version') check.addOption(option)
    try {
      check.parse([...args], { from: 'user' })
    } catch (err) {
      if (err instanceof CommanderError) throw new UsageError(`after --: ${err.message.replace(/^error: /, '').replaceAll('\n', ' ')}`)
      throw err
    }
    if (check.args.length > 0) throw new UsageError(`after --: '${check.args[0]}' is not a flag of \`claudette-server run\` (a value with spaces needs quotes)`)
  }

  const manager = (o: ScopeOptions): ServiceManager => {
    const platform = o.platform ?? process.platform
    if (platform !== 'linux' && platform !== 'darwin') throw new ServiceUnsupportedPlatformError(platform)
    const user = userInfo()
    return new ServiceManager({
      platform: platform as ServicePlatform,
      scope: (o.system === true ? 'system' : 'user') satisfies ServiceScope,
      env: process.env,
      homedir: homedir(),
      uid: process.getuid?.() ?? user.uid,
      username: user.username,
    })
  }

  /** ServiceUsageError is a mistake in the command line: exit 2 like the other usage errors. */
  const usage = async (fn: () => Promise<void>): Promise<void> => {
    try { await fn() } catch (err) {
      throw err instanceof ServiceUsageError ? new UsageError(err.message) : err
    }
  }

  const platformOption = (): Option => new Option('--platform <platform>', 'the platform to write for (default: this one); with --print, to see the other\'s file')
    .choices(['linux', 'darwin'])

  const service = program.command('service')
    .description('run the server as a service: a systemd unit on Linux, a launchd job on macOS (docs/operations.md)')

  service.command('install')
    .description('write the service, enable it and start it now (and at every login; with --system, at boot)')
    .argument('[server-flags...]', 'after --: flags for `claudette-server run`, e.g. -- --port 7683 --name Studio')
    .option('--system', 'a system service (systemd: /etc/systemd/system, launchd: /Library/LaunchDaemons); needs root')
    .option('--user <name>', 'with --system: the account it runs as (default: the user who ran sudo)')
    .option('--print', 'print the unit or plist and change nothing')
    .option('--no-hardening', 'leave out NoNewPrivileges (systemd), so that sudo, su and rootless podman work in terminals')
    .addOption(platformOption())
    .addHelpText('after', `
The service runs this installation (the node binary and CLI script it was installed with, and the
PATH of the shell that installed it) with \`run\`, --home and --config if given, and the flags
after --. Install again to change any of it. Examples:
  claudette-server service install -- --port 7683 --name Studio
  sudo env PATH="$PATH" claudette-server service install --system --user alice -- --bind 192.168.1.20
  claudette-server service install --print`)
    .action((serverArgs: string[], o: ScopeOptions & { user?: string, print?: boolean, hardening: boolean }) => usage(async () => {
      refuseServerFlags()
      const m = manager(o)
      const g = globals()
      const spec = serviceSpec({
        scope: o.system === true ? 'system' : 'user',
        node: process.execPath,
        cli: ctx.cliPath,
        home: g.home,
        config: g.config,
        serverArgs,
        user: o.user,
        hardening: o.hardening,
        env: process.env,
        version: VERSION,
      })
      checkServerFlags(serverArgs[0] === 'run' ? serverArgs.slice(1) : serverArgs)
      const sudoUser = process.env.SUDO_USER
      /** sudo replaces PATH by its secure_path: the service would get that one (user tools such as ~/.local/bin missing). */
      const warnSudoPath = (): void => {
        if (sudoUser === undefined || sudoUser === '') return
        process.stderr.write(`warning: under sudo the service gets sudo's PATH, not ${sudoUser}'s: ${spec.path ?? ''}; ` +
          `to keep ${sudoUser}'s, run: sudo env PATH="$PATH" claudette-server service install${o.system === true ? ' --system' : ''} …\n`)
      }
      if (o.print === true) {
        warnSudoPath()
        const text = await m.render(spec)
        if (g.json === true) out(json({ file: m.file, content: text }))
        else process.stdout.write(text) // written verbatim: it is the file
        return
      }
      if (o.system !== true && process.getuid?.() === 0 && sudoUser !== undefined && sudoUser !== '' && sudoUser !== 'root') {
        // A user service of root is rarely what `sudo … service install` means.
        throw new UsageError(`under sudo this would install a user service for root: run it without sudo for ${sudoUser}'s own service, or add --system for a system service that runs as ${sudoUser}`)
      }
      warnSudoPath()
      const r = await m.install(spec)
      if (g.json === true) { out(json({ ...r, argv: spec.argv })); return }
      printInstalled(r, spec.argv, spec.user)
    }))

  service.command('uninstall')
    .description('stop and disable the service and remove its file')
    .option('--system', 'the system service (needs root)')
    .addOption(platformOption())
    .action((o: ScopeOptions) => usage(async () => {
      refuseServerFlags()
      const r = await manager(o).uninstall()
      if (globals().json === true) { out(json(r)); return }
      if (!r.removed) { out(`No service is installed (${r.file} does not exist). Nothing to do.`); return }
      out(`Stopped, disabled and removed the service (${r.file}):`)
      for (const c of r.commands) out(`  ${c}`)
      out('Its home directory (the database, keys and server.toml) is left as it was.')
      if (r.logs !== null) out(`Its log file is left too (remove it if you no longer need it): ${r.logs}`)
    }))

  service.command('status')
    .description('whether the service is installed, enabled and running, and its connection string; exit 0 when it runs, 1 otherwise')
    .option('--system', 'the system service')
    .option('--json', 'machine-readable output: platform, scope, name, file, installed, enabled, running, state, pid, connection_string')
    .addOption(platformOption())
    .action((o: ScopeOptions & { json?: boolean }) => usage(async () => {
      refuseServerFlags()
      const s = await manager(o).status()
      const connectionString = s.installed ? await serviceConnectionString(s, globals()) : null
      if (o.json === true || globals().json === true) {
        const { argv: _argv, ...rest } = s
        out(json({ ...rest, connection_string: connectionString }))
      } else {
        printStatus(s, connectionString)
      }
      process.exitCode = s.running ? EXIT_OK : EXIT_RUNTIME
    }))
}

/**
 * The connection string of the service's server: the home is the one given here, else the
 * installed command line's --home, else the default one (for a system service that runs as
 * another account, root included: unknown here). The home is opened read-only: looking never
 * creates a home, or a server.toml with a fresh pairing token the service has never served.
 */
async function serviceConnectionString (s: ServiceStatus, g: Globals): Promise<string | null> {
  const home = g.home ?? argvOption(s.argv ?? [], '--home')
  const config = g.config ?? argvOption(s.argv ?? [], '--config')
  if (home === undefined && s.user !== null && s.user !== userInfo().username) {
    // Its default home is that account's, not ours.
    process.stderr.write(`note: the service runs as ${s.user}; for its connection string: sudo ${s.user === 'root' ? '' : `-u ${s.user} `}claudette-server show-connection-string\n`)
    return null
  }
  try {
    const admin = await openAdmin({ home, config, readOnly: true })
    try { return await admin.connectionString() } finally { admin.close() }
  } catch (err) {
    process.stderr.write(`warning: cannot read the connection string: ${(err as Error).message}\n`)
    return null
  }
}

function printInstalled (r: InstallResult, argv: readonly string[], user: string | undefined): void {
  const what = r.platform === 'linux' ? `systemd ${r.scope} unit` : r.scope === 'user' ? 'launchd agent' : 'launchd daemon'
  out(`Installed the ${what} ${r.file} and started it:`)
  for (const c of r.commands) out(`  ${c}`)
  out(`It runs:  ${argv.map(shellWord).join(' ')}${user !== undefined ? `  (as ${user})` : ''}`)
  out(`It starts ${r.scope === 'system' ? 'at boot' : 'at login'} and restarts after a failure.`)
  out(`Logs:     ${r.platform === 'linux' ? `${r.logs} -f` : `tail -f ${shellWord(r.logs)}`}`)
  out('Status:   claudette-server service status' + (r.scope === 'system' ? ' --system' : ''))
  if (r.linger === false) {
    const name = userInfo().username
    out('')
    out(`Lingering is off for ${name}: the service stops when you log out and starts again at your next login.`)
    out(`To keep it running after logout and start it at boot: sudo loginctl enable-linger ${name}`)
  }
}

function printStatus (s: ServiceStatus, connectionString: string | null): void {
  const what = s.platform === 'linux' ? `systemd ${s.scope} unit` : s.scope === 'user' ? 'launchd agent' : 'launchd daemon'
  out(`Service:    ${s.name} (${what})`)
  out(`File:       ${s.file}`)
  if (!s.installed) {
    out('Installed:  no')
    out(`Install it with: claudette-server service install${s.scope === 'system' ? ' --system' : ''}`)
    return
  }
  out('Installed:  yes')
  out(`Enabled:    ${s.enabled ? 'yes' : 'no'}`)
  out(`Running:    ${s.running ? 'yes' : 'no'} (${s.state ?? 'unknown'}${s.pid !== null ? `, pid ${s.pid}` : ''})`)
  if (connectionString !== null) out(`Connection string: ${connectionString}`)
}
