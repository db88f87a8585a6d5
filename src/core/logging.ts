/**
 * Paths pino redacts from every log line. Tokens must never reach a log: code also
 * avoids logging them, this is the second line of defence.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  // Top level, one and two levels down (e.g. `{ params: { auth: { session_token } } }`).
  ...['token', 'pairingToken', 'pairing_token', 'sessionToken', 'session_token'].flatMap(k => [k, `*.${k}`, `*.*.${k}`]),
  '*.key', 'keyPem', '*.keyPem',
]

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

export const LOG_FORMATS = ['pretty', 'json'] as const
export type LogFormat = typeof LOG_FORMATS[number]

/** Where log lines go: pino needs only `write`. */
export interface LogDestination { write (line: string): unknown }

/**
 * The format used when none is asked for: readable on a terminal, JSON lines for everything else
 * (journald, files, pipes, log collectors).
 */
export const defaultLogFormat = (dest: LogDestination & { isTTY?: boolean }): LogFormat => dest.isTTY === true ? 'pretty' : 'json'

/**
 * The stream pino writes to for `format`. Pretty output is made in-process and written
 * synchronously (pino-pretty's prettyFactory, not its worker transport): lines keep their order
 * with what the CLI prints, nothing is lost at exit, and redaction has already happened in pino.
 * Colours only when the destination is a terminal.
 */
export async function logDestination (format: LogFormat, dest: LogDestination & { isTTY?: boolean }): Promise<LogDestination> {
  if (format === 'json') return dest
  const { prettyFactory } = await import('pino-pretty')
  const pretty = prettyFactory({
    colorize: dest.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  })
  return { write: (line: string) => dest.write(pretty(line)) }
}

/**
 * What Fastify's listen logs instead of "Server listening at https://…" (one line per interface,
 * naming https while clients speak wss): the server drops it and logs one accurate line itself.
 */
export const FASTIFY_LISTEN_TEXT = '\u0000fastify listen line'
