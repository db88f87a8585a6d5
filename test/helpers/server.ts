// Test helpers: real servers on 127.0.0.1:0 with a fresh temp home each. Helpers, not mocks.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type ClaudetteServer, type ServerOptionsInput } from '../../src/index.js'

import type { Test } from 'tap'

/** The tap test object (fresh temp dirs, teardown). */
export type TestContext = Test

/** Starts a real server (TLS, WSS, SQLite) on loopback with a fresh home; closed on teardown. */
/** A fresh, private temp directory removed on teardown (unlike t.testdir(), unique per call). */
export function tempHome (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'claudette-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export async function startServer (t: TestContext, opts: ServerOptionsInput = {}): Promise<ClaudetteServer> {
  const server = await createServer({
    home: opts.home ?? tempHome(t),
    bind: '127.0.0.1',
    port: 0,
    mdns: false,
    logLevel: 'warn',
    connectHost: '127.0.0.1',
    ...opts,
  })
  t.teardown(() => server.close())
  await server.listen()
  return server
}

export const pairingToken = (server: ClaudetteServer): string => server.connectionString.split('/').pop()!
