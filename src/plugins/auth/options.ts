import { Type, type Static } from 'typebox'

export const AuthOptions = Type.Object({
  /** Counted failures (bad tokens, requests before auth) per IP within the window before a lockout. */
  maxFailuresPerIp: Type.Integer({ minimum: 1, default: 10 }),
  failureWindowMs: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** How long a locked-out IP is refused new connections. */
  lockoutMs: Type.Integer({ minimum: 0, default: 60_000 }),
  /**
   * Pairing window: a pairing token stops pairing this long after the server first saw it and is
   * replaced by a fresh one (saved to server.toml; `claudette-server qr` shows it). 0 = never
   * expires, as in the reference.
   */
  pairingTtlMs: Type.Integer({ minimum: 0, default: 0 }),
  /** Replace the pairing token after each successful pairing (one device per token). */
  singleUsePairing: Type.Boolean({ default: false }),
  /** How often the server looks for changes made by the CLI (regenerate-token, sessions revoke). */
  reloadIntervalMs: Type.Integer({ minimum: 50, maximum: 5000, default: 250 }),
}, { additionalProperties: false })
export type AuthOptions = Static<typeof AuthOptions>
