/**
 * Paths pino redacts from every log line. Tokens must never reach a log: code also
 * avoids logging them, this is the second line of defence.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'token', '*.token',
  'pairingToken', '*.pairingToken', '*.pairing_token',
  'sessionToken', '*.sessionToken', '*.session_token',
  '*.key', '*.keyPem',
]

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]
