import type { Event } from '../../core/lifecycle.js'
import { token } from '../../core/tokens.js'

/** The server's TLS identity: a self-signed certificate and its key, pinned by clients. */
export interface TlsIdentity {
  readonly keyPem: string
  readonly certPem: string
  /** Lowercase hex SHA-256 of the leaf certificate's DER (64 chars): what clients pin. */
  readonly fingerprint: string
  readonly notAfter: Date
  readonly keyFile: string
  readonly certFile: string
  /** True when this start generated the identity. */
  readonly created: boolean
}

/** Certificate rotations that took effect in the running server. */
export interface TlsRotations {
  /** Fires with the new identity after `rotate-certificate` (from the CLI, on the same home) took effect. */
  readonly onDidRotate: Event<TlsIdentity>
}

export const TLS = {
  /** The current identity; updated in place when the certificate is rotated. */
  Identity: token<TlsIdentity>('TlsIdentity'),
  /** Fires onDidRotate after `rotate-certificate` took effect in the running server. */
  Watcher: token<TlsRotations>('TlsIdentityWatcher'),
} as const
