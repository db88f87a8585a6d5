import { AppError, createError } from '../core/errors.js'

/**
 * Errors of the client SDK and the `claudette` CLI. They are `AppError`s with stable codes
 * (docs/errors.md, "Client"); `expose` is true for all of them: their messages are meant for
 * the user and never contain a token.
 */
export abstract class ClientSdkError extends AppError {}
Object.assign(ClientSdkError.prototype, { expose: true })

const sdk = { base: ClientSdkError } as const

/** A connection string that does not parse. The message says what is wrong. */
export class ConnectionStringError extends createError('ERR_CONFIG_CONNECTION_STRING', (message: string) => message,
  { ...sdk, statusCode: 400 }) {}

/** An expected fingerprint (`--fingerprint`, mDNS) that is not 16 to 64 hex characters. */
export class FingerprintFormatError extends createError('ERR_CONFIG_FINGERPRINT',
  (value: string) => `Invalid fingerprint '${value.slice(0, 80)}': expected 16 to 64 hex characters (the SHA-256 of the server certificate, as printed by claudette-server)`,
  { ...sdk, statusCode: 400, fields: ([value]) => ({ value }) }) {}

/** Quotes a stored server name for a shell command line when it needs it. */
const shellArg = (s: string): string => /^[A-Za-z0-9._@%+=:,/-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`

/**
 * What a FingerprintMismatchError says after the two values when a stored pin no longer
 * matches: why that happens, that nothing was sent, and how to re-pin.
 */
export function changedCertificateHint (server?: string): string {
  const name = server === undefined ? '<server>' : shellArg(server)
  return 'The server\'s certificate has changed (a reinstalled server, a rotated certificate, or someone intercepting the connection). ' +
    'Nothing secret was sent. If you trust the new certificate, re-pin it: ' +
    `\`claudette forget ${name}\` and pair again, or pair again with \`claudette pair <connection string> --accept-new-fingerprint\`.`
}

/**
 * The certificate the server presented in the TLS handshake does not match the pinned or
 * expected fingerprint. Nothing secret was sent to it. The message names both values; `hint`
 * (default: changedCertificateHint()) says why and how to re-pin.
 */
export class FingerprintMismatchError extends createError('ERR_TLS_FINGERPRINT_MISMATCH',
  (expected: string, actual: string, server: string, hint?: string) =>
    `Certificate fingerprint mismatch for ${server}: expected ${expected}, got ${actual}. ${hint ?? changedCertificateHint()}`,
  { ...sdk, statusCode: 495, fields: ([expected, actual, server]) => ({ expected, actual, server }) }) {}

/** `pair` with `nearby`: no server on the local network advertises the connection string's host and port. */
export class NearbyNotFoundError extends createError('ERR_MDNS_NOT_ADVERTISED',
  (server: string, timeoutMs: number) => `No server advertises ${server} on the local network (listened ${timeoutMs / 1000} s; see \`claudette nearby\`). ` +
    'Nothing was sent. Pair without --nearby, with --fingerprint <the 64 hex the server banner prints>.',
  { ...sdk, statusCode: 404, fields: ([server, timeoutMs]) => ({ server, timeoutMs }) }) {}

/**
 * `pair` with `nearby`: the advertisement cannot vouch for the certificate: it carries no
 * usable fingerprint prefix, several advertisements of the address disagree, or the prefix
 * contradicts the `fingerprint` given.
 */
export class NearbyFingerprintError extends createError('ERR_MDNS_FINGERPRINT',
  (server: string, detail: string) => `Cannot verify ${server} from its mDNS advertisement: ${detail}. Nothing was sent. ` +
    'Pair with --fingerprint <the 64 hex the server banner prints> instead.',
  { ...sdk, statusCode: 409, fields: ([server]) => ({ server }) }) {}

/** The network interface given to the nearby browser does not exist or has no IPv4 address. */
export class NearbyInterfaceError extends createError('ERR_MDNS_INTERFACE',
  (iface: string) => `network interface '${iface}' not found or has no IPv4 address`, { ...sdk, fields: ([iface]) => ({ iface }) }) {}

