import { AppError } from '../../core/errors.js'

/** The key or certificate file is unreadable, corrupt, or they do not belong together. */
export class TlsIdentityError extends AppError {
  readonly code = 'ERR_TLS_IDENTITY'
  override readonly expose = true
  constructor (readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options)
  }
}
