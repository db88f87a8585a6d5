import { AppError } from '../core/errors.js'

/**
 * Errors of the client SDK and the `claudette` CLI. They are `AppError`s with stable codes
 * (docs/errors.md, "Client"); `expose` is true for all of them: their messages are meant for
 * the user and never contain a token.
 */
export abstract class ClientSdkError extends AppError {
  override readonly expose = true
}

/** A connection string that does not parse. The message says what is wrong. */
export class ConnectionStringError extends ClientSdkError {
  readonly code = 'ERR_CONFIG_CONNECTION_STRING'
  override readonly statusCode = 400
}

/** An expected fingerprint (`--fingerprint`, mDNS) that is not 16 to 64 hex characters. */
export class FingerprintFormatError extends ClientSdkError {
  readonly code = 'ERR_CONFIG_FINGERPRINT'
  override readonly statusCode = 400
  constructor (readonly value: string) {
    super(`Invalid fingerprint '${value.slice(0, 80)}': expected 16 to 64 hex characters (the SHA-256 of the server certificate, as printed by claudette-server)`)
  }
}

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
export class FingerprintMismatchError extends ClientSdkError {
  readonly code = 'ERR_TLS_FINGERPRINT_MISMATCH'
  override readonly statusCode = 495
  constructor (readonly expected: string, readonly actual: string, readonly server: string, hint?: string) {
    super(`Certificate fingerprint mismatch for ${server}: expected ${expected}, got ${actual}. ${hint ?? changedCertificateHint()}`)
  }
}

/** `pair` with `nearby`: no server on the local network advertises the connection string's host and port. */
export class NearbyNotFoundError extends ClientSdkError {
  readonly code = 'ERR_MDNS_NOT_ADVERTISED'
  override readonly statusCode = 404
  constructor (readonly server: string, readonly timeoutMs: number) {
    super(`No server advertises ${server} on the local network (listened ${timeoutMs / 1000} s; see \`claudette nearby\`). ` +
      'Nothing was sent. Pair without --nearby, with --fingerprint <the 64 hex the server banner prints>.')
  }
}

/**
 * `pair` with `nearby`: the advertisement cannot vouch for the certificate: it carries no
 * usable fingerprint prefix, several advertisements of the address disagree, or the prefix
 * contradicts the `fingerprint` given.
 */
export class NearbyFingerprintError extends ClientSdkError {
  readonly code = 'ERR_MDNS_FINGERPRINT'
  override readonly statusCode = 409
  constructor (readonly server: string, detail: string) {
    super(`Cannot verify ${server} from its mDNS advertisement: ${detail}. Nothing was sent. ` +
      'Pair with --fingerprint <the 64 hex the server banner prints> instead.')
  }
}

/** The server refused the pairing token (wrong, or regenerated since the string was copied). */
export class PairingRefusedError extends ClientSdkError {
  readonly code = 'ERR_AUTH_PAIRING_REFUSED'
  override readonly statusCode = 401
  constructor (readonly server: string, detail: string) {
    super(`${server} refused the pairing token (${detail}). Copy a fresh connection string from the server ` +
      '(`claudette-server show-connection-string`).')
  }
}

/**
 * The server no longer accepts this device's session token: it was revoked
 * (`claudette-server sessions revoke`, `revoke_session`) or the pairing token was regenerated.
 */
export class SessionRevokedError extends ClientSdkError {
  readonly code = 'ERR_AUTH_SESSION_REVOKED'
  override readonly statusCode = 401
  constructor (readonly server: string) {
    super(`The session for ${server} was revoked (or the server's pairing token was regenerated): ` +
      'the server no longer accepts this device. Pair again with `claudette pair <connection string>`.')
  }
}

/** A request got no response in time. The connection stays up. */
export class RequestTimeoutError extends ClientSdkError {
  readonly code = 'ERR_RPC_TIMEOUT'
  override readonly statusCode = 504
  constructor (readonly method: string, readonly timeoutMs: number) {
    super(`${method}: no response within ${timeoutMs} ms`)
  }
}

/** The connection closed (or the client was closed) while the request was in flight. */
export class ConnectionClosedError extends ClientSdkError {
  readonly code = 'ERR_RPC_CONNECTION_CLOSED'
  override readonly statusCode = 503
  /** The client-synthesised wire code of the reference clients. */
  override readonly rpcCode = -3
  constructor (message = 'Connection closed') { super(message) }
}

/** The server could not be reached (DNS, refused, TLS failure, timeout). */
export class ConnectError extends ClientSdkError {
  readonly code = 'ERR_RPC_CONNECT'
  override readonly statusCode = 503
  /** What went wrong, without the server name (e.g. `connection refused …`). */
  readonly detail: string
  constructor (readonly server: string, detail: string, options?: { cause?: unknown }) {
    super(`Cannot connect to ${server}: ${detail}`, options)
    this.detail = detail
  }
}

/** The server answered a request with `{error}`. `rpcCode` and `data` are the server's. */
export class RemoteError extends ClientSdkError {
  readonly code = 'ERR_RPC_REMOTE'
  override readonly statusCode = 502
  override readonly rpcCode: number
  override readonly data?: unknown
  constructor (readonly method: string, error: { code?: unknown, message?: unknown, data?: unknown }) {
    super(typeof error.message === 'string' ? error.message : 'Unknown server error')
    this.rpcCode = typeof error.code === 'number' ? error.code : -1
    this.data = error.data
  }
}

/** `<server>` names no stored server, or a prefix matches several. */
export class ServerNotFoundError extends ClientSdkError {
  readonly code = 'ERR_CONFIG_SERVER_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly query: string, message?: string) {
    super(message ?? `No paired server named '${query}' (see \`claudette list\`; pair with \`claudette pair <connection string>\`)`)
  }
}

/** The trust store file exists but cannot be read or parsed. It is never overwritten then. */
export class TrustStoreError extends ClientSdkError {
  readonly code = 'ERR_CONFIG_TRUST_STORE'
  constructor (readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options)
  }
}