/** The multicast socket could not be opened (port 5353 in use without address reuse, or not permitted). */
export class NearbySocketError extends createError('ERR_MDNS_SOCKET', (cause: Error) => `mDNS socket failed: ${cause.message}`, sdk) {
  constructor (cause: Error) { super(cause, { cause }) }
}

/** The server refused the pairing token (wrong, or regenerated since the string was copied). */
export class PairingRefusedError extends createError('ERR_AUTH_PAIRING_REFUSED',
  (server: string, detail: string) => `${server} refused the pairing token (${detail}). Copy a fresh connection string from the server ` +
    '(`claudette-server show-connection-string`).',
  { ...sdk, statusCode: 401, fields: ([server]) => ({ server }) }) {}

/**
 * The server no longer accepts this device's session token: it was revoked
 * (`claudette-server sessions revoke`, `revoke_session`) or the pairing token was regenerated.
 */
export class SessionRevokedError extends createError('ERR_AUTH_SESSION_REVOKED',
  (server: string) => `The session for ${server} was revoked (or the server's pairing token was regenerated): ` +
    'the server no longer accepts this device. Pair again with `claudette pair <connection string>`.',
  { ...sdk, statusCode: 401, fields: ([server]) => ({ server }) }) {}

/** A request got no response in time. The connection stays up. */
export class RequestTimeoutError extends createError('ERR_RPC_TIMEOUT',
  (method: string, timeoutMs: number) => `${method}: no response within ${timeoutMs} ms`,
  { ...sdk, statusCode: 504, fields: ([method, timeoutMs]) => ({ method, timeoutMs }) }) {}

/** The connection closed (or the client was closed) while the request was in flight. */
export class ConnectionClosedError extends createError('ERR_RPC_CONNECTION_CLOSED', (message: string = 'Connection closed') => message,
  // -3: the client-synthesised wire code of the reference clients.
  { ...sdk, statusCode: 503, rpcCode: -3 }) {}

/** The server could not be reached (DNS, refused, TLS failure, timeout). */
export class ConnectError extends createError('ERR_RPC_CONNECT',
  (server: string, detail: string) => `Cannot connect to ${server}: ${detail}`,
  // `detail`: what went wrong, without the server name (e.g. `connection refused …`).
  { ...sdk, statusCode: 503, fields: ([server, detail]) => ({ server, detail }) }) {}

/** An error reply's `error` member as the client received it. */
export interface RemoteErrorBody { code?: unknown, message?: unknown, data?: unknown }

/**
 * The server answered a request with `{error}`. `rpcCode` and `data` are the server's;
 * `remoteCode` is the condition's code when the server sends one (`error.data.code`: an
 * embedder's conditions; the built-in ones are known by their message).
 */
export class RemoteError extends createError('ERR_RPC_REMOTE',
  (_method: string, error: RemoteErrorBody) => typeof error.message === 'string' ? error.message : 'Unknown server error',
  {
    ...sdk,
    statusCode: 502,
    fields: ([method, error]) => ({
      method,
      rpcCode: typeof error.code === 'number' ? error.code : -1,
      data: error.data,
      remoteCode: remoteCodeOf(error.data),
    }),
  }) {}

function remoteCodeOf (data: unknown): string | undefined {
  const code = data !== null && typeof data === 'object' ? (data as { code?: unknown }).code : undefined
  return typeof code === 'string' ? code : undefined
}

/** `<server>` names no stored server, or a prefix matches several. */
export class ServerNotFoundError extends createError('ERR_CONFIG_SERVER_NOT_FOUND',
  (query: string, message?: string) => message ?? `No paired server named '${query}' (see \`claudette list\`; pair with \`claudette pair <connection string>\`)`,
  { ...sdk, statusCode: 404, fields: ([query]) => ({ query }) }) {}

/** The trust store file exists but cannot be read or parsed. It is never overwritten then. */
export class TrustStoreError extends createError('ERR_CONFIG_TRUST_STORE', (file: string, message: string) => `${file}: ${message}`,
  { ...sdk, fields: ([file]) => ({ file }) }) {}
