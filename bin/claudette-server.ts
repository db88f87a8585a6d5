#!/usr/bin/env node
// The server CLI: argument parsing, signals, banner and exit codes. No business logic:
// everything it does goes through the package's public entry.
import { isatty } from 'node:tty'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import QRCode from 'qrcode'
import { connectHostProblem, createServer, escapeControls, isHostAddress, MetricsBindError, openAdmin, parseMetricsBind, SERVICE_ENV, VERSION, type Admin, type ClaudetteServer } from '../src/index.js'
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError, configureHelpWidth, helpLayout, json, out, printTable, printable, reportFatal, shellQuote, wrapHelp } from './cli-output.js'
import { registerCompletion } from './completion.js'
import { confirmOrAbort } from './confirm.js'
import { registerConfigCommands } from './server-commands/config.js'
import { registerStatusCommand } from './server-commands/status.js'
import { registerServiceCommands } from './server-commands/service.js'
const SHUTDOWN_DEADLINE_MS = 5000

interface GlobalOptions {
  home?: string
  config?: string
  port?: number
  bind?: string
  connectHost?: string
  name?: string
  mdns: boolean
  mdnsInterface?: string
  mdnsHideVersion?: boolean
  worktreeBaseDir?: string
  logLevel: string
  logFormat?: 'pretty' | 'json'
  metricsBind?: string
  metricsBindPublic?: boolean
  json?: boolean
  pairingTtl?: number
  singleUsePairing?: boolean
  authTimeout?: number
  tlsHandshakeTimeout?: number
  maxConnections?: number
  maxConnectionsPerIp?: number
  maxFailuresPerIp?: number
  lockout?: number
}

const parsePort = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535.')
  return Number(v)
}
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
/** "90s", "10m", "1h", "2d", "500ms"; a bare number is seconds. */
const parseDuration = (v: string): number => {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v.trim())
  const ms = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? 's']! : NaN
  if (!Number.isSafeInteger(ms) || ms < 1000) throw new InvalidArgumentError('must be a duration of at least 1s, such as 90s, 10m, 1h or 2d.')
  return ms
}
const parseAuthTimeout = (v: string): number => {
  const ms = parseDuration(v)
  if (ms > 3_600_000) throw new InvalidArgumentError('must be a duration from 1s to 1h, such as 10 or 30s.')
  return ms
}
const parseCount = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('must be a whole number of at least 1.')
  return Number(v)
}
const parseDir = (v: string): string => {
  if (v.trim() === '' || v.includes('\0')) throw new InvalidArgumentError('must be a directory path.')
  return v
}
const parseBind = (v: string): string => {
  if (!isHostAddress(v)) throw new InvalidArgumentError('must be an IP address (such as 0.0.0.0, 127.0.0.1 or ::1) or a host name.')
  return v
}
const parseConnectHost = (v: string): string => {
  const problem = connectHostProblem(v)
  if (problem !== null) throw new InvalidArgumentError(`${problem}.`)
  return v
}
const parseName = (v: string): string => {
  if (v.trim() === '' || v.length > 63) throw new InvalidArgumentError('must be 1 to 63 characters.')
  return v
}

