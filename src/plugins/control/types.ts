import { token } from '../../core/tokens.js'

/** What `claudette-server status --json` prints: the figures of the running server. */
export interface ServerStatus {
  readonly version: string
  readonly pid: number
  /** Seconds since the server started listening. */
  readonly uptime_s: number
  /** The address and port the main listener is bound to (the real port, also with port 0). */
  readonly listen: { readonly address: string, readonly port: number }
  /** Lowercase hex SHA-256 of the certificate DER. */
  readonly fingerprint: string
  /** Paired devices with at least one authenticated connection. */
  readonly devices_online: number
  /** Open WebSocket connections, authenticated or not. */
  readonly connections: number
  /** Live terminals of every device. */
  readonly terminals: number
  /** Agent processes running. */
  readonly agents_running: number
  readonly rss_bytes: number
}

/** What the running server serves: what `show-connection-string` and `qr` print. */
export interface ServedConnection {
  /** claudette://<host>:<port>/<pairing token>. Secret: give it only to devices you want to pair. */
  readonly connection_string: string
  /** The connect host (an IPv6 literal without brackets). */
  readonly host: string
  readonly port: number
}

/**
 * The local control channel of one home: a Unix socket (a named pipe on Windows) that only the
 * server user can open, answering `status` and `connection`.
 */
export interface ControlChannel {
  /** Where it listens (socket path or pipe name); null until claimed. */
  readonly path: string | null
  /**
   * Takes the home's socket: a stale one (its server was killed) is removed; a live server on the
   * same home is an error naming its pid. Called once the server is about to listen.
   */
  claim (): Promise<void>
}

export const CONTROL = {
  Channel: token<ControlChannel>('ControlChannel'),
} as const
