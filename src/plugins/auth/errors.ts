import { ClientError, createError } from '../../core/errors.js'

/** `revoke_session` with an unknown device session (reference text). */
export class SessionNotFoundError extends createError('ERR_AUTH_SESSION_NOT_FOUND', 'Session not found',
  { base: ClientError, wireCode: false, statusCode: 404, fields: ([sessionId]: [string]) => ({ sessionId }) }) {}
