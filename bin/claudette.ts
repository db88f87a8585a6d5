#!/usr/bin/env node
// The client CLI: argument parsing, terminal modes, signals, output and exit codes. Everything
// it does goes through the client SDK (src/client/) and the package's public entry.
import { hostname } from 'node:os'
import { Command, InvalidArgumentError, Option } from 'commander'
// The client modules one by one, not src/client/index.js: the mDNS stack (nearby.js) is loaded
// only by the commands that browse, and the CLI starts fast.
import { escapeControls, VERSION } from '../src/client/cli-support.js'
import { ClaudetteClient } from '../src/client/client.js'
import { formatHostPort, normalizeFingerprint } from '../src/client/connection-string.js'
import type { NearbyServer } from '../src/client/nearby.js'
import { pair } from '../src/client/pair.js'
import { probeServer, type ServerStatus } from '../src/client/status.js'
import { parseDetachKey, runTerminal } from '../src/client/terminal.js'
import { TrustStore, type TrustedServer } from '../src/client/trust-store.js'
import { EXIT_OK, UsageError, configureHelpWidth, json, out, printTable, printable, reportFatal, shellQuote, wrapHelp } from './cli-output.js'
import { registerCompletion } from './completion.js'
import { chooseOne, confirmOrAbort, isInteractive } from './confirm.js'
import { clientCli, findOne } from './client-commands/context.js'
import { registerMethods } from './client-commands/methods.js'
import { WORKSPACE_HEAD, registerRepos, registerWorkspaces, workspaceRows } from './client-commands/workspaces.js'

interface GlobalOptions { home?: string }

/** Errors that mean the command line was wrong, not the world. */
const USAGE_CODES = new Set(['ERR_CONFIG_CONNECTION_STRING', 'ERR_CONFIG_FINGERPRINT', 'ERR_CONFIG_SERVER_NOT_FOUND'])

const parseSeconds = (v: string): number => {
  if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0 || Number(v) > 3600) throw new InvalidArgumentError('must be a number of seconds (0 < s ≤ 3600).')
  return Number(v)
}
const parseFingerprint = (v: string): string => {
  try { return normalizeFingerprint(v) } catch (err) { throw new InvalidArgumentError((err as Error).message) }
}
const parsePtyId = (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 0xffffffff) throw new InvalidArgumentError('must be a terminal id (a positive integer).')
  return Number(v)
}
const parseKey = (v: string): number | null => {
  try { return parseDetachKey(v) } catch (err) { throw new InvalidArgumentError((err as Error).message) }
}

const program = new Command('claudette')
configureHelpWidth(program)
program
  .description('Client for claudette-server: pair with servers (certificate pinned like SSH known_hosts), ' +
    'call methods and open interactive terminals; reconnects by itself.')
  .version(`claudette ${VERSION}`, '-V, --version')
  .option('--home <dir>', 'client state directory (env CLAUDETTE_CLIENT_HOME; default: the platform config dir, e.g. ~/.config/claudette)')
  .showSuggestionAfterError(true)
  .showHelpAfterError('(see --help)')
  .exitOverride()
  .addHelpText('after', () => wrapHelp(`
Examples:
  claudette pair 'claudette://work-laptop:7683/<token>' --fingerprint 3f2a…   (from the server banner)
  claudette nearby                      servers advertising on the local network
  claudette pair 'claudette://laptop.local:7683/<token>' --nearby   (checked against its advertisement)
  ssh work-laptop claudette-server show-connection-string | claudette pair -   (token never in argv)
  claudette list                        paired servers and whether they are reachable now
  claudette call work-laptop list_repositories
  claudette call work-laptop spawn_pty '{"cwd":"/src/app"}'
  claudette methods work-laptop         every method the server answers, with its parameters
  claudette repos work-laptop
  claudette workspaces work-laptop create --repo app --name fix-login
  claudette term work-laptop            the workspace used last (or pick one)
  claudette term work-laptop --cwd /src/app
  claudette forget work-laptop
  source <(claudette completion bash)   completion of commands, options and server names

Exit codes: 0 success, 1 runtime error (unreachable, refused, remote error, a question answered
no), 2 usage error. 'term' exits with the remote shell's exit code.`))

const globals = (): GlobalOptions => program.opts<GlobalOptions>()
const openStore = (): Promise<TrustStore> => TrustStore.open(globals().home)

