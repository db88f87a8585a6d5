import { Type, type Static } from 'typebox'

export const AuthOptions = Type.Object({
  /** Counted failures (bad tokens, requests before auth) per IP within the window before a lockout. */
  maxFailuresPerIp: Type.Integer({ minimum: 1, default: 10 }),
  failureWindowMs: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** How long a locked-out IP is refused new connections. */
  lockoutMs: Type.Integer({ minimum: 0, default: 60_000 }),
  /** How often the server looks for changes made by the CLI (regenerate-token, sessions revoke). */
  reloadIntervalMs: Type.Integer({ minimum: 50, maximum: 5000, default: 250 }),
}, { additionalProperties: false })
export type AuthOptions = Static<typeof AuthOptions>
