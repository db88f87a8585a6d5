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
