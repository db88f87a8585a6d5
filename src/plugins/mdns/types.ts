import { token } from '../../core/tokens.js'

/** The DNS-SD service type (wire doc §8.4), without the `.local.` domain. */
export const SERVICE_TYPE = 'claudette'

/**
 * Where the advertisement stands:
 * - `idle`: waiting for the server to listen;
 * - `skipped`: not advertised on purpose (the server listens on loopback only);
 * - `probing`: checking that the name is unique;
 * - `announced`: on the network;
 * - `failed`: advertising failed (see `error`); the server runs on without mDNS;
 * - `stopped`: goodbye sent, closed.
 */
export type MdnsState = 'idle' | 'skipped' | 'probing' | 'announced' | 'failed' | 'stopped'

export interface MdnsStatus {
  readonly state: MdnsState
  /** The instance name as advertised (after any rename on a conflict). */
  readonly instanceName?: string
  /** The SRV target, e.g. `buildhost.local`. */
  readonly host?: string
  readonly port?: number
  readonly txt?: Readonly<Record<string, string>>
  /** Why it failed or was skipped. */
  readonly reason?: string
}

/** The LAN advertisement as other plugins and embedders see it. */
export interface MdnsAdvertisement {
  status (): MdnsStatus
  /** Re-advertises under the server's current name (after a reload changed it). Never rejects. */
  rename (): Promise<void>
}

export const MDNS = {
  Advertiser: token<MdnsAdvertisement>('MdnsAdvertiser'),
} as const
