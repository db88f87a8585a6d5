import { createError } from '../../core/errors.js'

/**
 * Advertising failed (no usable interface, socket error, probing gave up). Logged at warn with
 * this error; the server keeps running without mDNS.
 */
export class MdnsAdvertiseError extends createError('ERR_MDNS_ADVERTISE', (message: string) => message) {}
