// Helpers of the pairing-token rotation race tests (security-rotation-race-*.test.ts): a client
// that pairs in a tight loop, and the checks made after each rotation.
import { connectFrom } from './security-support.js'
import type { ClaudetteServer } from '../../src/index.js'
import { recordSecret, type TestContext } from '../helpers/server.js'

export const ROUNDS = Number(process.env.ROTATION_ROUNDS ?? 20)
/** Failed pairings are expected here by the thousand: the per-address lockout must not end the loop. */
export const NO_LOCKOUT = { maxFailuresPerIp: 1_000_000 }

export interface Pairing { sentAt: number, sessionToken: string, closed: Promise<{ code: number, reason: string }>, close (): void }

/** Where the loop's session tokens go besides the suite's list of secrets (a server's log capture). */
export interface Secrets { secrets: { add (s: string): unknown } }

/**
 * Pairs with `token` over fresh connections, one after another, until `stop()` (bounded by
 * `maxMs`). Accepted pairings keep their connection open (a revocation must close it).
 */
export function pairInLoop (t: TestContext, server: ClaudetteServer, logs: Secrets, token: string, keepOpen: boolean, maxMs = 15_000) {
  const accepted: Pairing[] = []
  let attempts = 0
  /** When each finished attempt was sent. */
  const sent: number[] = []
  let stopped = false
  const until = Date.now() + maxMs
  // Two pairings in flight at any time, so some land between a rotation's commit and the moment
  // a server that trusted its own copy of the token would notice the change.
  const worker = async (): Promise<void> => {
    while (!stopped && Date.now() < until) {
      const c = await connectFrom(t, server)
      const sentAt = Date.now()
      const res = await Promise.race([c.request('authenticate', { pairing_token: token, client_name: 'looper' }), c.closed.then(() => ({}))])
      attempts++
      sent.push(sentAt)
      if (typeof res.result?.session_token === 'string') {
        logs.secrets.add(res.result.session_token)
        recordSecret(res.result.session_token)
        accepted.push({ sentAt, sessionToken: res.result.session_token, closed: c.closed, close: () => c.ws.terminate() })
      }
      if (!keepOpen || res.result === undefined) c.ws.terminate()
    }
  }
  const done = Promise.all([worker(), worker()])
  return {
    accepted,
    get attempts () { return attempts },
    /** Finished attempts that were sent after `ms` (a Date.now() value). */
    sentAfter: (ms: number) => sent.filter(at => at > ms).length,
    stop: async () => { stopped = true; await done },
  }
}

export async function sessionAuthenticates (t: TestContext, server: ClaudetteServer, sessionToken: string): Promise<boolean> {
  const c = await connectFrom(t, server)
  const res = await c.request('authenticate', { session_token: sessionToken })
  c.ws.terminate()
  return res.result !== undefined
}
