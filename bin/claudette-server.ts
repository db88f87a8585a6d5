#!/usr/bin/env node
// The server CLI: argument parsing, signals, banner and exit codes. No business logic:
// everything it does goes through the package's public entry.
import { Command, InvalidArgumentError, Option } from 'commander'
import QRCode from 'qrcode'
import { createServer, escapeControls, MetricsBindError, openAdmin, parseMetricsBind, VERSION, type Admin, type ClaudetteServer } from '../src/index.js'
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, UsageError, json, out, printTable, printable, reportFatal } from './cli-output.js'
const SHUTDOWN_DEADLINE_MS = 5000

interface GlobalOptions {
  home?: string
  config?: string
  port?: number
  bind?: string
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
const parseName = (v: string): string => {
  if (v.trim() === '' || v.length > 63) throw new InvalidArgumentError('must be 1 to 63 characters.')
  return v
}

const program = new Command('claudette-server')
program
  .description('Remote workspace host for Claudette: pair devices, share repositories, worktrees, terminals and agents over TLS.')
  .version(`claudette-server ${VERSION}`, '-V, --version')
  .option('--home <dir>', 'state directory (env CLAUDETTE_SERVER_HOME; default: the platform config dir)')
  .option('--config <file>', 'server.toml location (default: <home>/server.toml)')
  .option('--port <n>', 'port to listen on, 0 for any free port (default: from server.toml, else 7683)', parsePort)
  .option('--bind <addr>', 'address to listen on (default: from server.toml, else 0.0.0.0)')
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
  .showSuggestionAfterError(true)
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(str.trimEnd() + '\nUsage: claudette-server [options] [command] (see --help)\n'),
  })

const globals = (): GlobalOptions => program.opts<GlobalOptions>()

async function withAdmin<T> (fn: (admin: Admin) => Promise<T> | T): Promise<T> {
  const g = globals()
  const admin = await openAdmin({ home: g.home, config: g.config })
  try { return await fn(admin) } finally { admin.close() }
}

program.command('run', { isDefault: true })
  .description('run the server (the default command)')
  // Words that name no command reach the default command as arguments: say what they are.
  .allowExcessArguments(true)
  .action(async (_o: unknown, cmd: Command) => {
    if (cmd.args.length > 0) {
      const explicit = process.argv.slice(2).includes('run')
      cmd.error(explicit ? `error: too many arguments for 'run'` : `error: unknown command '${cmd.args[0]}'`, { exitCode: EXIT_USAGE, code: 'commander.unknownCommand' })
    }
    await run()
  })

program.command('show-connection-string')
  .description('print the connection string (host, port and pairing token)')
  .action(() => withAdmin(async admin => {
    const cs = await admin.connectionString()
    out(globals().json ? json({ connection_string: cs }) : cs)
  }))

program.command('qr')
  .description('print the connection string as a QR code (scan it with the Claudette mobile app)')
  .action(() => withAdmin(async admin => {
    const cs = await admin.connectionString()
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
  }))

program.command('rotate-certificate')
  .description('replace the TLS key and certificate (a running server switches within a second); every client must then re-pin the new fingerprint')
  .action(() => withAdmin(async admin => {
    const r = await admin.rotateCertificate()
    if (globals().json) { out(json({ fingerprint: r.fingerprint, previous_fingerprint: r.previous, not_after: r.notAfter.toISOString() })); return }
    out('TLS certificate rotated. Clients pinned the old fingerprint and will refuse this server until')
    out('they are paired again (Claudette: remove the server and add it again; claudette CLI: `forget`, then `pair`).\n')
    out(`Previous fingerprint: ${r.previous}`)
    out(`New fingerprint:      ${r.fingerprint}`)
  }))

program.command('regenerate-token')
  .description('replace the pairing token and revoke every paired device')
  .action(() => withAdmin(async admin => {
    const { connectionString, revoked } = await admin.regenerateToken()
    if (globals().json) { out(json({ connection_string: connectionString, revoked_sessions: revoked })); return }
    out('Pairing token regenerated. All existing sessions have been revoked.\n')
    out('New connection string:')
    out(`  ${connectionString}`)
  }))

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
  }))
sessions.command('revoke')
  .description('revoke one paired device (full id or a unique prefix); a running server drops it within a second')
  .argument('<id>', 'session id')
  .action((id: string) => withAdmin(admin => {
    const revoked = admin.sessions.revoke(id)
    if (revoked === null) throw new UsageError(noMatch('session', id, admin.sessions.list().map(s => s.id), 'sessions list'), EXIT_RUNTIME)
    out(globals().json ? json({ revoked }) : `Revoked session ${revoked}.`)
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
  }))
repo.command('remove')
  .description('unregister a repository (full id or a unique prefix); its worktrees must be archived first')
  .argument('<id>', 'repository id')
  .action((id: string) => withAdmin(async admin => {
    const removed = await admin.repos.remove(id)
    if (removed === null) throw new UsageError(noMatch('repository', id, (await admin.repos.list()).map(r => r.id), 'repo list'), EXIT_RUNTIME)
    out(globals().json ? json({ removed: removed.id }) : `Removed repository ${escapeControls(removed.name)} (${removed.id}).`)
  }))

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
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    const deadline = setTimeout(() => { process.stderr.write('shutdown took too long; exiting\n'); process.exit(EXIT_RUNTIME) }, SHUTDOWN_DEADLINE_MS)
    deadline.unref()
    if (!server) return // still starting: run() closes it as soon as it exists
    server.app.log.info({ signal }, 'shutting down')
    server.close().then(() => process.exit(EXIT_OK), (err: unknown) => {
      process.stderr.write(`error during shutdown: ${printable((err as Error).message)}\n`)
      process.exit(EXIT_RUNTIME)
    })
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))

  const g = globals()
  const metrics = metricsOption(g)
  server = await createServer({
    home: g.home,
    config: g.config,
    port: g.port,
    bind: g.bind,
    name: g.name,
    mdns: g.mdns ? { interface: g.mdnsInterface, ...(g.mdnsHideVersion === true ? { includeVersion: false } : {}) } : false,
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
  // Explicitly given settings are saved to server.toml (so show-connection-string agrees), once
  // they have worked: a --bind or --port that cannot be listened on is not kept for the next run.
  // Defaults never overwrite the file.
  const src = (k: string): string | undefined => program.getOptionValueSource(k)
  const patch: Record<string, unknown> = {}
  if (src('name') === 'cli' && g.name) patch.name = g.name
  if (src('bind') === 'cli' && g.bind) patch.bind = g.bind
  if (src('port') === 'cli' && g.port !== undefined && g.port !== 0) patch.port = g.port
  if (src('worktreeBaseDir') === 'cli' && g.worktreeBaseDir) patch.worktree_base_dir = g.worktreeBaseDir
  if (Object.keys(patch).length > 0) await withAdmin(admin => admin.updateServer(patch))
  const bind = server.bind.includes(':') ? `[${server.bind}]` : server.bind
  out(`claudette-server v${server.version} listening on wss://${bind}:${server.port}`)
  out(`Name: ${server.name}`)
  out('')
  out('Connection string (paste into Claudette):')
  out(`  ${server.connectionString}`)
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
