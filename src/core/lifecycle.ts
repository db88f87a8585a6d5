/** Anything that holds a resource. dispose() takes no argument and is idempotent. */
export interface Disposable { dispose (): void | Promise<void> }

/** A typed event: subscribing returns the handle that unsubscribes. */
export type Event<T> = (listener: (e: T) => void) => Disposable

export const toDisposable = (fn: () => void | Promise<void>): Disposable => {
  let done = false
  return { dispose: () => { if (done) return; done = true; return fn() } }
}

/** Owns a set of disposables. Adding to a disposed store disposes the item at once (xterm's rule). */
export class DisposableStore implements Disposable {
  #items = new Set<Disposable>()
  #disposed = false
  get isDisposed (): boolean { return this.#disposed }

  add<T extends Disposable> (item: T): T {
    if (this.#disposed) void item.dispose()
    else this.#items.add(item)
    return item
  }

  delete (item: Disposable): void { this.#items.delete(item) }

  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    const items = [...this.#items].reverse()
    this.#items.clear()
    for (const item of items) {
      try { await item.dispose() } catch { /* one failing disposable must not keep the rest alive */ }
    }
  }
}

/**
 * A tiny typed emitter (node-pty/xterm style). fire() copies the listener list so a
 * listener may unsubscribe during dispatch, and one throwing listener cannot stop the others.
 */
export class Emitter<T> implements Disposable {
  #listeners: Array<(e: T) => void> = []
  #onError: (err: unknown) => void

  constructor (onError: (err: unknown) => void = () => {}) { this.#onError = onError }

  readonly event: Event<T> = (listener) => {
    this.#listeners.push(listener)
    return toDisposable(() => {
      const i = this.#listeners.indexOf(listener)
      if (i >= 0) this.#listeners.splice(i, 1)
    })
  }

  get hasListeners (): boolean { return this.#listeners.length > 0 }

  fire (e: T): void {
    for (const l of this.#listeners.slice()) {
      try { l(e) } catch (err) { this.#onError(err) }
    }
  }

  dispose (): void { this.#listeners = [] }
}
