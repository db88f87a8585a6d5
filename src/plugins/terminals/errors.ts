import { ClientError } from '../../core/errors.js'

/** Unknown pty id, or one owned by another device session (the two are indistinguishable). */
export class PtyNotFoundError extends ClientError {
  readonly code = 'ERR_TERM_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly ptyId: number | null) { super('PTY not found') }
}

/** Input to a pty whose process has exited (it stays listable until closed). */
export class PtyExitedError extends ClientError {
  readonly code = 'ERR_TERM_EXITED'
  override readonly statusCode = 409
  constructor (readonly ptyId: number) { super('PTY has exited') }
}

/** The session already has `maxPtysPerSession` terminals. */
export class PtyLimitError extends ClientError {
  readonly code = 'ERR_TERM_LIMIT'
  override readonly statusCode = 429
  constructor (readonly limit: number) { super(`Too many terminals (limit ${limit} per session)`) }
}

/** One write is larger than `maxWriteBytes`. */
export class PtyInputTooLargeError extends ClientError {
  readonly code = 'ERR_TERM_INPUT_TOO_LARGE'
  override readonly statusCode = 413
  constructor (readonly size: number, readonly limit: number) { super(`Input too large (${size} bytes, limit ${limit})`) }
}

/** A binary input frame shorter than its 5-byte header. */
export class PtyFrameMalformedError extends ClientError {
  readonly code = 'ERR_TERM_FRAME_MALFORMED'
  constructor () { super('Malformed binary frame: expected 0x02, a 4-byte pty id, then data') }
}

/** `spawn_pty` without a workspace or cwd to run in. */
export class PtyCwdRequiredError extends ClientError {
  readonly code = 'ERR_TERM_CWD_REQUIRED'
  constructor () { super('spawn_pty needs a workspace_id or a cwd inside a registered repository or workspace') }
}

/** The provider could not start the terminal (missing shell, cwd vanished, out of ptys). */
export class PtySpawnError extends ClientError {
  readonly code = 'ERR_TERM_SPAWN'
  override readonly statusCode = 500
  constructor (reason: string, options?: { cause?: unknown }) { super(`Failed to spawn terminal: ${reason}`, options) }
}

/** The server is closing; no new terminals. */
export class TerminalsClosedError extends ClientError {
  readonly code = 'ERR_TERM_CLOSED'
  override readonly statusCode = 503
  constructor () { super('Server is shutting down') }
}

/** spawn_pty with an unknown `workspace_id` and no `cwd`. */
export class PtyWorkspaceNotFoundError extends ClientError {
  readonly code = 'ERR_TERM_WORKSPACE_NOT_FOUND'
  override readonly statusCode = 404
  constructor (readonly workspaceId: string) { super('Workspace not found') }
}
