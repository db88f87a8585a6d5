import { createError } from '../core/errors.js'

// The service commands' conditions. Every message is meant for the operator at a terminal.

/** No service manager this command knows on this platform. */
export class ServiceUnsupportedPlatformError extends createError('ERR_SERVICE_UNSUPPORTED_PLATFORM',
  (platform: string) => `running as a service is supported on Linux (systemd) and macOS (launchd), not on ${platform}; run \`claudette-server run\` under your own service manager`,
  { expose: true, wireCode: false, fields: ([platform]) => ({ platform }) }) {}

/** `--system` without root. */
export class ServiceNeedsRootError extends createError('ERR_SERVICE_NEEDS_ROOT',
  (file: string) => `--system writes ${file} and needs root: run it with sudo (or leave out --system for a service of your own user)`,
  { expose: true, wireCode: false, statusCode: 403, fields: ([file]) => ({ file }) }) {}

/** systemctl or launchctl is not on PATH. */
export class ServiceToolMissingError extends createError('ERR_SERVICE_TOOL_MISSING',
  (tool: string, why: string) => `${tool} not found in PATH: ${why}`,
  { expose: true, wireCode: false, statusCode: 503, fields: ([tool]) => ({ tool }) }) {}

/** systemctl or launchctl failed; the message ends with what it printed on stderr. */
export class ServiceCommandFailedError extends createError('ERR_SERVICE_COMMAND_FAILED',
  (command: string, status: string, stderr: string) => `\`${command}\` failed (${status})${stderr === '' ? '' : `: ${stderr}`}`,
  { expose: true, wireCode: false, fields: ([command, , stderr]) => ({ command, stderr }) }) {}

/** A bad `--user`, or server flags placed where the service would lose them. */
export class ServiceUsageError extends createError('ERR_SERVICE_USAGE',
  (why: string) => why,
  { expose: true, wireCode: false, statusCode: 400 }) {}
