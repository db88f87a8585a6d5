// Composition root: the one file that names every plugin.
import './core/augment.js'
import { join } from 'node:path'
import websocket from '@fastify/websocket'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { connectHostProblem, defaultConnectHost, formatConnectionString, unbracket } from './core/connect-host.js'
import { rootContainer } from './core/di.js'
import { ConfigError } from './core/errors.js'
import { ensurePrivateDir } from './core/files.js'
import { resolveServerHome } from './core/home.js'
import { defaultLogFormat, FASTIFY_LISTEN_TEXT, logDestination, REDACT_PATHS } from './core/logging.js'
import { parseOptions } from './core/options.js'
import { ProcessRunner } from './core/process-runner.js'
import { coreMethods } from './core/rpc/core-methods.js'
import { rpcEndpoint } from './core/rpc/endpoint.js'
import { CloseCode, LiveConnections } from './core/rpc/hub.js'
import { ConnectionLimits } from './core/rpc/limits.js'
import { MethodRegistry } from './core/rpc/registry.js'
import { CORE, resolve, type ServerFacts } from './core/tokens.js'
import { VERSION } from './core/version.js'
import authPlugin, { AuthOptions } from './plugins/auth/index.js'
import { AUTH, type LiveAuthSettings } from './plugins/auth/types.js'
import mdnsPlugin, { mdnsPluginOptions } from './plugins/mdns/index.js'
import { MDNS } from './plugins/mdns/types.js'
import reposPlugin from './plugins/repos/index.js'
import storePlugin, { CONFIG_FILE, CONFIG_KEYS, configFile, fileSettings, loadOrCreateConfig } from './plugins/store/index.js'
import type { FileSettings } from './plugins/store/types.js'
import tlsPlugin, { loadOrCreateTlsIdentity, TLS_PROTOCOL_OPTIONS } from './plugins/tls/index.js'
import { TLS } from './plugins/tls/types.js'
import terminalsPlugin from './plugins/terminals/index.js'
import agentsPlugin from './plugins/agents/index.js'
import controlPlugin from './plugins/control/index.js'
import { CONTROL } from './plugins/control/types.js'
import { METRICS } from './plugins/metrics/types.js'
import { ServerOptions, type ServerOptionsInput } from './server-options.js'

/** A server instance: what createServer() returns. */
export interface ClaudetteServer {
  /** The Fastify instance (plugins, hooks, inject). */
  readonly app: FastifyInstance
  readonly home: string
  readonly name: string
  readonly version: string
  /** The bound port after listen() (the configured one before). */
  readonly port: number
  /** The address it listens on. */
  readonly bind: string
  /** claudette://<host>:<port>/<pairing token>: give it only to devices you want to pair. */
  readonly connectionString: string
  /** Lowercase hex SHA-256 of the certificate DER (64 chars). */
  readonly fingerprint: string
  /** http://host:port/metrics once listening with the `metrics` option, else null. */
  readonly metricsUrl: string | null
  listen (): Promise<void>
  /**
   * Re-reads server.toml and applies what can change live: the name (server_info, mDNS), the
   * connection limits, the auth timeout, failures per address, lockout and the pairing settings.
   * Connections, terminals and agents stay. A changed key that needs a restart, or that an option
   * of createServer (a CLI flag) sets for this run, is logged and left as it is. An invalid file
   * is logged and rejects; the server keeps its settings. (The CLI calls this on SIGHUP.)
   */
  reload (): Promise<ReloadReport>
  /** Stops accepting, closes clients with 1001, releases every resource. Idempotent. */
  close (): Promise<void>
}

/** What a reload did, by server.toml key name (`server.name`, ...). */
export interface ReloadReport {
  /** Changed in the file and applied. */
  readonly applied: string[]
  /** Changed in the file; applied at the next start. */
  readonly restartRequired: string[]
  /** Changed in the file, but set by an option (a CLI flag) for this run: not applied. */
  readonly overridden: string[]
}