const program = new Command('claudette-server')
configureHelpWidth(program)
program
  .description('Remote workspace host for Claudette: pair devices, share repositories, worktrees, terminals and agents over TLS.')
  .version(`claudette-server ${VERSION}`, '-V, --version')
  .option('--home <dir>', 'state directory (env CLAUDETTE_SERVER_HOME; default: the platform config dir)')
  .option('--config <file>', 'server.toml location (default: <home>/server.toml)')
  .option('--port <n>', 'port to listen on, 0 for any free port (default: from server.toml, else 7683)', parsePort)
  .option('--bind <addr>', 'address to listen on (default: from server.toml, else 0.0.0.0)', parseBind)
  .option('--connect-host <host>', 'host name or address that the connection string, the QR code and mDNS give out (default: server.toml [server] connect_host, else the --bind address when it is a specific one, else the host name)', parseConnectHost)
  .option('--name <text>', 'display name shown to clients (default: host name)', parseName)
  .option('--no-mdns', 'do not advertise on the local network')
  .option('--mdns-interface <if>', 'advertise on this network interface only')
  .option('--mdns-hide-version', 'leave the server version out of the mDNS TXT record')
  .option('--worktree-base-dir <dir>', 'where new workspaces\' git worktrees are created (default: from server.toml, else <home>/workspaces)', parseDir)
  .addOption(new Option('--log-level <level>', 'log level for stderr').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
  .addOption(new Option('--log-format <format>', 'log format on stderr: pretty (readable) or json (one object per line; for journald and log collectors) (default: pretty when stderr is a terminal, else json)').choices(['pretty', 'json']))
  .option('--metrics-bind <addr:port>', 'serve Prometheus metrics at http://<addr:port>/metrics on a plain-HTTP listener of their own, without authentication (default: off; see docs/metrics.md)')
  .option('--metrics-bind-public', 'allow --metrics-bind on an address that is not loopback (anyone who reaches it can read the metrics)')
  .option('--json', 'machine-readable output for commands')
  .option('--pairing-ttl <duration>', 'the pairing token stops pairing after this long and is replaced by a new one (e.g. 10m, 1h; default: never)', parseDuration)
  .option('--single-use-pairing', 'replace the pairing token after each successful pairing')
  // Limits on unauthenticated and abusive peers (docs/security.md); defaults in parentheses.
  .option('--auth-timeout <duration>', 'deadline from accepting a connection to its successful authentication, 1s to 1h; a bare number is seconds (server.toml [server] auth_timeout, else 10s)', parseAuthTimeout)
  .option('--tls-handshake-timeout <duration>', 'abort TLS handshakes that take longer (10s)', parseDuration)
  .option('--max-connections <n>', 'concurrent connections in total (512)', parseCount)
  .option('--max-connections-per-ip <n>', 'concurrent connections from one address (64)', parseCount)
  .option('--max-failures-per-ip <n>', 'failed authentication attempts per address per minute before a lockout (10)', parseCount)
  .option('--lockout <duration>', 'how long a locked-out address is refused (60s)', parseDuration)
  .addHelpText('after', `
Flags apply to this run only and never change server.toml; \`claudette-server config set <key> <value>\`
saves a setting (\`config list\` shows them all). A flag wins over server.toml, which wins over the default.
A running server re-reads server.toml on SIGHUP: the name, limits and pairing settings change live,
the others at the next start. See docs/configuration.md.`)
  .showSuggestionAfterError(true)
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(str.trimEnd() + '\nUsage: claudette-server [options] [command] (see --help)\n'),
  })
  .addHelpText('after', () => wrapHelp(`
Examples:
  claudette-server                              run with the settings of server.toml (first run creates it)
  claudette-server --port 0 --bind 127.0.0.1    any free port, this machine only
  claudette-server qr                           pair the mobile app by scanning
  claudette-server show-connection-string       for \`claudette pair\` on another machine
  claudette-server repo add ~/src/app           share a repository
  claudette-server sessions list                paired devices; revoke one with: sessions revoke <id>
  claudette-server --home /srv/claudette run    a second, separate server (its own state directory)
  source <(claudette-server completion bash)    completion of commands and options

The options above may stand before or after the command (\`claudette-server run --help\` lists
them with run). regenerate-token, rotate-certificate and revoking several sessions ask first when
stdin and stdout are a terminal, unless given --yes; in scripts and pipes they never ask.

Exit codes: 0 success, 1 runtime error (address in use, no match, a question answered no), 2 usage
error (unknown option or command, bad value).`))

const globals = (): GlobalOptions => program.opts<GlobalOptions>()

/**
 * Opens the home's admin for one command. `readOnly`: a missing home or server.toml is an error
 * (exit 1) instead of being created. `existingHome`: a missing home directory is an error; what is
 * missing inside it is created.
 */
