// The crash loop shared by test/reliability/crash-*.test.ts: run work against the server,
// SIGKILL it at a random moment, restart it (which must succeed), check, repeat.
import type { ClaudetteClient, ClientState } from '../../src/client/index.js'
import type { TestContext } from '../helpers/server.js'
import { elapse, within } from '../helpers/wait.js'
import type { ServerProcess } from './support.js'

export interface CrashLoop {
  current: () => ServerProcess
  restart: () => Promise<ServerProcess>
  /** Runs until stopped() turns true (the process was killed). With `armsKill`, the kill delay
   * starts only when the work calls arm() (e.g. once it is connected), so a slow machine
   * cannot spend the whole delay on setup and kill before anything was done. */
  work: (stopped: () => boolean, round: number, arm: () => void) => Promise<void>
  armsKill?: boolean
  /** After the restart. */
  check: (round: number) => Promise<void>
  /** Random kill delay range in ms after the work starts (with `armsKill`: after it arms). Default 30..400. */
  killAfterMs?: [number, number]
}

export async function crashRounds (t: TestContext, rounds: number, loop: CrashLoop): Promise<void> {
  const [lo, hi] = loop.killAfterMs ?? [30, 400]
  for (let round = 1; round <= rounds; round++) {
    let stopped = false
    let arm!: () => void
    const armed = new Promise<void>(resolve => { arm = resolve })
    const working = loop.work(() => stopped, round, arm)
    // A work that fails before arming fails the test instead of hanging it; one that never arms
    // (nothing succeeds) is killed after 30 s anyway and the checks say what is wrong.
    if (loop.armsKill === true) await within(Promise.race([armed, working]), 30_000, undefined)
    await elapse(lo + Math.floor(Math.random() * (hi - lo)), 'the kill lands at a random moment of the work')
    const victim = loop.current()
    victim.child.kill('SIGKILL')
    const exit = await victim.exited
    stopped = true
    await working
    t.equal(exit.signal, 'SIGKILL', `round ${round}: killed`)
    const started = performance.now()
    const next = await loop.restart()
    t.ok(next.running, `round ${round}: restart succeeded in ${Math.round(performance.now() - started)} ms`)
    await loop.check(round)
  }
}

/** Resolves when the SDK client reaches `state` (now or later). */
export function waitForState (client: ClaudetteClient, state: ClientState, timeoutMs: number): Promise<void> {
  if (client.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { client.off('state', on); reject(new Error(`client still ${client.state} after ${timeoutMs} ms`)) }, timeoutMs)
    const on = (s: { state: ClientState }): void => {
      if (s.state === state) { clearTimeout(timer); client.off('state', on); resolve() }
    }
    client.on('state', on)
  })
}
