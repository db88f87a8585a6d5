// Offline administration of a server home (what the CLI subcommands use). Works whether or
// not a server is running against the same home: the running server picks the changes up
// within a second (it watches server.toml and the database).
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { connectHostProblem, defaultConnectHost, formatConnectionString, unbracket } from './core/connect-host.js'
import { ConfigError, ConfigFileError } from './core/errors.js'
import { ensurePrivateDir } from './core/files.js'
import { resolveServerHome } from './core/home.js'
import { ProcessRunner } from './core/process-runner.js'
import { DeviceSessions, PairingTokens } from './plugins/auth/sessions.js'
import type { DeviceSessionInfo } from './plugins/auth/types.js'
import { askServer } from './plugins/control/client.js'
import type { ServerStatus } from './plugins/control/types.js'
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
  /**
   * The connection string: what the server running for this home serves (its real port and
   * connect host, asked over the control socket), else what the next start will use (server.toml's
   * port and connect host). `running` says which.
   */
  connection (): Promise<{ connectionString: string, running: boolean }>
  /** `connection()`'s string alone. */
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

/**
 * The figures of the server running for `home` (asked over its control socket), or null when
 * none runs. Creates nothing: a home that does not exist has no server.
 */
export async function serverStatus (opts: { home?: string } = {}): Promise<ServerStatus | null> {
  return askServer(resolveServerHome(opts.home), 'status')
}

export interface OpenAdminOptions {
  home?: string
  config?: string
  /**
   * The host the next start would give out (the CLI's --connect-host); default server.toml's
   * `connect_host`, else its bind address when specific, else the host name.
   */
  connectHost?: string
  /**
   * For commands that only read: a missing home or server.toml is an error naming it, instead of
   * being created (with a fresh pairing token) as a side effect of looking.
   */
  readOnly?: boolean
  /**
   * For commands that replace a secret (`regenerate-token`, `rotate-certificate`): a missing home
   * is an error (a mistyped home, not a first start); what is missing inside it is created.
   */
  existingHome?: boolean
}

export async function openAdmin (opts: OpenAdminOptions = {}): Promise<Admin> {
  if (opts.connectHost !== undefined) {
    const problem = connectHostProblem(opts.connectHost)
    if (problem !== null) throw new ConfigError(`invalid option connectHost ${problem}`)
  }
  const home = resolveServerHome(opts.home)
  const cf = configFile(opts.config ?? join(home, CONFIG_FILE))
  const mustExist = async (path: string, what: string, hint: string): Promise<void> => {
    try { await access(path) } catch { throw new ConfigFileError(path, `${what} does not exist (${hint})`) }
  }
  if (opts.readOnly === true) {
    const hint = 'this command only reads; check --home/--config, or start the server once to create it'
    await mustExist(home, 'the home directory', hint)
    await mustExist(cf.file, 'the configuration file', hint)
  } else {
    if (opts.existingHome === true) await mustExist(home, 'the home directory', 'check --home; `claudette-server run` creates it')
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
  const connectionString = (c: ServerConfig): string => formatConnectionString(
    opts.connectHost !== undefined ? unbracket(opts.connectHost) : c.server.connect_host ?? defaultConnectHost(c.server.bind),
    c.server.port, c.auth.pairing_token)
  const connection = async (): Promise<{ connectionString: string, running: boolean }> => {
    const served = await askServer(home, 'connection')
    return served !== null
      ? { connectionString: served.connection_string, running: true }
      : { connectionString: connectionString(await cf.read()), running: false }
  }

  return {
    home,
    configFile: cf.file,
    config: () => cf.read(),
    connection,
    connectionString: async () => (await connection()).connectionString,
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
      await cf.setPairingToken(token)
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
