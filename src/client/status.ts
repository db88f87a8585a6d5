import { ClaudetteClient, type ServerInfo } from './client.js'
import { FingerprintMismatchError, SessionRevokedError } from './errors.js'
import type { TrustedServer } from './trust-store.js'

/** Live status of a paired server, as `claudette list` shows it. */
export interface ServerStatus {
  status: 'online' | 'offline' | 'revoked' | 'fingerprint-mismatch'
  /** Why it is not online. */
  error?: string
  /** From `server_info` when online (undefined for reference servers). */
  info?: ServerInfo
  /** Round trip of connect + authenticate + server_info. */
  latencyMs?: number
}

/** Connects once (no reconnect), authenticates with the stored session and reads `server_info`. */
export async function probeServer (server: TrustedServer, timeoutMs = 3000): Promise<ServerStatus> {
  const client = ClaudetteClient.fromTrusted(server, { reconnect: false, connectTimeoutMs: timeoutMs, pingIntervalMs: 0, binaryTerminals: false })
  const started = Date.now()
  try {
    await client.connect()
    return { status: 'online', info: client.serverInfo, latencyMs: Date.now() - started }
  } catch (err) {
    const e = err as Error
    if (e instanceof SessionRevokedError) return { status: 'revoked', error: e.message }
    if (e instanceof FingerprintMismatchError) return { status: 'fingerprint-mismatch', error: e.message }
    return { status: 'offline', error: e.message }
  } finally {
    client.close()
  }
}