/** Which file settings an explicitly given createServer option (or CLI flag) sets for this run. */
function overriddenSettings (input: ServerOptionsInput): Set<keyof FileSettings> {
  const obj = (v: unknown): Record<string, unknown> => v !== null && typeof v === 'object' ? v as Record<string, unknown> : {}
  const given: Array<[keyof FileSettings, unknown]> = [
    ['name', input.name], ['port', input.port], ['bind', input.bind], ['connectHost', input.connectHost],
    ['worktreeBaseDir', obj(input.repos).worktreeBaseDir], ['authTimeoutMs', input.authTimeoutMs],
    ['tlsHandshakeTimeoutMs', input.tlsHandshakeTimeoutMs], ['maxConnections', input.maxConnections],
    ['maxConnectionsPerIp', input.maxConnectionsPerIp], ['pairingTtlMs', obj(input.auth).pairingTtlMs],
    ['singleUsePairing', obj(input.auth).singleUsePairing], ['maxFailuresPerIp', obj(input.auth).maxFailuresPerIp],
    ['lockoutMs', obj(input.auth).lockoutMs], ['mdnsEnabled', input.mdns], ['mdnsInterface', obj(input.mdns).interface],
    ['mdnsHideVersion', obj(input.mdns).includeVersion],
  ]
  return new Set(given.filter(([, v]) => v !== undefined).map(([k]) => k))
}

/** server.toml's auth settings as auth plugin options (only the keys the file sets). */
const authFromFile = (f: FileSettings): LiveAuthSettings => Object.fromEntries(Object.entries({
  pairingTtlMs: f.pairingTtlMs, singleUsePairing: f.singleUsePairing, maxFailuresPerIp: f.maxFailuresPerIp, lockoutMs: f.lockoutMs,
}).filter(([, v]) => v !== undefined))

/** The mdns option: createServer's (true, false or an object) over server.toml's [mdns] over the defaults. */
function mdnsOption (given: unknown, f: FileSettings): unknown {
  if (given === false) return false
  if (given === undefined && f.mdnsEnabled === false) return false
  const fromFile = {
    ...(f.mdnsInterface !== undefined ? { interface: f.mdnsInterface } : {}),
    ...(f.mdnsHideVersion !== undefined ? { includeVersion: !f.mdnsHideVersion } : {}),
  }
  if (given === undefined || given === true) return fromFile
  return given !== null && typeof given === 'object' && !Array.isArray(given) ? { ...fromFile, ...given } : given
}

