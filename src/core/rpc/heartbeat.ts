import type { Disposable } from '../lifecycle.js'

/** What the heartbeat pings: a connection that drops itself when it missed the last ping. */
export interface Pingable { heartbeat (): void }

/**
 * Pings every connection each `intervalMs`; one that has not answered the previous ping (nor
 * sent anything) by the next tick is dropped. An interval of 0 turns it off.
 */
export class Heartbeat implements Disposable {
  readonly #timer: NodeJS.Timeout | undefined

  constructor (connections: () => Iterable<Pingable>, intervalMs: number) {
    this.#timer = intervalMs > 0
      ? setInterval(() => { for (const c of connections()) c.heartbeat() }, intervalMs).unref()
      : undefined
  }

  dispose (): void { if (this.#timer) clearInterval(this.#timer) }
}
