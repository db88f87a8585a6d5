import { isIP } from 'node:net'
import { ClaudetteClient } from './client.js'
import { formatHostPort, MIN_FINGERPRINT_PREFIX, normalizeFingerprint, parseConnectionString, type ConnectionInfo } from './connection-string.js'
import { NearbyFingerprintError, NearbyNotFoundError } from './errors.js'
import type { NearbyServer } from './nearby.js'
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
  /**
   * Look the server up on the local network (mDNS) first and check its certificate against the
   * fingerprint prefix it advertises, before the pairing token is sent. The connection string's
   * host must be the advertised SRV host or one of its addresses, and its port the advertised
   * port. Fails (nothing sent) when nothing advertises that address, when the advertisement has
   * no fingerprint, or when several advertisements of it disagree.
   */
  nearby?: boolean | { timeoutMs?: number, interface?: string }
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
  /**
   * How the certificate was trusted: checked against `fingerprint`, against the prefix the
   * server advertised on the local network (`nearby`), against the pin of the entry it replaces,
   * or trusted on first use.
   */
  trust: 'expected-fingerprint' | 'advertised-fingerprint' | 'existing-pin' | 'first-use'
  /** True when an entry was replaced: the one for the same host:port, or else the one for the same
   * host and certificate (the same server on a new port, e.g. one run with `--port 0`). */
  replaced: boolean
  /** The pin of the replaced entry, when it differs from the new one (`acceptNewFingerprint`). */
  previousFingerprint?: string
  /** With `nearby`: the advertisement the certificate was checked against. */
  advertised?: NearbyServer
  /**
   * When an entry with the same certificate was replaced: whether the session it held was revoked
   * on the server (tried once). Not tried after a re-pin (`acceptNewFingerprint`): the old token
   * is never sent to a different certificate.
   */
  previousSessionRevoked?: boolean
}

const EXPECTED_HINT = 'The certificate does not match the fingerprint you gave: check it against the `Certificate fingerprint:` ' +
  'line claudette-server prints. Nothing secret was sent.'
const ADVERTISED_HINT = 'The certificate does not match the fingerprint prefix advertised on the local network for this ' +
  'address: the connection reached another machine, or the advertisement is not the server\'s. Nothing secret was sent. ' +
  'Check with the server\'s banner and pair with --fingerprint <64 hex>.'
const repinHint = (name: string): string => 'The server\'s certificate changed since you paired it (a reinstalled server, a rotated ' +
  'certificate, or someone intercepting the connection). Nothing secret was sent. If you trust the new certificate, pair again ' +
  `with --accept-new-fingerprint, or run \`claudette forget ${/^[\w.-]+$/.test(name) ? name : `'${name.replace(/'/g, "'\\''")}'`}\` and pair again.`

/**
 * Pairs with a server and stores it in the trust store. The certificate is checked inside the
 * TLS handshake before the pairing token leaves this machine: against `fingerprint` when given,
 * and/or against the prefix the server advertises on the local network (`nearby`), else against
 * the pin of an already paired server at the same host:port (unless `acceptNewFingerprint`),
 * else it is trusted on first use and pinned.
 */
