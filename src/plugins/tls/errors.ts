import { createError } from '../../core/errors.js'

/** The key or certificate file is unreadable, corrupt, or they do not belong together. */
export class TlsIdentityError extends createError('ERR_TLS_IDENTITY', (file: string, message: string) => `${file}: ${message}`,
  { expose: true, wireCode: false, fields: ([file]) => ({ file }) }) {}
