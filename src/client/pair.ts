import { ClaudetteClient } from './client.js'
import { formatHostPort, normalizeFingerprint, parseConnectionString } from './connection-string.js'
import type { TrustedServer, TrustStore } from './trust-store.js'

export interface PairOptions {
  /** `claudette://host:port/token`. */
  connectionString: string
  store: TrustStore
  /**
   * Expected certificate fingerprint (64 hex, or a prefix of 16+ as mDNS advertises). It is
   * checked in the TLS handshake before the pairing token is sent.
   */
  fingerprint?: string
  /** Replace the pin of an already paired host:port whose certificate changed. */
  acceptNewFingerprint?: boolean
  /** Local name (default: the server's name). */
  name?: string
  /** Sent to the server as `client_name` (default: this host name). */
  clientName?: string
  connectTimeoutMs?: number
}

export interface PairResult {
  server: TrustedServer
  /** How the certificate was trusted. */
  trust: 'expected-fingerprint' | 'existing-pin' | 'first-use'
  /** True when an entry for the same host:port was replaced. */
  replaced: boolean
}

/**
 * Pairs with a server and stores it in the trust store. The certificate is checked inside the
 * TLS handshake before the pairing token leaves this machine: against `fingerprint` when given,
 * else against the pin of an already paired server at the same host:port (unless
 * `acceptNewFingerprint`), else it is trusted on first use and pinned.
 */
export async function pair (opts: PairOptions): Promise<PairResult> {
  const info = parseConnectionString(opts.connectionString)
  const expected = opts.fingerprint !== undefined ? normalizeFingerprint(opts.fingerprint) : undefined
  await opts.store.reload()
  const existing = opts.store.findByAddress(info.host, info.port)
  const pin = expected ?? (opts.acceptNewFingerprint ? undefined : existing?.fingerprint)
  const label = formatHostPort(info.host, info.port)
  const client = new ClaudetteClient({
    host: info.host,
    port: info.port,
    fingerprint: pin,
    pairingToken: info.token,
    clientName: opts.clientName,
    label: existing ? `${existing.name} (${label})` : label,
    reconnect: false,
    binaryTerminals: false,
    pingIntervalMs: 0,
    connectTimeoutMs: opts.connectTimeoutMs,
    mismatchHint: expected !== undefined
      ? 'The certificate does not match the fingerprint you gave; check it against the one claudette-server prints.'
      : 'If you trust the new certificate, pair again with `--accept-new-fingerprint`, or run `claudette forget <server>` and pair again.',
  })
  try {
    await client.connect()
  } finally {
    client.close()
  }
  const server = await opts.store.add({
    name: opts.name,
    host: info.host,
    port: info.port,
    fingerprint: client.fingerprint!,
    sessionToken: client.sessionToken!,
    serverName: client.serverName ?? 'Unknown',
    lastConnectedAt: new Date().toISOString(),
  })
  return {
    server,
    trust: expected !== undefined ? 'expected-fingerprint' : pin !== undefined ? 'existing-pin' : 'first-use',
    replaced: existing !== undefined,
  }
}
