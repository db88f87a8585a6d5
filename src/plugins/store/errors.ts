import { AppError } from '../../core/errors.js'

/** The database file cannot be opened or migrated. */
export class StoreOpenError extends AppError {
  readonly code = 'ERR_STORE_OPEN'
  override readonly expose = true
  constructor (readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options)
  }
}
