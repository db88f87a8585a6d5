import { createError } from '../../core/errors.js'

/** `metrics.bind` (`--metrics-bind`) is not `host:port`, or names an address that is not loopback without `public`. */
export class MetricsBindError extends createError('ERR_METRICS_BIND',
  (message: string) => message,
  { expose: true, wireCode: false }) {}
