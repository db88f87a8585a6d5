// The handshake (claudette-wire.md §4) and device management (our additions).
import { Type, type Static } from 'typebox'
import { Nullable, NoParams, NullResult } from './common.js'

/**
 * `authenticate`, the first request of a connection. It is answered by the handshake, not by a
 * method handler: tokens of the wrong type count as a failed attempt rather than a schema error.
 */
export const AuthenticateParams = Type.Object({
  client_name: Type.Optional(Type.String()),
  pairing_token: Type.Optional(Type.String()),
  session_token: Type.Optional(Type.String()),
})
export type AuthenticateParams = Static<typeof AuthenticateParams>

/** `session_token` only when the device paired with the pairing token. */
export const AuthenticateResult = Type.Object({
  server_name: Type.String(),
  session_token: Type.Optional(Type.String()),
})
export type AuthenticateResult = Static<typeof AuthenticateResult>

/** A paired device as listed to operators and clients. Never carries a token. */
export const DeviceSessionInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  last_seen: Type.String(),
  last_address: Nullable(Type.String()),
})
export type DeviceSessionInfo = Static<typeof DeviceSessionInfo>

/** One entry of `list_sessions`: `current` marks the caller's own session. */
export const SessionInfo = Type.Object({ ...DeviceSessionInfo.properties, current: Type.Boolean() })
export type SessionInfo = Static<typeof SessionInfo>

export const RevokeSessionParams = Type.Object({ session_id: Type.String({ minLength: 1, maxLength: 200 }) })

export const AuthMethods = {
  authenticate: { params: AuthenticateParams, result: AuthenticateResult },
  list_sessions: { params: NoParams, result: Type.Array(SessionInfo) },
  revoke_session: { params: RevokeSessionParams, result: NullResult },
} as const
