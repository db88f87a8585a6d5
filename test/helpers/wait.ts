// Waiting in tests. A test waits on an event (`once` from node:events, TestClient.event and
// TestClient.waitFor), on a predicate (waitFor, eventually), or on a barrier (roundTrip) that
// proves earlier input was handled. It never sleeps and then asserts: on a loaded machine a
// sleep is too short (a flaky failure) or too long (a slow suite), and it proves nothing about
// what it stood for. The two plain delays below (observe, elapse) each take the reason why no
// event can replace them, so every use is named at its site.
import { inspect } from 'node:util'

export interface WaitOptions {
  /** Deadline in ms. Generous by default (10 s): CI machines run many suites at once. */
  timeout?: number
  /** Poll interval in ms. Default 25. */
  interval?: number
  /** What is awaited, for the failure message (a function is called only then, e.g. to show a log tail). */
  what?: string | (() => string)
}

/** What a predicate's value is once it counts as true. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>

/** The rejection of a wait that reached its deadline. */
export class WaitTimeoutError extends Error {}

const pause = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

const show = (value: unknown): string => inspect(value, { depth: 3, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 400 })

/**
 * Polls `predicate` (sync or async) until it returns a truthy value, and resolves with that
 * value. On the deadline it rejects, naming what it waited for and the last value the predicate
 * returned. A predicate that throws fails the wait at once (throw to stop early, e.g. when the
 * process being watched has exited).
 */
export async function waitFor<T> (predicate: () => T | Promise<T>, opts: WaitOptions = {}): Promise<Truthy<T>> {
  const timeout = opts.timeout ?? 10_000
  const interval = opts.interval ?? 25
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await predicate()
    if (value) return value as Truthy<T>
    if (Date.now() >= deadline) {
      const what = typeof opts.what === 'function' ? opts.what() : opts.what ?? predicate.toString()
      throw new WaitTimeoutError(`timed out after ${timeout} ms waiting for ${what}; last value: ${show(value)}`)
    }
    await pause(Math.min(interval, Math.max(1, deadline - Date.now())))
  }
}

/**
 * Like waitFor, but resolves false at the deadline instead of rejecting: for
 * `t.ok(await eventually(...), 'message')`, or to wait a bounded time and then assert (and clean
 * up) on what is left.
 */
export async function eventually (predicate: () => unknown, opts: Omit<WaitOptions, 'what'> = {}): Promise<boolean> {
  try {
    await waitFor(predicate, { ...opts, what: 'eventually' })
    return true
  } catch (err) {
    if (err instanceof WaitTimeoutError) return false
    throw err
  }
}

/**
 * A deadline on a promise: resolves with its value as soon as it settles, or with `fallback`
 * if it has not within `ms` (a rejection passes through).
 */
export function within<T, F> (promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<F>(resolve => { timer = setTimeout(() => resolve(fallback), ms) })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** True while a process with this pid exists (signal 0 probes without signalling). */
export const isAlive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** Anything that sends a JSON-RPC request on one connection and resolves with its reply. */
export interface Requester { request (method: string, params?: any): Promise<unknown> }

/**
 * A barrier on one connection: sends `server_info` and awaits its reply. The server dispatches a
 * connection's frames in order, `server_info` answers synchronously, and the connection keeps
 * its frames in order, so the reply proves that every frame sent before it was dispatched and
 * that every frame the server queued on this connection before dispatching it arrived first.
 * Use it to assert that something did NOT happen, instead of sleeping.
 */
export async function roundTrip (client: Requester): Promise<void> {
  await client.request('server_info', {})
}

/**
 * A bounded observation window, for asserting absence only where no barrier can exist: a
 * behaviour the server drives by its own timer, or traffic on no connection the test holds
 * (multicast). `why` names which.
 */
export async function observe (ms: number, why: string): Promise<void> {
  if (why.trim() === '') throw new Error('observe() needs the reason no barrier can exist')
  await pause(ms)
}

/**
 * Lets wall-clock time pass on purpose, as the test's input rather than a wait for an outcome:
 * when a kill lands in a crash test, jitter between racing steps, the age of a token the server
 * measures. `why` names which.
 */
export async function elapse (ms: number, why: string): Promise<void> {
  if (why.trim() === '') throw new Error('elapse() needs the reason the time itself is the input')
  await pause(ms)
}
