// Composition root: the one file that names every plugin.
import './core/augment.js'
import { hostname } from 'node:os'
import { join } from 'node:path'
import websocket from '@fastify/websocket'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { rootContainer } from './core/di.js'
import { ensurePrivateDir } from './core/files.js'
import { resolveServerHome } from './core/home.js'
import { defaultLogFormat, FASTIFY_LISTEN_TEXT, logDestination, REDACT_PATHS } from './core/logging.js'
import { parseOptions } from './core/options.js'
import { ProcessRunner } from './core/process-runner.js'
import { coreMethods } from './core/rpc/core-methods.js'
import { rpcEndpoint } from './core/rpc/endpoint.js'
import { CloseCode, LiveConnections } from './core/rpc/hub.js'
import { MethodRegistry } from './core/rpc/registry.js'
import { CORE, resolve, type ServerFacts } from './core/tokens.js'
import { VERSION } from './core/version.js'
import authPlugin from './plugins/auth/index.js'
import { AUTH } from './plugins/auth/types.js'
import mdnsPlugin, { mdnsPluginOptions } from './plugins/mdns/index.js'
import reposPlugin from './plugins/repos/index.js'
import storePlugin, { CONFIG_FILE, configFile, loadOrCreateConfig } from './plugins/store/index.js'
import tlsPlugin, { loadOrCreateTlsIdentity, TLS_PROTOCOL_OPTIONS } from './plugins/tls/index.js'
import { TLS } from './plugins/tls/types.js'
import terminalsPlugin from './plugins/terminals/index.js'
import agentsPlugin from './plugins/agents/index.js'
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
  /** Stops accepting, closes clients with 1001, releases every resource. Idempotent. */
  close (): Promise<void>
}

export async function createServer (input: ServerOptionsInput = {}): Promise<ClaudetteServer> {
  const opts = parseOptions(ServerOptions, input, 'server', { pluginOptions: false })
  const home = resolveServerHome(opts.home)
  await ensurePrivateDir(home)
  const cf = configFile(opts.config ?? join(home, CONFIG_FILE))
  const { config } = await loadOrCreateConfig(cf)
  // https options are fixed when Fastify is constructed, so the identity comes first.
  const identity = await loadOrCreateTlsIdentity(home)

  const facts: ServerFacts & { fingerprint: string } = {
    version: VERSION,
    home,
    name: opts.name ?? config.server.name,
    fingerprint: identity.fingerprint,
  }
  const bind = opts.bind ?? config.server.bind
  const configuredPort = opts.port ?? config.server.port

  const logTo = opts.logStream ?? process.stderr
  const logStream = opts.loggerInstance ? null : await logDestination(opts.logFormat ?? defaultLogFormat(logTo), logTo)
  const app = Fastify({
    https: {
      key: identity.keyPem,
      cert: identity.certPem,
      ...TLS_PROTOCOL_OPTIONS,
      handshakeTimeout: opts.tlsHandshakeTimeoutMs,
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
  await app.register(authPlugin, (opts.auth ?? {}) as object)
  // Feature plugins, in dependency order (each validates its own options section).
  // The repos provider object is the embedder's: passed as given (not the validated copy).
  // The worktree base: the embedder's option, else server.toml's [server] worktree_base_dir.
  // (A repos section that is not an object is passed on as it is, for the plugin's own error.)
  const reposInput = input.repos ?? {}
  const fromConfig = config.server.worktree_base_dir
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
  const mdns = mdnsPluginOptions(opts.mdns)
  if (mdns) await app.register(mdnsPlugin, mdns)
  for (const plugin of opts.plugins ?? []) await app.register(plugin)
  await app.register(rpcEndpoint, {
    registry,
    hub,
    authenticator: resolve(di, CORE.Authenticator),
    // The option (or --auth-timeout) wins over server.toml's [server] auth_timeout (seconds).
    authTimeoutMs: input.authTimeoutMs === undefined && config.server.auth_timeout !== undefined ? Math.round(config.server.auth_timeout * 1000) : opts.authTimeoutMs,
    maxPayload: opts.maxPayload,
    heartbeatMs: opts.heartbeatMs,
    maxConnections: opts.maxConnections,
    maxConnectionsPerIp: opts.maxConnectionsPerIp,
  })
  await app.ready()

  const auth = resolve(di, AUTH.Service)
  const metrics = opts.metrics !== undefined ? resolve(di, METRICS.Endpoint) : null
  const connectHost = opts.connectHost ?? hostname()
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
    get connectionString () {
      const host = connectHost.includes(':') && !connectHost.startsWith('[') ? `[${connectHost}]` : connectHost
      return `claudette://${host}:${port()}/${auth.pairingToken}`
    },
    async listen () {
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
