import { ClientError, createError } from '../../core/errors.js'

/** Terminal errors reach the Claudette apps as the reference texts: code -1, the message, no data. */
const client = { base: ClientError, wireCode: false } as const

/** Unknown pty id, or one owned by another device session (the two are indistinguishable). */
export class PtyNotFoundError extends createError('ERR_TERM_NOT_FOUND', 'PTY not found',
  { ...client, statusCode: 404, fields: ([ptyId]: [number | null]) => ({ ptyId }) }) {}

/** Input to a pty whose process has exited (it stays listable until closed). */
export class PtyExitedError extends createError('ERR_TERM_EXITED', 'PTY has exited',
  { ...client, statusCode: 409, fields: ([ptyId]: [number]) => ({ ptyId }) }) {}

/** The session already has `maxPtysPerSession` terminals. */
export class PtyLimitError extends createError('ERR_TERM_LIMIT', (limit: number) => `Too many terminals (limit ${limit} per session)`,
  { ...client, statusCode: 429, fields: ([limit]) => ({ limit }) }) {}

/** One write is larger than `maxWriteBytes`. */
export class PtyInputTooLargeError extends createError('ERR_TERM_INPUT_TOO_LARGE',
  (size: number, limit: number) => `Input too large (${size} bytes, limit ${limit})`,
  { ...client, statusCode: 413, fields: ([size, limit]) => ({ size, limit }) }) {}

/** A binary input frame shorter than its 5-byte header. */
export class PtyFrameMalformedError extends createError('ERR_TERM_FRAME_MALFORMED',
  'Malformed binary frame: expected 0x02, a 4-byte pty id, then data', client) {}

/** `spawn_pty` without a workspace or cwd to run in. */
export class PtyCwdRequiredError extends createError('ERR_TERM_CWD_REQUIRED',
  'spawn_pty needs a workspace_id or a cwd inside a registered repository or workspace', client) {}

/** The provider could not start the terminal (missing shell, cwd vanished, out of ptys). */
export class PtySpawnError extends createError('ERR_TERM_SPAWN',
  (reason: string) => `Failed to spawn terminal: ${reason}`, { ...client, statusCode: 500 }) {}

/** The server is closing; no new terminals. */
export class TerminalsClosedError extends createError('ERR_TERM_CLOSED', 'Server is shutting down', { ...client, statusCode: 503 }) {}

/** `spawn_pty {workspace_id}` without a cwd names no workspace: the repos condition. */
export { WorkspaceNotFoundError as PtyWorkspaceNotFoundError } from '../repos/types.js'
