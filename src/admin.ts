// Offline administration of a server home (what the CLI subcommands use). Works whether or
// not a server is running against the same home: the running server picks the changes up
// within a second (it watches server.toml and the database).
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ensurePrivateDir } from './core/files.js'
import { resolveServerHome } from './core/home.js'
import { ProcessRunner } from './core/process-runner.js'
import { DeviceSessions, PairingTokens } from './plugins/auth/sessions.js'
import type { DeviceSessionInfo } from './plugins/auth/types.js'
import { repoAdmin, type RepoAdmin } from './plugins/repos/admin.js'
import { CONFIG_FILE, DB_FILE, PairingTokenInvalidError, configFile, loadOrCreateConfig, openStore } from './plugins/store/index.js'
import { rotateTlsIdentity } from './plugins/tls/index.js'
import type { ServerConfig } from './plugins/store/types.js'

export interface Admin {
  readonly home: string
  readonly configFile: string
  config (): Promise<ServerConfig>
  /** claudette://<host>:<configured port>/<pairing token> */
  connectionString (): Promise<string>
  /** New pairing token; every device session is revoked. */
  regenerateToken (): Promise<{ connectionString: string, revoked: number }>
  /**
   * New TLS key and certificate (written atomically; a running server switches within a
   * second). Clients must re-pin the new fingerprint; device sessions stay valid.
   */
  rotateCertificate (): Promise<{ fingerprint: string, previous: string, notAfter: Date }>
  /** Saves explicitly given run settings to server.toml. */
  updateServer (patch: Partial<ServerConfig['server']>): Promise<ServerConfig>
  readonly sessions: {
    list (): DeviceSessionInfo[]
    /** Revokes by full id or unique prefix; returns the revoked id, or null if none matched. */
    revoke (idOrPrefix: string): string | null
  }
  /** Registered repositories (`repo add/list/remove`). */
  readonly repos: RepoAdmin
  close (): void
}

export async function openAdmin (opts: { home?: string, config?: string, connectHost?: string } = {}): Promise<Admin> {
  const home = resolveServerHome(opts.home)
  await ensurePrivateDir(home)
  const cf = configFile(opts.config ?? join(home, CONFIG_FILE))
  try {
    await loadOrCreateConfig(cf)
  } catch (err) {
    // Only a missing/invalid pairing token is left for later: regenerateToken() repairs it, and
    // every command that needs the token reports it. Anything else fails here.
    if (!(err instanceof PairingTokenInvalidError)) throw err
  }
  const store = openStore(join(home, DB_FILE))
  const runner = new ProcessRunner() // git for `repo add` (started on first use)
  const sessions = new DeviceSessions(store)
  const pairing = new PairingTokens(store, sessions)
  const rawHost = opts.connectHost ?? hostname()
  // An IPv6 literal needs brackets in a connection string, as in a URL.
  const host = rawHost.includes(':') && !rawHost.startsWith('[') ? `[${rawHost}]` : rawHost
  const connectionString = (c: ServerConfig): string => `claudette://${host}:${c.server.port}/${c.auth.pairing_token}`

  return {
    home,
    configFile: cf.file,
    config: () => cf.read(),
    connectionString: async () => connectionString(await cf.read()),
    async rotateCertificate () {
      const { previous, current } = await rotateTlsIdentity(home)
      return { fingerprint: current.fingerprint, previous: previous.fingerprint, notAfter: current.notAfter }
    },
    async regenerateToken () {
      // Also the repair for a config whose token is missing or invalid (the error says to run it).
      const c = await cf.read({ allowInvalidToken: true })
      // The database first, in one transaction: from its commit on, the old token pairs nothing
      // (a running server checks the database, not its copy, at every pairing) and every session,
      // including one paired a moment ago with the old token, is gone. server.toml only shows the
      // new token; if we die before writing it, the old token left there is known as retired and
      // the next server start makes a fresh one instead of adopting it.
      // A token the database has not seen yet (a home no server ran against) is recorded first,
      // so that it too is retired by the rotation.
      if (c.auth.pairing_token !== '') pairing.reconcile(c.auth.pairing_token)
      const { token, revoked } = pairing.rotate({ revokeSessions: true })!
      c.auth.pairing_token = token
      await cf.write(c)
      return { connectionString: connectionString(c), revoked }
    },
    async updateServer (patch) {
      const c = await cf.read()
      const next = { ...c, server: { ...c.server, ...patch } }
      if (JSON.stringify(next) !== JSON.stringify(c)) await cf.write(next)
      return next
    },
    sessions: {
      list: () => sessions.list(),
      revoke (idOrPrefix) {
        const id = sessions.resolveId(idOrPrefix)
        if (id === null) return null
        return sessions.revoke(id) ? id : null
      },
    },
    repos: repoAdmin(store, runner),
    close: () => { void runner.dispose(); store.close() },
  }
}
