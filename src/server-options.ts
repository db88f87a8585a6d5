import type { Writable } from 'node:stream'
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify'
import { Type, type Static } from 'typebox'

const MiB = 1024 * 1024

/** Options of createServer(). Unknown keys are rejected, so a typo is an error, not a no-op. */
export const ServerOptions = Type.Object({
  /** State directory (created 0700). Default: $CLAUDETTE_SERVER_HOME or the platform config dir. */
  home: Type.Optional(Type.String({ minLength: 1 })),
  /** server.toml location. Default: <home>/server.toml. */
  config: Type.Optional(Type.String({ minLength: 1 })),
  /** TCP port; 0 picks a free one. Default: server.toml's, else 7683. */
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  /** Address to listen on (IP or host name). Default: server.toml's, else 0.0.0.0. */
  bind: Type.Optional(Type.String({ minLength: 1 })),
  /** Display name. Default: server.toml's, else the host name. */
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  /**
   * Host the connection string, the QR code and mDNS give out: a host name or an IP address (an
   * IPv6 literal bare or in brackets). Default: server.toml's `connect_host`, else the bind
   * address when it is a specific one (not 0.0.0.0 or ::), else the machine's host name.
   */
  connectHost: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  /**
   * Answer `claudette-server status`, `show-connection-string` and `qr` on the home's local
   * control socket while listening (docs/operations.md). A second server for the same home is
   * refused at listen().
   */
  control: Type.Boolean({ default: true }),
  /** Advertise on the LAN with mDNS (true/false or the mdns plugin's options). */
  mdns: Type.Optional(Type.Unknown()),
  logLevel: Type.Union([
    Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
    Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
  ], { default: 'info' }),
  /**
   * `pretty` (human-readable, pino-pretty) or `json` (one JSON object per line). Default: pretty
   * when the log goes to a terminal, else JSON.
   */
  logFormat: Type.Optional(Type.Union([Type.Literal('pretty'), Type.Literal('json')])),
  /** Where log lines go (default: stderr). */
  logStream: Type.Optional(Type.Unsafe<Writable>({})),
  /** An existing pino logger to use instead (logLevel/logFormat/logStream are then ignored). */
  loggerInstance: Type.Optional(Type.Unsafe<FastifyBaseLogger>({})),
  /** Largest accepted WebSocket message. */
  maxPayload: Type.Integer({ minimum: 1024, maximum: 64 * MiB, default: 16 * MiB }),
  /**
   * Largest message before `authenticate` succeeds (an authenticate request is well under 1 KiB),
   * so unauthenticated peers cannot make the server buffer maxPayload per connection.
   */
  maxPayloadBeforeAuth: Type.Integer({ minimum: 1024, maximum: 64 * MiB, default: 64 * 1024 }),
  /**
   * Wall-clock deadline from TCP accept to a successful `authenticate`; the socket is closed when
   * it passes. Default: server.toml's [server] auth_timeout (seconds), else 10 s.
   */
  authTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000 }),
  /** A TLS handshake that takes longer is aborted. Default: server.toml's tls_handshake_timeout, else 10 s. */
  tlsHandshakeTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
  /** Server ping interval; a peer that misses a ping is dropped (0 = off). */
  heartbeatMs: Type.Integer({ minimum: 0, default: 30_000 }),
  /** Connection caps. Default: server.toml's max_connections / max_connections_per_ip, else 512 / 64. */
  maxConnections: Type.Integer({ minimum: 1, default: 512 }),
  maxConnectionsPerIp: Type.Integer({ minimum: 1, default: 64 }),
  /**
   * Prometheus metrics on their own plain-HTTP listener (off when absent): see docs/metrics.md.
   * `bind` is `host:port` (`127.0.0.1:9464`, `[::1]:0`); a host that is not loopback needs `public: true`.
   */
  metrics: Type.Optional(Type.Unknown()),
  /** Options of the built-in plugins, each validated by its plugin. */
  auth: Type.Optional(Type.Unknown()),
  repos: Type.Optional(Type.Unknown()),
  terminals: Type.Optional(Type.Unknown()),
  agents: Type.Optional(Type.Unknown()),
  /** Extra Fastify plugins (custom providers, methods), registered after the built-ins. */
  plugins: Type.Optional(Type.Array(Type.Unsafe<FastifyPluginAsync<any>>({}))),
}, { additionalProperties: false })

export type ServerOptions = Static<typeof ServerOptions>
/** What callers pass: everything optional. */
export type ServerOptionsInput = Partial<ServerOptions>
