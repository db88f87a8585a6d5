import { createError } from '../../core/errors.js'

/** Another server is running for this home (two servers would share one database and token). */
export class ControlHomeInUseError extends createError('ERR_CONTROL_HOME_IN_USE',
  (home: string, pid: number | null) => `another claudette-server${pid === null ? '' : ` (pid ${pid})`} is already running for ${home}; stop it first, or use another --home`,
  { expose: true, fields: ([home, pid]: [string, number | null]) => ({ home, pid }) }) {}

/** The control socket cannot be created or used (a non-socket file in its place, an unsafe directory). */
export class ControlSocketError extends createError('ERR_CONTROL_SOCKET',
  (message: string) => message, { expose: true }) {}

/** A server holds the home's control socket but did not answer in time. */
export class ControlNoAnswerError extends createError('ERR_CONTROL_NO_ANSWER',
  (home: string, why: string) => `the server running for ${home} did not answer on its control socket (${why})`,
  { expose: true }) {}