async function withAdmin<T> (fn: (admin: Admin) => Promise<T> | T, opts: { readOnly?: boolean, existingHome?: boolean } = {}): Promise<T> {
  const g = globals()
  const admin = await openAdmin({ home: g.home, config: g.config, connectHost: g.connectHost, readOnly: opts.readOnly === true, existingHome: opts.existingHome === true })
  for (const w of admin.warnings) process.stderr.write(`warning: ${printable(w.message)}\n`)
  try { return await fn(admin) } finally { admin.close() }
}
const readOnly = { readOnly: true }
/**
 * `show-connection-string` and `qr` print what the next start will use, and a fresh home has no
 * pairing token yet: they create the home as `run` would. A `--config` file that does not exist is
 * still an error, never created by looking.
 */
const printsNextStart = (): { readOnly: boolean } => ({ readOnly: globals().config !== undefined })

program.command('run', { isDefault: true })
  .description('run the server (the default command)')
  // The options that shape the server are the program's: list them here too.
  .configureHelp({ ...helpLayout(), showGlobalOptions: true })
  // Words that name no command reach the default command as arguments: say what they are.
  .allowExcessArguments(true)
  .action(async (_o: unknown, cmd: Command) => {
    if (cmd.args.length > 0) {
      const explicit = process.argv.slice(2).includes('run')
      cmd.error(explicit ? `error: too many arguments for 'run'` : `error: unknown command '${cmd.args[0]}'`, { exitCode: EXIT_USAGE, code: 'commander.unknownCommand' })
    }
    await run()
  })

/**
 * What the server running for this home serves (its real port and host); when none runs, what
 * the next start will use, with a note on stderr saying so.
 */
async function servedConnectionString (admin: Admin): Promise<string> {
  const { connectionString, running } = await admin.connection()
  if (!running) process.stderr.write(`${printable(`no server is running for ${admin.home}; this is what the next start will use`)}\n`)
  return connectionString
}

program.command('show-connection-string')
  .description('print the connection string (host, port and pairing token) that the running server of this home serves, else the one the next start will use')
  .action(() => withAdmin(async admin => {
    const cs = await servedConnectionString(admin)
    out(globals().json ? json({ connection_string: cs }) : cs)
  }, printsNextStart()))

program.command('qr')
  .description('print the connection string as a QR code (scan it with the Claudette mobile app): the running server\'s, else the next start\'s')
  .action(() => withAdmin(async admin => {
    const cs = await servedConnectionString(admin)
    // On a terminal: black on white with ANSI colours (scanners need dark modules on light);
    // piped: plain block characters.
    const qr = await QRCode.toString(cs, process.stdout.isTTY === true
      ? { type: 'terminal', small: true, errorCorrectionLevel: 'M' }
      : { type: 'utf8', errorCorrectionLevel: 'M', margin: 2 })
    if (globals().json) { out(json({ connection_string: cs, qr })); return }
    // Printed raw: the terminal renderer draws with ANSI colours, and the text is our own.
    process.stdout.write(qr.replace(/\n+$/, '') + '\n') // keep the quiet zone (trailing blank modules)
    out('')
    out(cs)
  }, printsNextStart()))

program.command('rotate-certificate')
  .description('replace the TLS key and certificate (a running server switches within a second); every client must then re-pin the new fingerprint')
  .option('-y, --yes', 'do not ask for confirmation (it is asked only when stdin and stdout are terminals)')
  .action((o: { yes?: boolean }) => withAdmin(async admin => {
    await confirmOrAbort('Replace the TLS certificate? Every paired client must pair again.', o)
    const r = await admin.rotateCertificate()
    if (globals().json) { out(json({ fingerprint: r.fingerprint, previous_fingerprint: r.previous, not_after: r.notAfter.toISOString() })); return }
    out('TLS certificate rotated. Clients pinned the old fingerprint and will refuse this server until')
    out('they are paired again (Claudette: remove the server and add it again; claudette CLI: `forget`, then `pair`).\n')
    out(`Previous fingerprint: ${r.previous}`)
    out(`New fingerprint:      ${r.fingerprint}`)
  }, { existingHome: true }))