/** The first non-empty line of stdin (`pair -`). */
async function readConnectionString (): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) {
    text += String(chunk)
    const complete = text.split('\n').slice(0, -1).find(l => l.trim() !== '')
    if (complete !== undefined) return complete.trim()
    if (text.length > 8192) break
  }
  const line = text.split('\n').find(l => l.trim() !== '')
  if (line === undefined) throw new UsageError('no connection string on stdin')
  return line.trim()
}

// ---- pair --------------------------------------------------------------------------------

program.command('pair')
  .description('pair with a server using the connection string it printed; pins its certificate')
  .argument('<connection-string>', 'claudette://<host>[:<port>]/<pairing token> (quote it in the shell), or - to read it from stdin (keeps the token out of the process list)')
  .option('--fingerprint <hex>', 'expected certificate fingerprint: the 64 hex from the server banner, or a prefix of 16+ (as `claudette nearby` shows); checked before the token is sent', parseFingerprint)
  .option('--nearby', 'find the server on the local network first (mDNS) and check its certificate against the fingerprint it advertises, before the token is sent')
  .addOption(new Option('--timeout <s>', 'with --nearby: how long to look for the advertisement, in seconds').argParser(parseSeconds).default(3))
  .option('--interface <if>', 'with --nearby: browse on this network interface only')
  .option('--name <device name>', 'the name this device has on the server, as `claudette-server sessions list` shows it (default: this host name)')
  .option('--alias <name>', 'local name for this server, used in the other commands (default: the server\'s name)')
  .option('--accept-new-fingerprint', 're-pin a server you already paired whose certificate changed')
  .option('--json', 'machine-readable output')
  .addHelpText('after', () => wrapHelp(`
Without --fingerprint or --nearby the certificate is trusted on first use (like SSH): compare the
printed fingerprint with the one in the server's banner. With --nearby the connection string's
host must be the advertised host name or address (as \`claudette nearby\` lists it). Re-pairing a
known host:port is checked against its pin unless --accept-new-fingerprint is given.`))
  .action(async (cs: string, o: { fingerprint?: string, nearby?: boolean, timeout: number, interface?: string, name?: string, alias?: string, acceptNewFingerprint?: boolean, json?: boolean }) => {
    if (o.name !== undefined && o.name.trim() === '') throw new UsageError('--name must not be empty')
    const connectionString = cs === '-' ? await readConnectionString() : cs
    const store = await openStore()
    const res = await pair({
      connectionString,
      store,
      fingerprint: o.fingerprint,
      nearby: o.nearby ? { timeoutMs: o.timeout * 1000, interface: o.interface } : false,
      name: o.alias,
      acceptNewFingerprint: o.acceptNewFingerprint,
      clientName: o.name ?? hostname(),
    })
    const s = res.server
    if (o.json) {
      out(json({
        id: s.id, name: s.name, host: s.host, port: s.port, fingerprint: s.fingerprint, server_name: s.serverName, trust: res.trust, replaced: res.replaced,
        previous_fingerprint: res.previousFingerprint ?? null, previous_session_revoked: res.previousSessionRevoked ?? null,
        ...(res.advertised ? { advertised: { instance_name: res.advertised.instanceName, host: res.advertised.host, fingerprint_prefix: res.advertised.fingerprintPrefix } } : {}),
      }, null, 2))
      return
    }
    out(`Paired with ${escapeControls(s.serverName)} at ${formatHostPort(s.host, s.port)} as '${escapeControls(s.name)}' (id ${s.id}).`)
    out(`Certificate fingerprint: ${s.fingerprint}`)
    if (res.previousFingerprint) {
      out(`Re-pinned: this replaces the previous pin ${res.previousFingerprint}.`)
      out('The replaced session was not revoked (its token is never sent to another certificate); if the old server still runs, revoke it there with `claudette-server sessions revoke`.')
    } else if (res.previousSessionRevoked === true) out('The session of the replaced entry was revoked on the server.')
    if (res.trust === 'first-use') out('Trusted on first use: check that it matches the fingerprint claudette-server printed.')
    else if (res.trust === 'expected-fingerprint') out('Verified against the expected fingerprint before the pairing token was sent.')
    else if (res.trust === 'advertised-fingerprint') out(`Verified against the fingerprint '${escapeControls(res.advertised!.instanceName)}' advertises on the local network before the pairing token was sent.`)
    else out('Verified against the pinned certificate.')
  })

// ---- list --------------------------------------------------------------------------------

