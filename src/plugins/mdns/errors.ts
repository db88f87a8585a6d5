import { AppError } from '../../core/errors.js'

/**
 * Advertising failed (no usable interface, socket error, probing gave up). Logged at warn with
 * this error; the server keeps running without mDNS.
 */
export class MdnsAdvertiseError extends AppError {
  readonly code = 'ERR_MDNS_ADVERTISE'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}
