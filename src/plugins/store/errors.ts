import { createError } from '../../core/errors.js'

/** The database file cannot be opened or migrated. */
export class StoreOpenError extends createError('ERR_STORE_OPEN', (file: string, message: string) => `${file}: ${message}`,
  { expose: true, wireCode: false, fields: ([file]) => ({ file }) }) {}
