import type BetterSqlite3 from 'better-sqlite3'
import { token } from '../../core/tokens.js'

export type Database = BetterSqlite3.Database

/** One migration step: SQL text, or a function for steps SQL alone cannot express. */
export type Migration = string | ((db: Database) => void)

/** The server's embedded database (SQLite, WAL) with per-owner versioned migrations. */
export interface Store {
  readonly db: Database
  readonly file: string
  /**
   * Applies the owner's migrations that have not run yet, each in its own transaction.
   * Steps are append-only: never edit or reorder a released step.
   */
  migrate (owner: string, steps: readonly Migration[]): void
  /** SQLite's data_version: changes when another process commits (for live reload). */
  dataVersion (): number
  /** The connection's default: FULL (fsync per commit) or NORMAL (WAL; see openStore). */
  readonly synchronous: 'FULL' | 'NORMAL'
  /**
   * Runs `fn` in an IMMEDIATE transaction committed with synchronous=FULL: on disk before this
   * returns, power loss included. For the few writes that must never be undone (device sessions).
   */
  durably<T> (fn: () => T): T
}

/** A duration in server.toml: seconds as a number, or a string such as "90s", "10m", "1h", "2d", "500ms". */
export type ConfigDuration = number | string

/**
 * server.toml as parsed: the keys as written (durations kept in their written form; see
 * `fileSettings` for the values in the units the server uses). Every key is documented in
 * docs/configuration.md and described by CONFIG_KEYS.
 */
export interface ServerConfig {
  server: {
    name: string
    port: number
    bind: string
    connect_host?: string
    /**
     * Where new workspaces' worktrees are created (relative paths and `~` are resolved against
     * the home dir; default `<home>/workspaces`). Clients can read it but never write it.
     */
    worktree_base_dir?: string
    auth_timeout?: ConfigDuration
    tls_handshake_timeout?: ConfigDuration
    max_connections?: number
    max_connections_per_ip?: number
  }
  auth: {
    pairing_token: string
    pairing_ttl?: ConfigDuration
    single_use_pairing?: boolean
    max_failures_per_ip?: number
    lockout?: ConfigDuration
  }
  mdns?: {
    enabled?: boolean
    interface?: string
    hide_version?: boolean
  }
}

/**
 * server.toml's settings in the server's own units (durations in ms); a key missing from the file
 * is undefined (the server's default applies), except name, port and bind.
 */
export interface FileSettings {
  name: string
  port: number
  bind: string
  connectHost?: string
  worktreeBaseDir?: string
  authTimeoutMs?: number
  tlsHandshakeTimeoutMs?: number
  maxConnections?: number
  maxConnectionsPerIp?: number
  pairingTtlMs?: number
  singleUsePairing?: boolean
  maxFailuresPerIp?: number
  lockoutMs?: number
  mdnsEnabled?: boolean
  mdnsInterface?: string
  mdnsHideVersion?: boolean
}

/** A problem that does not stop the file from being used (an unknown key or table). */
export interface ConfigWarning {
  /** The unknown name as written, e.g. `server.nmae` or `sever`. */
  readonly key: string
  readonly line?: number
  /** The closest known key, when one is close enough to be a likely typo. */
  readonly suggestion?: string
  readonly message: string
}

export interface ConfigFile {
  readonly file: string
  /** Strict read: any problem is a ConfigFileError naming the file (and the line of the key). */
  read (opts?: { allowInvalidToken?: boolean }): Promise<ServerConfig>
  /** Like read(), also returning the warnings (unknown keys and tables) for the caller to report. */
  load (opts?: { allowInvalidToken?: boolean }): Promise<{ config: ServerConfig, warnings: ConfigWarning[], keys: string[] }>
  write (config: ServerConfig): Promise<void>
  /**
   * Sets one key (`section.key`, e.g. `server.port`) to a value checked by the same schema,
   * editing the file in place (comments and other keys stay as they are). Returns the new config.
   */
  set (name: string, value: unknown): Promise<ServerConfig>
  /**
   * Saves a new pairing token the same way (only its line changes), for the rotations the server
   * and `regenerate-token` make; `set` refuses the token on purpose.
   */
  setPairingToken (token: string): Promise<void>
}

export const STORE = {
  Store: token<Store>('Store'),
  Config: token<ConfigFile>('ConfigFile'),
} as const
