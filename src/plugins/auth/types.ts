import type { Authenticator, AuthRequestInfo } from '../../core/rpc/auth.js'
import type { DeviceSessionInfo } from '../../protocol/index.js'
import type { Event } from '../../core/lifecycle.js'
import { token } from '../../core/tokens.js'

// Defined in src/protocol (`list_sessions` lists it with `current`).
export { DeviceSessionInfo } from '../../protocol/index.js'

/** The paired devices. Session tokens are kept as SHA-256 only; the raw token exists once, at creation. */
export interface DeviceSessionStore {
  /** Creates a session and returns its token. */
  create (name: string, address: string | null): { session: DeviceSessionInfo, token: string }
  /** Finds the session for a token and records that it was seen. */
  verify (token: string, address: string | null): { id: string, name: string } | null
  list (): DeviceSessionInfo[]
  ids (): Set<string>
  /** Accepts a full id or a unique prefix of at least 4 characters. */
  resolveId (idOrPrefix: string): string | null
  revoke (id: string): boolean
  revokeAll (): number
}

/** What the database says about a pairing token that server.toml holds (see PairingTokenStore.reconcile). */
export type PairingTokenState =
  | { state: 'current', sinceMs: number }
  | { state: 'adopted', sinceMs: number }
  | { state: 'retired' }

/** Outcome of a pairing attempt. `next` is the pairing token that replaced the presented one, if it was replaced. */
export type PairingOutcome =
  | { ok: true, session: DeviceSessionInfo, token: string, next?: string }
  | { ok: false, next?: string }

/** The one pairing token that pairs, as the database arbitrates it (hashes only). */
export interface PairingTokenStore {
  /** The current token's hash and since when it is current, or null before the first start. */
  current (): { hash: string, sinceMs: number } | null
  /** True when `token` is the current pairing token (compared in constant time, by hash). */
  matches (token: string): boolean
  /** Pairs a device if `token` is current, in the transaction that checks it. */
  pair (token: string, name: string, address: string | null, opts: { ttlMs: number, singleUse: boolean }): PairingOutcome
  /** Replaces the current token (and, with `revokeSessions`, deletes every session) in one transaction. */
  rotate (opts: { revokeSessions: boolean, ifCurrent?: string }): { token: string, revoked: number } | null
  /** Reconciles server.toml's token with the database (adopt, keep, or refuse a retired one). */
  reconcile (fileToken: string): PairingTokenState
}

/** The auth settings a running server can change (SIGHUP reload): the auth plugin's options of the same names. */
export interface LiveAuthSettings {
  pairingTtlMs?: number
  singleUsePairing?: boolean
  maxFailuresPerIp?: number
  lockoutMs?: number
}

/** A counted failed authentication attempt (a wrong token, an auth deadline missed, a parse-error flood). */
export interface AuthFailure { readonly remoteAddress: string }
/** An address was locked out after too many failures. */
export interface AuthLockout { readonly remoteAddress: string, readonly lockoutMs: number }
/** Who asked for a revocation over the wire (absent: the server itself, or the CLI). */
export interface RevokedBy { readonly sessionId: string, readonly device: string, readonly remoteAddress: string }

/** Pairing and session authentication of devices, with per-address failure limits. */
export interface DeviceAuth extends Authenticator {
  readonly onDidFail: Event<AuthFailure>
  readonly onDidLockOut: Event<AuthLockout>
  /** Applies changed pairing/lockout settings from now on; nothing is dropped. */
  update (patch: LiveAuthSettings): void
  /** The current pairing token (for the banner and connection string only; never logged). */
  readonly pairingToken: string
  /** A reason to refuse this address before it authenticates (locked out), or null. */
  admit (info: AuthRequestInfo): string | null
  recordFailure (info: AuthRequestInfo): void
  /** Revokes a session and closes its connections; false when there was none. */
  revoke (sessionId: string, by?: RevokedBy): boolean
  /** Picks up changes another process made to the same home (token, sessions) now. */
  sync (): Promise<void>
  /** Resolves when pending server.toml reads and writes are done. */
  flush (): Promise<void>
}

export const AUTH = {
  Service: token<DeviceAuth>('AuthService'),
  Sessions: token<DeviceSessionStore>('DeviceSessions'),
  PairingTokens: token<PairingTokenStore>('PairingTokens'),
} as const
