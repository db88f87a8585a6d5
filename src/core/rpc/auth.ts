/** The authenticated identity of a connection: one paired device session. */
export interface AuthSession {
  readonly id: string
  readonly name: string
}

export interface AuthRequestInfo {
  readonly remoteAddress: string
}

export type AuthOutcome =
  | { ok: true, session: AuthSession, result: Record<string, unknown> }
  | { ok: false }

/**
 * What the RPC endpoint asks before a connection is authenticated. Core defines the
 * interface; the auth plugin provides it (core never names a plugin).
 */
export interface Authenticator {
  /** May the address open a connection at all (per-IP lockout, caps)? Returns a refusal reason or null. */
  admit (info: AuthRequestInfo): string | null
  /** Checks an `authenticate` request's params (session token first, then pairing token). */
  authenticate (params: unknown, info: AuthRequestInfo): Promise<AuthOutcome>
  /** Called for every counted failed attempt (and parse-error floods), so limits span connections. */
  recordFailure (info: AuthRequestInfo): void
  /** Is the session still valid (not revoked)? For plugins that own per-session resources (terminals). */
  isValid (sessionId: string): boolean
}
