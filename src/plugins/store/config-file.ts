import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { parse, stringify, TomlError } from 'smol-toml'
import { connectHostProblem, unbracket } from '../../core/connect-host.js'
import { ConfigFileError } from '../../core/errors.js'
import { newToken, writeFileAtomic } from '../../core/files.js'
import type { ConfigFile, ServerConfig } from './types.js'

/**
 * server.toml parses and its other settings are fine, but the pairing token is missing or
 * invalid. `regenerate-token` repairs exactly this case (the message says so), keeping the rest.
 */
export class PairingTokenInvalidError extends ConfigFileError {
  constructor (file: string) {
    super(file, '[auth] pairing_token is missing or invalid (run `claudette-server regenerate-token` to create a new one)')
  }
}

export const CONFIG_FILE = 'server.toml'
export const DEFAULT_PORT = 7683
export const DEFAULT_BIND = '0.0.0.0'

export const defaultConfig = (): ServerConfig => ({
  server: { name: hostname(), port: DEFAULT_PORT, bind: DEFAULT_BIND },
  auth: { pairing_token: newToken() },
})

/** server.toml: read strictly (clear errors with line/column), written atomically with mode 0600. */
export function configFile (file: string): ConfigFile {
  return {
    file,
    async read (opts?: { allowInvalidToken?: boolean }): Promise<ServerConfig> {
      const text = await readFile(file, 'utf8')
      return parseConfig(file, text, opts)
    },
    async write (config: ServerConfig): Promise<void> {
      await writeFileAtomic(file, '# claudette-server configuration. Keep this file private: it holds the pairing token.\n' + stringify(config) + '\n', 0o600)
    },
  }
}

/** Reads the config, creating it with defaults (and a fresh pairing token) when missing. */
export async function loadOrCreateConfig (cf: ConfigFile): Promise<{ config: ServerConfig, created: boolean }> {
  try {
    return { config: await cf.read(), created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof ConfigFileError) throw err
      throw new ConfigFileError(cf.file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err })
    }
  }
  const config = defaultConfig()
  await cf.write(config)
  return { config, created: true }
}

/**
 * Parses and checks server.toml. With `allowInvalidToken` (only for `regenerate-token`, which
 * replaces it) a missing or invalid pairing token comes back as '' instead of an error.
 */
export function parseConfig (file: string, text: string, { allowInvalidToken = false } = {}): ServerConfig {
  let doc: Record<string, unknown>
  try {
    doc = parse(text) as Record<string, unknown>
  } catch (err) {
    // The file is left as it is: it may hold settings the operator wants to keep.
    const fix = 'fix the file, or delete it to recreate it with defaults and a new pairing token'
    if (err instanceof TomlError) throw new ConfigFileError(file, `invalid TOML at line ${err.line}, column ${err.column}: ${err.message.split('\n')[0]} (${fix})`, { cause: err })
    throw new ConfigFileError(file, `invalid TOML: ${(err as Error).message} (${fix})`, { cause: err })
  }
  const server = (doc.server ?? {}) as Record<string, unknown>
  const auth = (doc.auth ?? {}) as Record<string, unknown>
  const def = defaultConfig()
  const name = server.name ?? def.server.name
  const port = server.port ?? def.server.port
  const bind = server.bind ?? def.server.bind
  const worktreeBase = server.worktree_base_dir
  const authTimeout = server.auth_timeout
  const connectHost = server.connect_host
  const token = auth.pairing_token
  if (typeof name !== 'string' || name.trim() === '') throw new ConfigFileError(file, '[server] name must be a non-empty string')
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigFileError(file, '[server] port must be an integer from 0 to 65535')
  if (typeof bind !== 'string' || bind === '') throw new ConfigFileError(file, '[server] bind must be an address string')
  if (worktreeBase !== undefined && (typeof worktreeBase !== 'string' || worktreeBase.trim() === '' || worktreeBase.includes('\0'))) {
    throw new ConfigFileError(file, '[server] worktree_base_dir must be a non-empty path string')
  }
  if (authTimeout !== undefined && (typeof authTimeout !== 'number' || !Number.isFinite(authTimeout) || authTimeout < 1 || authTimeout > 3600)) {
    throw new ConfigFileError(file, '[server] auth_timeout must be a number of seconds from 1 to 3600')
  }
  if (connectHost !== undefined) {
    const problem = typeof connectHost === 'string' ? connectHostProblem(connectHost) : 'must be a string'
    if (problem !== null) throw new ConfigFileError(file, `[server] connect_host ${problem}`)
  }
  const tokenOk = typeof token === 'string' && token.length >= 16 && !token.includes('/')
  if (!tokenOk && !allowInvalidToken) throw new PairingTokenInvalidError(file)
  return {
    server: {
      name,
      port,
      bind,
      ...(worktreeBase !== undefined ? { worktree_base_dir: worktreeBase } : {}),
      ...(authTimeout !== undefined ? { auth_timeout: authTimeout } : {}),
      ...(connectHost !== undefined ? { connect_host: unbracket(connectHost as string) } : {}),
    },
    auth: { pairing_token: tokenOk ? token : '' },
  }
}
