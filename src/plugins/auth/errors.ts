import { ClientError } from '../../core/errors.js'

export class SessionNotFoundError extends ClientError {
  readonly code = 'ERR_AUTH_SESSION_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly sessionId: string) { super('Session not found') }
}