program.command('regenerate-token')
  .description('replace the pairing token and revoke every paired device')
  .option('-y, --yes', 'do not ask for confirmation (it is asked only when stdin and stdout are terminals)')
  .action((o: { yes?: boolean }) => withAdmin(async admin => {
    const devices = admin.sessions.list().length
    await confirmOrAbort(`Replace the pairing token and revoke ${devices === 1 ? 'the 1 paired device' : `all ${devices} paired devices`}?`, o)
    const { connectionString, revoked } = await admin.regenerateToken()
    if (globals().json) { out(json({ connection_string: connectionString, revoked_sessions: revoked })); return }
    out('Pairing token regenerated. All existing sessions have been revoked.\n')
    out('New connection string:')
    out(`  ${connectionString}`)
  }, { existingHome: true }))

const sessions = program.command('sessions').description('list or revoke paired devices')
sessions.command('list')
  .description('list paired devices (never shows tokens)')
  .option('--json', 'machine-readable output')
  .action((o: { json?: boolean }) => withAdmin(admin => {
    const list = admin.sessions.list()
    if (o.json || globals().json) { out(json(list, null, 2)); return }
    if (list.length === 0) { out('No paired devices.'); return }
    const rows = list.map(s => [s.id, s.name, s.created_at, s.last_seen, s.last_address ?? ''])
    printTable(['ID', 'NAME', 'CREATED', 'LAST SEEN', 'LAST ADDRESS'], rows)
  }, readOnly))
sessions.command('revoke')
  .description('revoke paired devices (full ids or unique prefixes, or --all); a running server drops them within a second')
  .argument('[id...]', 'session ids (see sessions list)')
  .option('--all', 'revoke every paired device (the pairing token stays valid)')
  .option('-y, --yes', 'do not ask before revoking several devices (asked only when stdin and stdout are terminals)')
  .action((ids: string[], o: { all?: boolean, yes?: boolean }, cmd: Command) => withAdmin(async admin => {
    if (o.all === true && ids.length > 0) cmd.error('error: give session ids or --all, not both', { exitCode: EXIT_USAGE })
    if (o.all !== true && ids.length === 0) cmd.error("error: missing session id (or --all); see 'claudette-server sessions list'", { exitCode: EXIT_USAGE, code: 'commander.missingArgument' })
    const list = admin.sessions.list()
    const all = list.map(s => s.id)
    // Every id is resolved before any is revoked: a typo revokes nothing.
    const targets = o.all === true ? all : [...new Set(ids.map(id => {
      const found = all.includes(id) ? id : id.length >= 4 && all.filter(x => x.startsWith(id)).length === 1 ? all.find(x => x.startsWith(id))! : null
      if (found === null) throw new UsageError(noMatch('session', id, all, 'sessions list'), EXIT_RUNTIME)
      return found
    }))]
    if (targets.length === 0) { out(globals().json ? json({ revoked: [] }) : 'No paired devices.'); return }
    if (targets.length > 1) {
      const names = targets.map(id => list.find(s => s.id === id)?.name ?? id)
      await confirmOrAbort(`Revoke ${targets.length} devices (${names.join(', ')})?`, o)
    }
    const revoked = targets.filter(id => admin.sessions.revoke(id) !== null)
    // One id given: the answer names it as before; several or --all: the list.
    if (globals().json) { out(json({ revoked: o.all !== true && ids.length === 1 ? revoked[0] ?? null : revoked })); return }
    for (const id of revoked) out(`Revoked session ${id}.`)
  }))

const repo = program.command('repo').description('register, list or remove the git repositories this server shares')
repo.command('add')
  .description('register a git work tree (a running server sees it at once)')
  .argument('<path>', 'the top directory of a git work tree')
  .option('--name <name>', 'display name (default: the directory name)')
  .action((path: string, o: { name?: string }) => withAdmin(async admin => {
    // `--name` is also a global option (the server's display name); after `repo add` it names the repository.
    const name = o.name ?? (program.getOptionValueSource('name') === 'cli' ? globals().name : undefined)
    const r = await admin.repos.add(path, name)
    out(globals().json ? json(r, null, 2) : `Added repository ${escapeControls(r.name)} (${r.id}) at ${escapeControls(r.path)}`)
  }))