program.command('list')
  .description('list paired servers with their live status (never shows tokens)')
  .option('--json', 'machine-readable output')
  .option('--no-status', 'do not connect to check whether each server is reachable')
  .addOption(new Option('--timeout <s>', 'per-server status timeout in seconds').argParser(parseSeconds).default(3))
  .action(async (o: { json?: boolean, status: boolean, timeout: number }) => {
    const store = await openStore()
    const servers = store.list()
    const statuses: Array<ServerStatus | null> = o.status
      ? await Promise.all(servers.map(s => probeServer(s, o.timeout * 1000)))
      : servers.map(() => null)
    if (o.json) {
      out(json(servers.map((s, i) => {
        const st = statuses[i]
        return {
          id: s.id, name: s.name, host: s.host, port: s.port, fingerprint: s.fingerprint, server_name: s.serverName,
          paired_at: s.pairedAt, last_connected_at: s.lastConnectedAt ?? null,
          ...(st ? { status: st.status, error: st.error ?? null, version: st.info?.version ?? null } : {}),
        }
      }), null, 2))
      return
    }
    if (servers.length === 0) { out('No paired servers. Pair with: claudette pair <connection string>'); return }
    printTable(['ID', 'NAME', 'ADDRESS', 'STATUS', 'FINGERPRINT', 'LAST CONNECTED'], servers.map((s, i) => [
      s.id, s.name, formatHostPort(s.host, s.port),
      statuses[i]?.status ?? '-',
      s.fingerprint.slice(0, 16),
      s.lastConnectedAt ? s.lastConnectedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
    ]))
    for (const [i, st] of statuses.entries()) {
      if (st && (st.status === 'revoked' || st.status === 'fingerprint-mismatch')) process.stderr.write(`${escapeControls(servers[i]!.name)}: ${printable(st.error ?? '')}\n`)
    }
  })

// ---- nearby ------------------------------------------------------------------------------

program.command('nearby')
  .description('find claudette servers advertising on the local network (mDNS)')
  .option('--json', 'machine-readable output')
  .addOption(new Option('--timeout <s>', 'how long to listen, in seconds').argParser(parseSeconds).default(3))
  .option('--interface <if>', 'browse on this network interface only')
  .action(async (o: { json?: boolean, timeout: number, interface?: string }) => {
    const store = await openStore()
    // Loaded on demand: the mDNS stack is not needed by the other commands.
    const { browseNearby } = await import('../src/client/nearby.js')
    const found = await browseNearby({ timeoutMs: o.timeout * 1000, interface: o.interface })
    const paired = (n: NearbyServer): TrustedServer | undefined => n.fingerprintPrefix.length >= 16
      ? store.list().find(s => s.fingerprint.startsWith(n.fingerprintPrefix))
      : undefined
    if (o.json) {
      out(json(found.map(n => ({ ...n, paired: paired(n)?.name ?? null })), null, 2))
      return
    }
    if (found.length === 0) { out(`No servers found in ${o.timeout} s.`); return }
    printTable(['NAME', 'HOST', 'ADDRESSES', 'FINGERPRINT', 'VERSION', 'PAIRED'], found.map(n => [
      n.name, formatHostPort(n.host, n.port), n.addresses.join(' ') || '-', n.fingerprintPrefix || '-', n.version ?? '-', paired(n)?.name ?? 'no',
    ]))
    const first = found.find(n => !paired(n))
    if (first) {
      out('')
      out('Pair with the token from that server (`claudette-server show-connection-string`):')
      const fp = first.fingerprintPrefix ? ` --fingerprint ${first.fingerprintPrefix}` : ''
      out(`  claudette pair 'claudette://${formatHostPort(first.addresses[0] ?? first.host, first.port)}/<token>'${fp}`)
    }
  })

// ---- call --------------------------------------------------------------------------------

