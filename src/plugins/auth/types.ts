import { token } from '../../core/tokens.js'
import type { AuthService } from './service.js'
import type { DeviceSessions, PairingTokens } from './sessions.js'

// Defined in src/protocol (`list_sessions` lists it with `current`).
export { DeviceSessionInfo } from '../../protocol/index.js'

export const AUTH = {
  Service: token<AuthService>('AuthService'),
  Sessions: token<DeviceSessions>('DeviceSessions'),
  PairingTokens: token<PairingTokens>('PairingTokens'),
} as const
