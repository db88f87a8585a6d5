import { homedir } from 'node:os'
import { resolve } from 'node:path'
import envPaths from 'env-paths'

/**
 * The state directory: explicit option, else $CLAUDETTE_SERVER_HOME, else the platform
 * config dir (~/.config/claudette-server, ~/Library/Application Support/claudette-server,
 * %APPDATA%\claudette-server).
 */
export function resolveServerHome (explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(expandTilde(explicit))
  if (env.CLAUDETTE_SERVER_HOME) return resolve(expandTilde(env.CLAUDETTE_SERVER_HOME))
  return envPaths('claudette-server', { suffix: '' }).config
}

export function expandTilde (p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : p
}
