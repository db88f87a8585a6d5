import { Type, type Static } from 'typebox'
import { token } from '../../core/tokens.js'
import type { AuthService } from './service.js'
import type { DeviceSessions, PairingTokens } from './sessions.js'

/** A paired device as listed to operators and clients. Never carries a token. */
export const DeviceSessionInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_at: Type.String(),
  last_seen: Type.String(),
  last_address: Type.Union([Type.String(), Type.Null()]),
})
export type DeviceSessionInfo = Static<typeof DeviceSessionInfo>

export const AUTH = {
  Service: token<AuthService>('AuthService'),
  Sessions: token<DeviceSessions>('DeviceSessions'),
  PairingTokens: token<PairingTokens>('PairingTokens'),
} as const
