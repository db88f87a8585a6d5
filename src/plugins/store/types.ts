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

/** server.toml as parsed. */
export interface ServerConfig {
  /**
   * `worktree_base_dir`: where new workspaces' worktrees are created (relative paths and `~` are
   * resolved against the home dir; default `<home>/workspaces`). Clients can read it but never
   * write it (get_app_setting / set_app_setting). `auth_timeout`: seconds from accepting a
   * connection to its successful authentication (createServer's authTimeoutMs and the CLI's
   * --auth-timeout win over it; default 10). `connect_host`: the host the connection string, the
   * QR code and mDNS give out (createServer's connectHost and --connect-host win over it; default
   * the bind address when it is a specific one, else the host name).
   */
  server: { name: string, port: number, bind: string, worktree_base_dir?: string, auth_timeout?: number, connect_host?: string }
  auth: { pairing_token: string }
}

export interface ConfigFile {
  readonly file: string
  /** Strict read: any problem is a ConfigFileError naming the file (line/column for TOML errors). */
  read (opts?: { allowInvalidToken?: boolean }): Promise<ServerConfig>
  write (config: ServerConfig): Promise<void>
}

export const STORE = {
  Store: token<Store>('Store'),
  Config: token<ConfigFile>('ConfigFile'),
} as const
