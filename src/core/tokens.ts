import type { FastifyBaseLogger } from 'fastify'
import type { DependencyContainer, Token } from './di.js'
import type { ChildProcesses } from './process-runner.js'
import type { Authenticator } from './rpc/auth.js'
import type { ConnectionHub, RpcRegistry } from './rpc/types.js'

export type { Token } from './di.js'
export const token = <T>(name: string): Token<T> => Symbol(name) as Token<T>
export const resolve = <T>(di: DependencyContainer, t: Token<T>): T => di.resolve<T>(t)

/** Facts about the running server that several plugins and the RPC layer need. */
export interface ServerFacts {
  readonly version: string
  readonly home: string
  /** Display name (server.toml `[server] name`, or the `name` option). */
  name: string
  /**
   * The host the connection string and mDNS give out (an IPv6 literal without brackets): the
   * `connectHost` option, else server.toml's `connect_host`, else the bind address when it is
   * a specific one, else the host name.
   */
  readonly connectHost: string
}

/** Tokens core itself provides. Plugins declare their own tokens in their types.ts. */
export const CORE = {
  Log: token<FastifyBaseLogger>('Log'),
  Rpc: token<RpcRegistry>('RpcRegistry'),
  Hub: token<ConnectionHub>('ConnectionHub'),
  Authenticator: token<Authenticator>('Authenticator'),
  Facts: token<ServerFacts>('ServerFacts'),
  /** Runs short-lived child processes (git) off the main thread; one per server. */
  ProcessRunner: token<ChildProcesses>('ProcessRunner'),
} as const
