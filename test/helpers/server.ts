// Test helpers: real servers on 127.0.0.1:0 with a fresh temp home each. Helpers, not mocks.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createServer, type ClaudetteServer, type ServerOptionsInput } from '../../src/index.js'

import type { Test } from 'tap'

/** The tap test object (fresh temp dirs, teardown). */
export type TestContext = Test

/** A fresh, private temp directory removed on teardown (unlike t.testdir(), unique per call). */
export function tempHome (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'claudette-test-'))
  // Retried: a process that is still going away may add a file while the tree is removed.
  t.teardown(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }))
  return dir
}

/**
 * Every pairing and session token seen by the test helpers in this process (TestClient records
 * the tokens it sends and receives; startServer the pairing tokens). Checked against the logs of
 * every server startServer starts.
 */
export const knownSecrets = new Set<string>()
/** Tokens are 43 base64url characters; shorter values in tests ('wrong', 'nope') are not secrets. */
export const recordSecret = (value: unknown): void => {
  if (typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value)) knownSecrets.add(value)
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

/**
 * Captures a server's log at trace level while passing lines at the level the test asked for to
 * stderr as before. It keeps only runs of 43+ token characters (all a token could hide in), so a
 * long test costs no memory, and leaks() tells which known secrets appeared in them.
 */
export class LogTokenWatch {
  readonly #runs = new Set<string>()
  readonly stream: Writable
  constructor (forwardLevel: number) {
    this.stream = new Writable({
      write: (chunk: Buffer | string, _enc, cb) => {
        const text = chunk.toString()
        for (const run of text.match(/[A-Za-z0-9_-]{43,}/g) ?? []) this.#runs.add(run)
        if (forwardLevel !== Infinity) {
          for (const line of text.split('\n')) {
            const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0)
            if (line !== '' && level >= forwardLevel) process.stderr.write(line + '\n')
          }
        }
        cb()
      },
    })
  }

  leaks (secrets: Iterable<string>): number {
    let n = 0
    for (const s of secrets) for (const run of this.#runs) if (run.includes(s)) { n++; break }
    return n
  }
}

/**
 * Starts a real server (TLS, WSS, SQLite) on loopback with a fresh home; closed on teardown.
 * Unless the test brings its own logStream/loggerInstance, the server logs at trace level into a
 * watch, and the teardown fails the test if any pairing or session token the helpers saw (this
 * server's or any other's) reached that log: so the whole suite checks "no token in the logs".
 */
export async function startServer (t: TestContext, opts: ServerOptionsInput = {}): Promise<ClaudetteServer> {
  const watch = opts.logStream || opts.loggerInstance ? null : new LogTokenWatch(LEVELS[opts.logLevel ?? 'warn'] ?? LEVELS.warn!)
  const server = await createServer({
    home: opts.home ?? tempHome(t),
    bind: '127.0.0.1',
    port: 0,
    mdns: false,
    logLevel: 'warn',
    connectHost: '127.0.0.1',
    ...opts,
    ...(watch ? { logLevel: 'trace', logStream: watch.stream } : {}),
  })
  recordSecret(pairingToken(server))
  t.teardown(async () => {
    await server.close()
    recordSecret(pairingToken(server)) // rotated by a pairing window meanwhile
    const leaked = watch?.leaks(knownSecrets) ?? 0
    // The tokens themselves are not printed: the failure must not leak them either.
    if (leaked > 0) throw new Error(`${leaked} pairing/session token(s) appeared in the server log (captured at trace level)`)
  })
  await server.listen()
  return server
}

export const pairingToken = (server: ClaudetteServer): string => server.connectionString.split('/').pop()!
