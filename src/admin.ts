// Offline administration of a server home (what the CLI subcommands use). Works whether or
// not a server is running against the same home: the running server picks the changes up
// within a second (it watches server.toml and the database).
import { access } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ConfigFileError } from './core/errors.js'
import { ensurePrivateDir } from './core/files.js'
import { resolveServerHome } from './core/home.js'
import { ProcessRunner } from './core/process-runner.js'
import { DeviceSessions, PairingTokens } from './plugins/auth/sessions.js'
import type { DeviceSessionInfo } from './plugins/auth/types.js'
import { repoAdmin, type RepoAdmin } from './plugins/repos/admin.js'
import { CONFIG_FILE, CONFIG_KEYS, DB_FILE, PairingTokenInvalidError, configFile, loadOrCreateConfig, openStore } from './plugins/store/index.js'
import { rotateTlsIdentity } from './plugins/tls/index.js'
import type { ConfigWarning, ServerConfig } from './plugins/store/types.js'

/** One server.toml key as `config list/get` show it. */
export interface ConfigEntry {
  /** `section.key`, e.g. `server.port`. */
  readonly key: string
  /** The value as written in the file; undefined when the file does not set it, or for a secret. */
  readonly value?: unknown
  readonly source: 'file' | 'default'
  /** The default, as text. */
  readonly default: string
  /** A running server applies a change on SIGHUP; else at the next start. */
  readonly live: boolean
  /** The server flag that overrides it for one run. */
  readonly flag?: string
  /** The value is never shown (the pairing token: see show-connection-string). */
  readonly secret: boolean
  readonly description: string
}

export interface Admin {
  readonly home: string
  readonly configFile: string
  config (): Promise<ServerConfig>
  /** Problems found when the admin opened server.toml that do not stop it (unknown keys). */
  readonly warnings: readonly ConfigWarning[]
  /**
   * Saves one key (`section.key`) to server.toml, checked by the file's schema; the file is edited
   * in place. A running server applies it on SIGHUP (live keys) or at its next start.
   */
  setConfig (name: string, value: unknown): Promise<ServerConfig>
  /** Every known key with its value in the file or its default; secrets are never included. */
  configEntries (): Promise<ConfigEntry[]>
  /** claudette://<host>:<configured port>/<pairing token> */
  connectionString (): Promise<string>
  /** New pairing token; every device session is revoked. */
  regenerateToken (): Promise<{ connectionString: string, revoked: number }>
  /**
   * New TLS key and certificate (written atomically; a running server switches within a
   * second). Clients must re-pin the new fingerprint; device sessions stay valid.
   */
  rotateCertificate (): Promise<{ fingerprint: string, previous: string, notAfter: Date }>
  readonly sessions: {
    list (): DeviceSessionInfo[]
    /** Revokes by full id or unique prefix; returns the revoked id, or null if none matched. */
    revoke (idOrPrefix: string): string | null
  }
  /** Registered repositories (`repo add/list/remove`). */
  readonly repos: RepoAdmin
  close (): void
}

export interface OpenAdminOptions {
  home?: string
  config?: string
  connectHost?: string
  /**
   * For commands that only read: a missing home or server.toml is an error naming it, instead of
   * being created (with a fresh pairing token) as a side effect of looking.
   */
  readOnly?: boolean
}

export async function openAdmin (opts: OpenAdminOptions = {}): Promise<Admin> {
  const home = resolveServerHome(opts.home)
  const cf = configFile(opts.config ?? join(home, CONFIG_FILE))
  if (opts.readOnly === true) {
    for (const [path, what] of [[home, 'the home directory'], [cf.file, 'the configuration file']] as const) {
      try {
        await access(path)
      } catch {
        throw new ConfigFileError(path, `${what} does not exist (this command only reads; check --home/--config, or start the server once to create it)`)
      }
    }
  } else {
    await ensurePrivateDir(home)
  }
  let warnings: readonly ConfigWarning[] = []
  try {
    warnings = (await loadOrCreateConfig(cf)).warnings
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
    warnings,
    setConfig: (name, value) => cf.set(name, value),
    async configEntries () {
      const { config, keys } = await cf.load({ allowInvalidToken: true })
      return CONFIG_KEYS.map(k => {
        const set = keys.includes(k.name)
        const value = set && k.secret !== true ? (config[k.section] as Record<string, unknown> | undefined)?.[k.key] : undefined
        return {
          key: k.name,
          ...(value !== undefined ? { value } : {}),
          source: set ? 'file' as const : 'default' as const,
          default: k.default,
          live: k.live,
          ...(k.flag !== undefined ? { flag: k.flag } : {}),
          secret: k.secret === true,
          description: k.description,
        }
      })
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