program.command('call')
  .description('call a method on a paired server and print its JSON result')
  .argument('<server>', 'paired server name or id (see `claudette list`)')
  .argument('<method>', 'method name, e.g. server_info, list_repositories, list_ptys')
  .argument('[params]', 'JSON object of parameters', '{}')
  .addOption(new Option('--timeout <s>', 'request timeout in seconds').argParser(parseSeconds).default(30))
  .action(async (name: string, method: string, paramsText: string, o: { timeout: number }) => {
    let params: unknown
    try { params = JSON.parse(paramsText) } catch (err) {
      throw new UsageError(`params must be JSON (${(err as Error).message}), e.g. '{"workspace_id":"…"}'`)
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new UsageError('params must be a JSON object')
    const store = await openStore()
    const server = store.get(name)
    const client = ClaudetteClient.fromTrusted(server, { reconnect: false, requestTimeoutMs: o.timeout * 1000 }, store)
    try {
      await client.connect()
      const result = await client.request(method, params)
      out(json(result, null, 2))
    } finally {
      client.close()
    }
  })

// ---- term --------------------------------------------------------------------------------

program.command('term')
  .description('open an interactive terminal on a paired server (reattaches after a dropped connection)')
  .argument('<server>', 'paired server name or id')
  .option('--workspace <workspace>', 'start in this workspace: id, unique id prefix (4+) or name (see `claudette workspaces <server>`)')
  .option('--cwd <path>', 'start in this directory (inside a registered repository or workspace)')
  .option('--attach <pty-id>', 'attach to an existing terminal of this device (see `claudette call <server> list_ptys`)', parsePtyId)
  .addOption(new Option('--detach-key <key>', 'key that detaches and leaves the terminal running (ctrl-<x>, or none)').argParser(parseKey).default(0x1d, 'ctrl-]'))
  .addHelpText('after', () => wrapHelp(`
With none of --workspace, --cwd and --attach it opens the workspace this client last opened on
that server (if it is still active); otherwise it lists the active workspaces to choose from (a
numbered prompt on a terminal; without one it prints them and exits 2 asking for --workspace).

The local terminal is put in raw mode; window size changes are sent to the server. If the
connection drops, the client reconnects by itself and re-attaches: output produced meanwhile
is shown, nothing twice. Press the detach key (default Ctrl-]) to leave the terminal running
on the server; reattach with --attach <pty-id>. Exits with the remote shell's exit code.`))
  .action(async (name: string, o: { workspace?: string, cwd?: string, attach?: number, detachKey: number | null }) => {
    if (o.attach !== undefined && (o.workspace || o.cwd)) throw new UsageError('--attach cannot be combined with --workspace or --cwd')
    const store = await openStore()
    const server = store.get(name)
    const client = ClaudetteClient.fromTrusted(server, { reconnect: { maxDelayMs: 5000 } }, store)
    const stdin = process.stdin
    const stdout = process.stdout
    const status = (line: string): void => { process.stderr.write(`\r\n[claudette] ${printable(line)}\r\n`) }
    // Terminal closed or killed: restore the tty (finally below) and exit like a killed shell.
    let signalled: NodeJS.Signals | null = null
    const hangup = (sig: NodeJS.Signals): void => { signalled = sig; client.close() }
    for (const sig of ['SIGHUP', 'SIGTERM'] as const) process.on(sig, hangup)
    let raw = false
    try {
      await client.connect()
      // --workspace with --cwd: both go to the server, which resolves a relative cwd inside the workspace.
      const workspaceId = o.attach === undefined && (o.cwd === undefined || o.workspace !== undefined) ? await pickWorkspace(client, server, o.workspace) : undefined
      if (workspaceId !== undefined) await store.update(server.id, { lastWorkspaceId: workspaceId })
      if (stdin.isTTY) { stdin.setRawMode(true); raw = true }
      const outcome = await runTerminal({
        client,
        input: stdin,
        output: stdout,
        status,
        ptyId: o.attach,
        spawn: { ...(workspaceId !== undefined ? { workspace_id: workspaceId } : {}), ...(o.cwd ? { cwd: o.cwd } : {}) },
        detachKey: o.detachKey,
        size: () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 }),
        onResize: (fn) => { stdout.on('resize', fn); return () => { stdout.off('resize', fn) } },
      })
      if (outcome.kind === 'detached') {
        await client.detachPty(outcome.ptyId)
        const home = globals().home
        status(`detached; terminal ${outcome.ptyId} keeps running. Reattach: claudette ${home !== undefined ? `--home ${shellQuote(home)} ` : ''}term ${shellQuote(server.name)} --attach ${outcome.ptyId}`)
        process.exitCode = EXIT_OK
      } else if (outcome.kind === 'exit') {
        process.exitCode = outcome.exitCode
      } else if (signalled) {
        process.exitCode = 128 + (signalled === 'SIGHUP' ? 1 : 15)
      } else {
        throw outcome.error
      }
    } catch (err) {
      throw inFlagTerms(err)
    } finally {
      if (raw) stdin.setRawMode(false)
      for (const sig of ['SIGHUP', 'SIGTERM'] as const) process.off(sig, hangup)
      client.close()
    }
  })

/**
 * The workspace `term` starts in: the one `--workspace` names (id, unique prefix or name), else
 * the one this client last opened on that server while it is still active, else the operator's
 * choice among the active ones.
 */
