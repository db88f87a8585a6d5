// What the client CLI's command modules share: the trust store of `--home`, a connected client
// for one paired server, and id lookup by unique prefix.
import type { Command } from 'commander'
import { ClaudetteClient } from '../../src/client/client.js'
import { TrustStore, type TrustedServer } from '../../src/client/trust-store.js'
import { UsageError } from '../cli-output.js'

export interface ClientCli {
  readonly program: Command
  /** `--home` as given (undefined: $CLAUDETTE_CLIENT_HOME or the platform default). */
  home (): string | undefined
  openStore (): Promise<TrustStore>
}

export function clientCli (program: Command): ClientCli {
  const home = (): string | undefined => program.opts<{ home?: string }>().home
  return { program, home, openStore: () => TrustStore.open(home()) }
}

/** Connects to a paired server (no reconnect: one-shot commands), runs `fn`, and closes. */
export async function withServer<T> (cli: ClientCli, name: string, fn: (client: ClaudetteClient, server: TrustedServer, store: TrustStore) => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
  const store = await cli.openStore()
  const server = store.get(name)
  const client = ClaudetteClient.fromTrusted(server, { reconnect: false, requestTimeoutMs: opts.timeoutMs ?? 30_000 }, store)
  try {
    await client.connect()
    return await fn(client, server, store)
  } finally {
    client.close()
  }
}

/**
 * Finds one item by full id, exact name, case-insensitive name, or an id prefix of 4+ characters
 * that only one id starts with (as the server CLI takes ids). `hint` names the command that lists them.
 */
export function findOne<T extends { id: string, name: string }> (what: string, query: string, items: readonly T[], hint: string): T {
  const q = query.trim()
  const exact = items.find(x => x.id === q) ?? items.find(x => x.name === q)
  if (exact) return exact
  const ci = items.filter(x => x.name.toLowerCase() === q.toLowerCase())
  if (ci.length === 1) return ci[0]!
  const byPrefix = q.length >= 4 ? items.filter(x => x.id.startsWith(q)) : []
  if (byPrefix.length === 1) return byPrefix[0]!
  if (ci.length > 1 || byPrefix.length > 1) {
    throw new UsageError(`'${q}' matches several ${what}s (${[...new Set([...ci, ...byPrefix])].map(x => x.id).join(', ')}); give more of the id (see '${hint}')`)
  }
  throw new UsageError(`no ${what} matches '${q}' (see '${hint}')`)
}

/** An ISO timestamp as a table shows it. */
export const shortTime = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