export async function createServer (input: ServerOptionsInput = {}): Promise<ClaudetteServer> {
  const opts = parseOptions(ServerOptions, input, 'server', { pluginOptions: false })
  const home = resolveServerHome(opts.home)
  await ensurePrivateDir(home)
  const cf = configFile(opts.config ?? join(home, CONFIG_FILE))
  const { config, warnings } = await loadOrCreateConfig(cf)
  // Precedence: an option given to createServer (a CLI flag) > server.toml > the default.
  let file = fileSettings(config)
  const overridden = overriddenSettings(input)
  // https options are fixed when Fastify is constructed, so the identity comes first.
  const identity = await loadOrCreateTlsIdentity(home)

  const bind = opts.bind ?? file.bind
  if (opts.connectHost !== undefined) {
    const problem = connectHostProblem(opts.connectHost)
    if (problem !== null) throw new ConfigError(`invalid server option connectHost ${problem}`)
  }
  const facts: ServerFacts & { fingerprint: string } = {
    version: VERSION,
    home,
    name: opts.name ?? file.name,
    connectHost: opts.connectHost !== undefined ? unbracket(opts.connectHost) : file.connectHost ?? defaultConnectHost(bind),
    fingerprint: identity.fingerprint,
  }
  const configuredPort = opts.port ?? file.port
  const pick = (k: 'authTimeoutMs' | 'tlsHandshakeTimeoutMs' | 'maxConnections' | 'maxConnectionsPerIp'): number =>
    input[k] === undefined && file[k] !== undefined ? file[k] : opts[k]
  const limits = new ConnectionLimits({ authTimeoutMs: pick('authTimeoutMs'), maxConnections: pick('maxConnections'), maxConnectionsPerIp: pick('maxConnectionsPerIp') })

  const logTo = opts.logStream ?? process.stderr
  const logStream = opts.loggerInstance ? null : await logDestination(opts.logFormat ?? defaultLogFormat(logTo), logTo)
  const app = Fastify({
    https: {
      key: identity.keyPem,
      cert: identity.certPem,
      ...TLS_PROTOCOL_OPTIONS,
      handshakeTimeout: pick('tlsHandshakeTimeoutMs'),
    } as never,
    forceCloseConnections: true,
    // Connections are logged by the RPC endpoint; per-request lines would only add noise.
    logController: new LogController({ disableRequestLogging: true }),
    ...(opts.loggerInstance
      ? { loggerInstance: opts.loggerInstance }
      : {
          logger: {
            level: opts.logLevel,
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            stream: logStream!,
            // Fastify's own listen lines are replaced by one accurate line (listen() below).
            hooks: {
              logMethod (args, method) { if (args[0] !== FASTIFY_LISTEN_TEXT) method.apply(this, args) },
            },
          },
        }),
  })

  // One container per server; the global root stays empty so two servers share nothing.
  const di = rootContainer.createChildContainer()
  const registry = new MethodRegistry()
  const hub = new LiveConnections()
  // git and other short-lived processes are spawned by this server's helper process (see process-runner.ts).
  const runner = new ProcessRunner({ onHelperExit: err => app.log.warn({ err }, 'process runner helper died; restarting on next use') })
  app.decorate('di', di)
  app.decorate('rpc', registry)
  // Registered first, so it runs last (onClose is LIFO): the container is the safety net.
  app.addHook('onClose', async () => { hub.dispose(); await runner.dispose(); await di.dispose() })
  di.registerInstance(CORE.Log, app.log)
  di.registerInstance(CORE.Rpc, registry)
  di.registerInstance(CORE.Hub, hub)
  di.registerInstance(CORE.Facts, facts)
  di.registerInstance(CORE.ProcessRunner, runner)
  registry.registerAll(coreMethods(facts, registry))

  await app.register(websocket, {
    // Until a connection authenticates it gets the small limit; the endpoint raises it after.
    options: { maxPayload: Math.min(opts.maxPayloadBeforeAuth, opts.maxPayload) },
    // Socket errors are the peer's doing (a message over maxPayload, invalid UTF-8, a reset), not
    // bugs: the plugin's default logs each at error level with a stack, which lets any client
    // flood the log. `ws` has already sent its close frame (1009, 1007, ...); the socket is
    // dropped shortly after, so a peer that ignores the close cannot keep it open.
    errorHandler: (err: Error & { code?: string }, socket: { terminate (): void }) => {
      app.log.debug({ code: err.code, message: err.message }, 'websocket error; dropping the connection')
      setTimeout(() => socket.terminate(), 1000).unref()
    },
    // Claudette clients get a proper close (1001) when the server shuts down.
    preClose: function (this: FastifyInstance, done: (err?: Error) => void) {
      for (const c of hub.all()) c.close(CloseCode.GoingAway, 'server shutting down')
      this.websocketServer.close(() => done())
    } as never,
  })
  await app.register(tlsPlugin, { identity })
  // `rotate-certificate` while running: server_info and server.fingerprint follow.
  resolve(di, TLS.Watcher).onDidRotate(next => { facts.fingerprint = next.fingerprint })
  await app.register(storePlugin, { home, config: cf })
  for (const w of warnings) app.log.warn({ key: w.key, line: w.line, suggestion: w.suggestion }, w.message)
  const authInput = opts.auth ?? {}
  await app.register(authPlugin, (typeof authInput === 'object' && authInput !== null ? { ...authFromFile(file), ...authInput } : authInput) as object)
  // Feature plugins, in dependency order (each validates its own options section).
  // The repos provider object is the embedder's: passed as given (not the validated copy).
  // The worktree base: the embedder's option, else server.toml's [server] worktree_base_dir.
  // (A repos section that is not an object is passed on as it is, for the plugin's own error.)
  const reposInput = input.repos ?? {}
  const fromConfig = file.worktreeBaseDir
  const reposOptions = typeof reposInput === 'object' && reposInput !== null && fromConfig !== undefined &&
    (reposInput as { worktreeBaseDir?: unknown }).worktreeBaseDir === undefined
    ? { ...reposInput, worktreeBaseDir: fromConfig }
    : reposInput
  await app.register(reposPlugin, reposOptions as object)
  await app.register(terminalsPlugin, (opts.terminals ?? {}) as object)
  // Agent providers are the embedder's objects: passed as given (not the validated copy).
  await app.register(agentsPlugin, (input.agents ?? {}) as object)
  // After the plugins whose events it counts (auth, terminals, agents).
  // Loaded only when asked for: prom-client is not needed otherwise (CLI start-up time).
  if (opts.metrics !== undefined) await app.register((await import('./plugins/metrics/index.js')).default, opts.metrics as object)
  const mdns = mdnsPluginOptions(mdnsOption(input.mdns, file))
  if (mdns) await app.register(mdnsPlugin, mdns)
  if (opts.control) await app.register(controlPlugin)
  for (const plugin of opts.plugins ?? []) await app.register(plugin)
  await app.register(rpcEndpoint, {
    registry,
    hub,
    authenticator: resolve(di, CORE.Authenticator),
    limits,
    maxPayload: opts.maxPayload,
    heartbeatMs: opts.heartbeatMs,
  })
  await app.ready()

  const auth = resolve(di, AUTH.Service)
  const control = opts.control ? resolve(di, CONTROL.Channel) : null
  const advertiser = mdns ? resolve(di, MDNS.Advertiser) : null
  // What a reload falls back to when a key is removed from the file.
  const defaults = { ...parseOptions(ServerOptions, {}, 'server', { pluginOptions: false }), ...parseOptions(AuthOptions, {}, 'auth') }
  let reloading: Promise<ReloadReport> = Promise.resolve({ applied: [], restartRequired: [], overridden: [] })
  const reloadNow = async (): Promise<ReloadReport> => {
    let loaded
    try {
      loaded = await cf.load()
    } catch (err) {
      app.log.error({ err }, 'server.toml not reloaded: it is invalid; the server keeps running with its current settings')
      throw err
    }
    for (const w of loaded.warnings) app.log.warn({ key: w.key, line: w.line, suggestion: w.suggestion }, w.message)
    const next = fileSettings(loaded.config)
    const report: ReloadReport = { applied: [], restartRequired: [], overridden: [] }
    const changed = new Set<keyof FileSettings>()
    for (const def of CONFIG_KEYS) {
      if (def.setting === undefined || file[def.setting] === next[def.setting]) continue
      if (overridden.has(def.setting)) {
        report.overridden.push(def.name)
        app.log.info({ key: def.name }, `${def.name} changed in server.toml, but ${def.flag !== undefined ? `the ${def.flag} flag (or its createServer option)` : 'a createServer option'} sets it for this run; not applied`)
      } else if (!def.live) {
        report.restartRequired.push(def.name)
        app.log.warn({ key: def.name }, `${def.name} changed in server.toml; restart to apply`)
      } else {
        report.applied.push(def.name)
        changed.add(def.setting)
      }
    }
    file = next
    if (changed.has('name')) {
      facts.name = next.name
      void advertiser?.rename()
    }
    const limit = (k: 'authTimeoutMs' | 'maxConnections' | 'maxConnectionsPerIp'): Partial<Record<typeof k, number>> =>
      changed.has(k) ? { [k]: next[k] ?? defaults[k] } : {}
    limits.update({ ...limit('authTimeoutMs'), ...limit('maxConnections'), ...limit('maxConnectionsPerIp') })
    const authPatch: Record<string, unknown> = {}
    for (const k of ['pairingTtlMs', 'singleUsePairing', 'maxFailuresPerIp', 'lockoutMs'] as const) if (changed.has(k)) authPatch[k] = next[k] ?? defaults[k]
    auth.update(authPatch as LiveAuthSettings)
    app.log.info({ applied: report.applied, restartRequired: report.restartRequired, overridden: report.overridden }, 'server.toml reloaded')
    return report
  }
  const metrics = opts.metrics !== undefined ? resolve(di, METRICS.Endpoint) : null
  let closing: Promise<void> | null = null
  let listening = false
  const port = (): number => {
    const addr = listening ? app.server.address() : null
    return addr && typeof addr === 'object' ? addr.port : configuredPort
  }
  return {
    app,
    home,
    version: VERSION,
    bind,
    get fingerprint () { return facts.fingerprint },
    get metricsUrl () { return metrics?.url ?? null },
    get name () { return facts.name },
    get port () { return port() },
    get connectionString () { return formatConnectionString(facts.connectHost, port(), auth.pairingToken) },
    reload () {
      // One reload at a time, in order: a second SIGHUP during one reads the file again after it.
      const run = reloading.catch(() => {}).then(reloadNow)
      reloading = run
      return run
    },
    async listen () {
      // The home's control socket first: a second server for the same home stops here, before
      // it takes a port.
      await control?.claim()
      // Fastify would log "Server listening at https://…" once per interface; clients speak wss,
      // and the CLI's banner says where. Our own logger drops those lines; an embedder's logger
      // gets accurate ones.
      await app.listen({
        host: bind,
        port: configuredPort,
        listenTextResolver: address => opts.loggerInstance ? `listening on ${address.replace(/^https:/, 'wss:')}` : FASTIFY_LISTEN_TEXT,
      })
      listening = true
      if (!opts.loggerInstance) {
        const host = bind.includes(':') ? `[${bind}]` : bind
        app.log.info({ bind, port: port() }, `listening on wss://${host}:${port()}`)
      }
      // Its own listener, started with the server's: a port that is taken fails the start.
      await metrics?.listen()
    },
    close () {
      closing ??= app.close().then(() => { listening = false })
      return closing
    },
  }
}