export async function pair (opts: PairOptions): Promise<PairResult> {
  const info = parseConnectionString(opts.connectionString)
  let expected = opts.fingerprint !== undefined ? normalizeFingerprint(opts.fingerprint) : undefined
  const label = formatHostPort(info.host, info.port)
  let advertised: NearbyServer | undefined
  if (opts.nearby) {
    advertised = await lookUpNearby(info, label, typeof opts.nearby === 'object' ? opts.nearby : {})
    const prefix = advertised.fingerprintPrefix
    if (expected !== undefined && !expected.startsWith(prefix) && !prefix.startsWith(expected)) {
      throw new NearbyFingerprintError(label, `it advertises fingerprint ${prefix}, which contradicts --fingerprint ${expected}`)
    }
    if (expected === undefined || prefix.length > expected.length) expected = prefix
  }
  await opts.store.reload()
  const existing = opts.store.findByAddress(info.host, info.port)
  // Which value the certificate must match, and what a mismatch means.
  let pin: string | undefined
  let hint: string | undefined
  if (opts.fingerprint !== undefined) {
    pin = expected
    hint = EXPECTED_HINT
  } else if (existing && !opts.acceptNewFingerprint) {
    // Re-pairing a pinned server: the pin stays the check (it is stronger than a 16-hex prefix).
    if (expected !== undefined && !existing.fingerprint.startsWith(expected)) {
      throw new NearbyFingerprintError(label, `it advertises fingerprint ${expected}, but ${existing.name} is pinned to ${existing.fingerprint}; ` +
        'if the server\'s certificate really changed, pair again with --accept-new-fingerprint')
    }
    pin = existing.fingerprint
    hint = repinHint(existing.name)
  } else if (expected !== undefined) {
    pin = expected
    hint = ADVERTISED_HINT
  }
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
    mismatchHint: hint,
  })
  try {
    await client.connect()
  } finally {
    client.close()
  }
  // What add() replaces: the entry at this address, or the same server's entry at its old port
  // (the store was re-read above, before connecting).
  const replaced = opts.store.findReplaced(info.host, info.port, client.fingerprint!)
  const server = await opts.store.add({
    name: opts.name,
    host: info.host,
    port: info.port,
    fingerprint: client.fingerprint!,
    sessionToken: client.sessionToken!,
    serverName: client.serverName ?? 'Unknown',
    lastConnectedAt: new Date().toISOString(),
  })
  const result: PairResult = {
    server,
    trust: opts.fingerprint !== undefined
      ? 'expected-fingerprint'
      : advertised !== undefined ? 'advertised-fingerprint' : pin !== undefined ? 'existing-pin' : 'first-use',
    replaced: replaced !== undefined,
  }
  if (replaced && replaced.fingerprint !== server.fingerprint) result.previousFingerprint = replaced.fingerprint
  if (advertised) result.advertised = advertised
  // The replaced entry's session would stay valid on the server, unused: revoke it (best effort).
  // Only on the certificate it was issued behind: after a re-pin the old token may belong to
  // another machine (the real server, if this one is an impostor), so it is never sent here.
  if (replaced && replaced.sessionToken !== server.sessionToken && replaced.fingerprint === server.fingerprint) {
    result.previousSessionRevoked = await revokeSession(info, server.fingerprint, replaced.sessionToken, opts.connectTimeoutMs)
  }
  return result
}

/** Revokes the session of `sessionToken` on the server pinned to `fingerprint`; false when that did not work. */
async function revokeSession (info: ConnectionInfo, fingerprint: string, sessionToken: string, connectTimeoutMs = 3000): Promise<boolean> {
  const old = new ClaudetteClient({
    host: info.host, port: info.port, fingerprint, sessionToken, reconnect: false, binaryTerminals: false, pingIntervalMs: 0,
    connectTimeoutMs, requestTimeoutMs: connectTimeoutMs,
  })
  try {
    await old.connect()
    const me = (await old.request('list_sessions')).find(s => s.current)
    if (!me) return false
    await old.request('revoke_session', { session_id: me.id }).catch(() => {}) // the server may close at once
    return true
  } catch {
    return false // already revoked, a reinstalled server, or an old server without list_sessions
  } finally {
    old.close()
  }
}

/** True when `host` (from a connection string) names the advertised server: its SRV host or one of its addresses. */
const namesServer = (host: string, s: NearbyServer): boolean => {
  const h = host.toLowerCase()
  if (isIP(h)) return s.addresses.some(a => a.toLowerCase() === h)
  const srv = s.host.toLowerCase()
  return srv === h || srv === `${h}.local`
}

/** The one advertisement of host:port, with a usable fingerprint prefix. */
async function lookUpNearby (info: ConnectionInfo, label: string, o: { timeoutMs?: number, interface?: string }): Promise<NearbyServer> {
  const timeoutMs = o.timeoutMs ?? 3000
  const { findNearby } = await import('./nearby.js')
  const found = await findNearby(s => s.port === info.port && namesServer(info.host, s), { timeoutMs, interface: o.interface })
  if (found.length === 0) throw new NearbyNotFoundError(label, timeoutMs)
  const prefixes = [...new Set(found.map(s => s.fingerprintPrefix))]
  if (prefixes.length > 1) {
    throw new NearbyFingerprintError(label, `${found.length} advertisements of this address carry different fingerprints ` +
      `(${prefixes.map(p => p || 'none').join(', ')}; ${found.map(s => `'${s.instanceName}'`).join(', ')}): one of them is not the server`)
  }
  const prefix = prefixes[0]!
  if (prefix === '') throw new NearbyFingerprintError(label, `'${found[0]!.instanceName}' advertises no fingerprint`)
  if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_FINGERPRINT_PREFIX || prefix.length > 64) {
    throw new NearbyFingerprintError(label, `'${found[0]!.instanceName}' advertises a malformed fingerprint '${prefix.slice(0, 80)}'`)
  }
  return found[0]!
}
