// One lane per chat session: its dispatches (a message sent, a queued message after a turn) run
// one after another, never those of different sessions, so a queued message and a message sent in
// the same moment keep their order. A lane outlives the agent process: one dispatch may replace
// the process (new flags), and a stop must cancel a queued dispatch of the process it stopped.

interface Lane {
  tail: Promise<void>
  /** Bumped when the user cancels the session's queue (stop, reset, archive). */
  epoch: number
}

export class DispatchLanes {
  readonly #lanes = new Map<string, Lane>()

  /** Runs `fn` after the session's earlier dispatches. */
  run (chatSessionId: string, fn: () => Promise<void>): Promise<void> {
    const lane = this.#lane(chatSessionId)
    const run = lane.tail.then(fn)
    const tail = run.catch(() => {})
    lane.tail = tail
    void tail.then(() => { if (lane.tail === tail && this.#lanes.get(chatSessionId) === lane) this.#lanes.delete(chatSessionId) })
    return run
  }

  /** Like run, but `fn` is skipped when the session's queue is cancelled before its turn comes. */
  runQueued (chatSessionId: string, fn: () => Promise<void>): Promise<void> {
    const lane = this.#lane(chatSessionId)
    const epoch = lane.epoch
    return this.run(chatSessionId, async () => { if (lane.epoch === epoch) await fn() })
  }

  /** Drops the dispatches already scheduled for the session (they run as no-ops). */
  cancelQueued (chatSessionId: string): void {
    const lane = this.#lanes.get(chatSessionId)
    if (lane) lane.epoch++
  }

  #lane (chatSessionId: string): Lane {
    let lane = this.#lanes.get(chatSessionId)
    if (!lane) { lane = { tail: Promise.resolve(), epoch: 0 }; this.#lanes.set(chatSessionId, lane) }
    return lane
  }
}