async function pickWorkspace (client: ClaudetteClient, server: TrustedServer, query: string | undefined): Promise<string> {
  const all = await client.request('list_workspaces')
  const hint = `claudette workspaces ${shellQuote(server.name)}`
  const active = all.filter(w => w.status === 'Active')
  if (query !== undefined) {
    try {
      return findOne('workspace', query, active, hint).id
    } catch (err) {
      // An archived workspace has no worktree to start in: say so rather than "not found".
      let archived
      try { archived = findOne('workspace', query, all.filter(w => w.status !== 'Active'), hint) } catch { throw err }
      throw new UsageError(`workspace '${archived.name}' is archived; restore it first: ${hint} restore ${archived.id}`)
    }
  }
  const last = active.find(w => w.id === server.lastWorkspaceId)
  if (last) return last.id
  if (active.length === 0) {
    throw new UsageError(`${server.name} has no active workspace; create one (${hint} create --repo <repo>) or give --cwd <path>`)
  }
  const repos = await client.request('list_repositories')
  if (!isInteractive()) {
    printTable(WORKSPACE_HEAD, workspaceRows(active, repos))
    throw new UsageError('choose a workspace with --workspace <id|name> (or give --cwd <path>)')
  }
  const repoName = new Map(repos.map(r => [r.id, r.name]))
  const i = await chooseOne(`Workspaces on ${server.name}:`, active.map(w => `${w.name}  (${repoName.get(w.repository_id) ?? w.repository_id}, branch ${w.branch_name})`))
  return active[i]!.id
}

/** The server words a missing or wrong place by its wire fields; the operator typed flags. */
function inFlagTerms (err: unknown): unknown {
  const message = (err as Error)?.message ?? ''
  if (/needs a workspace_id or a cwd/.test(message)) return new UsageError('give --workspace <id|name> or --cwd <path> (a directory inside a registered repository or workspace)')
  if (message === 'Workspace not found') return new UsageError('no such workspace (see `claudette workspaces <server>`); choose one with --workspace <id|name>')
  return err
}

// ---- forget ------------------------------------------------------------------------------

program.command('forget')
  .description('remove a paired server (its pin and session); also revokes the session on the server when reachable')
  .argument('<server>', 'paired server name or id')
  .option('--no-revoke', 'only remove it here; do not revoke the session on the server')
  .option('-y, --yes', 'do not ask for confirmation (it is asked only when stdin and stdout are terminals)')
  .action(async (name: string, o: { revoke: boolean, yes?: boolean }) => {
    const store = await openStore()
    const server = store.get(name)
    await confirmOrAbort(`Forget ${server.name} (${formatHostPort(server.host, server.port)})${o.revoke ? ' and revoke this device\'s session on it' : ''}?`, o)
    let revoked = false
    let why = ''
    if (o.revoke) {
      const client = ClaudetteClient.fromTrusted(server, { reconnect: false, connectTimeoutMs: 3000, requestTimeoutMs: 3000, pingIntervalMs: 0 })
      try {
        await client.connect()
        const sessions = await client.request('list_sessions')
        const me = sessions.find(s => s.current)
        if (me) { await client.request('revoke_session', { session_id: me.id }); revoked = true }
      } catch (err) {
        why = (err as Error).message
      } finally {
        client.close()
      }
    }
    await store.remove(server.id)
    out(`Forgot ${escapeControls(server.name)} (${formatHostPort(server.host, server.port)}).`)
    if (revoked) out('Its session on the server was revoked.')
    else if (o.revoke) out(`The session on the server was not revoked (${why || 'not supported by the server'}); revoke it there with \`claudette-server sessions revoke\`.`)
  })

// ---- repositories, workspaces, methods, completion ------------------------------------------

const cli = clientCli(program)
const requestTimeout = (): Option => new Option('--timeout <s>', 'request timeout in seconds').argParser(parseSeconds).default(30)
registerRepos(cli, requestTimeout)
registerWorkspaces(cli, requestTimeout)
registerMethods(cli, requestTimeout)
registerCompletion(program, { dynamic: { server: 'servers' } })
// What the completion scripts ask at TAB time: the stored server names, one a line.
program.command('__complete', { hidden: true })
  .argument('<what>')
  .action(async (what: string) => {
    if (what !== 'servers') return
    // Runs at every TAB with whatever --home word is on the line: read only, never create a home.
    for (const s of (await TrustStore.read(globals().home))) out(s.name)
  })

// ---- main --------------------------------------------------------------------------------

try {
  await program.parseAsync(process.argv)
} catch (err) {
  reportFatal(err, { usageCodes: USAGE_CODES })
}