repo.command('list')
  .description('list registered repositories')
  .option('--json', 'machine-readable output')
  .action((o: { json?: boolean }) => withAdmin(async admin => {
    const list = await admin.repos.list()
    if (o.json || globals().json) { out(json(list, null, 2)); return }
    if (list.length === 0) { out('No repositories. Add one with: claudette-server repo add <path>'); return }
    printTable(['ID', 'NAME', 'PATH', 'VALID'], list.map(r => [r.id, r.name, r.path, r.path_valid ? 'yes' : 'no']))
  }, readOnly))
repo.command('remove')
  .description('unregister a repository (full id or a unique prefix); its worktrees must be archived first')
  .argument('<id>', 'repository id')
  .action((id: string) => withAdmin(async admin => {
    const removed = await admin.repos.remove(id)
    if (removed === null) throw new UsageError(noMatch('repository', id, (await admin.repos.list()).map(r => r.id), 'repo list'), EXIT_RUNTIME)
    out(globals().json ? json({ removed: removed.id }) : `Removed repository ${escapeControls(removed.name)} (${removed.id}).`)
  }))

registerConfigCommands(program, { withAdmin, json: () => globals().json === true })
registerStatusCommand(program, globals)
registerServiceCommands(program, { cliPath: fileURLToPath(import.meta.url) })
// Last: the completion scripts are generated from every command registered above.
registerCompletion(program)

/** Why an id or prefix named nothing: no match, or a prefix several ids share. */
function noMatch (what: string, id: string, ids: string[], listCommand: string): string {
  const n = id.length >= 4 ? ids.filter(x => x.startsWith(id)).length : 0
  return n > 1
    ? `'${id}' is the start of ${n} ${what} ids; give more of the id (see 'claudette-server ${listCommand}')`
    : `no ${what} matches '${id}' (see 'claudette-server ${listCommand}')`
}


/** --metrics-bind, checked before anything starts: a bad or public address without --metrics-bind-public is a usage error. */
function metricsOption (g: GlobalOptions): { bind: string, public: boolean } | undefined {
  if (g.metricsBind === undefined) {
    if (g.metricsBindPublic === true) throw new UsageError('--metrics-bind-public needs --metrics-bind <addr:port>')
    return undefined
  }
  try {
    parseMetricsBind(g.metricsBind, g.metricsBindPublic === true)
  } catch (err) {
    if (err instanceof MetricsBindError) throw new UsageError(err.message)
    throw err
  }
  return { bind: g.metricsBind, public: g.metricsBindPublic === true }
}

async function run (): Promise<void> {
  // Signals are handled from the start: Ctrl-C during start-up (first-run key generation, the
  // database) also ends cleanly, once what is being created is complete.
  let server: ClaudetteServer | undefined
  let stopping = false
  const stop = (signal: string, opts: { hungUp?: boolean } = {}): void => {
    if (stopping) return
    stopping = true
    const deadline = setTimeout(() => { process.stderr.write('shutdown took too long; exiting\n'); process.exit(EXIT_RUNTIME) }, SHUTDOWN_DEADLINE_MS)
    deadline.unref()
    if (!server) return // still starting: run() closes it as soon as it exists
    server.app.log.info({ signal }, 'shutting down')
    server.close().then(() => {
      if (opts.hungUp !== true) process.exit(EXIT_OK)
      // Die of the signal, as a process whose terminal hung up does: Node's own exit would try
      // to restore the dead terminal's modes and abort.
      process.removeAllListeners('SIGHUP')
      process.kill(process.pid, 'SIGHUP')
    }, (err: unknown) => {
      process.stderr.write(`error during shutdown: ${printable((err as Error).message)}\n`)
      process.exit(EXIT_RUNTIME)
    })
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  // SIGHUP re-reads server.toml (reload() logs what it applied, and an invalid file); during
  // start-up the file is being read anyway, so a SIGHUP then has nothing to add. The same signal
  // also means "your terminal hung up" to a server run in one: when the terminal it started on
  // is gone (a hung-up tty answers no tty ioctl), it stops as it always did.
  const startedOnTerminal = isatty(0)
  process.on('SIGHUP', () => {
    if (startedOnTerminal && !isatty(0)) {
      // Nobody reads the terminal any more, and writing to it fails: drop what is still printed
      // (logs of the shutdown) rather than fail on it.
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
      stop('SIGHUP', { hungUp: true })
      return
    }
    if (!server || stopping) return
    server.app.log.info({ signal: 'SIGHUP' }, 'reloading server.toml')
    server.reload().catch(() => { /* logged by reload(); the server keeps its settings */ })
  })

  const g = globals()
  const metrics = metricsOption(g)
  server = await createServer({
    home: g.home,
    config: g.config,
    port: g.port,
    bind: g.bind,
    connectHost: g.connectHost,
    name: g.name,
    // Given only when a flag says so: otherwise server.toml's [mdns] decides.
    mdns: !g.mdns ? false : g.mdnsInterface !== undefined || g.mdnsHideVersion === true ? { interface: g.mdnsInterface, ...(g.mdnsHideVersion === true ? { includeVersion: false } : {}) } : undefined,
    ...(g.worktreeBaseDir !== undefined ? { repos: { worktreeBaseDir: g.worktreeBaseDir } } : {}),
    logLevel: g.logLevel as 'info',
    ...(g.logFormat !== undefined ? { logFormat: g.logFormat } : {}),
    ...(metrics ? { metrics } : {}),
    authTimeoutMs: g.authTimeout,
    tlsHandshakeTimeoutMs: g.tlsHandshakeTimeout,
    maxConnections: g.maxConnections,
    maxConnectionsPerIp: g.maxConnectionsPerIp,
    auth: {
      ...(g.pairingTtl !== undefined ? { pairingTtlMs: g.pairingTtl } : {}),
      ...(g.singleUsePairing === true ? { singleUsePairing: true } : {}),
      ...(g.maxFailuresPerIp !== undefined ? { maxFailuresPerIp: g.maxFailuresPerIp } : {}),
      ...(g.lockout !== undefined ? { lockoutMs: g.lockout } : {}),
    },
  })
  if (stopping) { await server.close(); process.exit(EXIT_OK) }
  try {
    await server.listen()
  } catch (err) {
    await server.close()
    throw err
  }
  if (stopping) { await server.close(); process.exit(EXIT_OK) }
  const bind = server.bind.includes(':') ? `[${server.bind}]` : server.bind
  out(`claudette-server v${server.version} listening on wss://${bind}:${server.port}`)
  out(`Name: ${server.name}`)
  out('')
  // SERVICE_ENV is set by the unit or plist `service install` writes.
  if (process.env[SERVICE_ENV] !== undefined) {
    // Under a service manager stdout is a log (the journal, a log file) that outlives the token
    // and may be read by others: the string is asked for instead.
    const home = g.home !== undefined ? ` --home ${shellQuote(g.home)}` : ''
    out('Connection string: not printed in the service log (it holds the pairing token).')
    out(`  Show it with: claudette-server${home} show-connection-string   (or qr)`)
  } else {
    out('Connection string (paste into Claudette):')
    out(`  ${server.connectionString}`)
  }
  out('')
  out(`Certificate fingerprint: ${server.fingerprint}`)
  out('')
  out('Ready for connections.')
}

try {
  await program.parseAsync(process.argv)
} catch (err) {
  reportFatal(err, {
    describe: e => e.code === 'EADDRINUSE' ? `address already in use (${e.message.replace(/^listen EADDRINUSE: address already in use /, '')})` : undefined,
  })
}
