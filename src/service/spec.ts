// What a service runs, independent of the service manager: the argv, the user, the PATH.
import { delimiter, dirname, resolve } from 'node:path'
import { expandTilde } from '../core/home.js'
import { ServiceUsageError } from './errors.js'

/**
 * Set in the service's environment (to `systemd` or `launchd`): the server's stdout goes to the
 * journal or a log file there, so its banner leaves the pairing token out.
 */
export const SERVICE_ENV = 'CLAUDETTE_SERVER_SERVICE'

export type ServicePlatform = 'linux' | 'darwin'
export type ServiceScope = 'user' | 'system'

export interface ServiceSpec {
  readonly scope: ServiceScope
  /** The whole command: absolute node, absolute CLI, `run`, then the server flags. */
  readonly argv: readonly string[]
  /** The account a system service runs as (none: root). */
  readonly user?: string
  /** PATH for the server and everything it starts. */
  readonly path?: string
  /** NoNewPrivileges (systemd). */
  readonly hardening: boolean
  readonly version: string
}

export interface ServiceSpecInput {
  readonly scope: ServiceScope
  /** Absolute path of the node binary (process.execPath). */
  readonly node: string
  /** Absolute path of the CLI script this installation runs. */
  readonly cli: string
  /** `--home` as given on the command line (else $CLAUDETTE_SERVER_HOME, else none: the service user's default). */
  readonly home?: string
  /** `--config` as given on the command line. */
  readonly config?: string
  /** The flags after `--`. */
  readonly serverArgs?: readonly string[]
  readonly user?: string
  readonly hardening?: boolean
  readonly env: NodeJS.ProcessEnv
  readonly version: string
}

// A POSIX account name (useradd's default rule, plus the upper case and dots some systems allow).
const ACCOUNT = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/

/** The account a system service runs as: `--user`, else the user who ran sudo, else none (root). */
export function serviceUser (scope: ServiceScope, explicit: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (scope === 'user') {
    if (explicit !== undefined) throw new ServiceUsageError('--user applies to --system services only (a user service runs as you)')
    return undefined
  }
  const user = explicit ?? (env.SUDO_USER !== undefined && env.SUDO_USER !== 'root' && env.SUDO_USER !== '' ? env.SUDO_USER : undefined)
  if (user !== undefined && !ACCOUNT.test(user)) throw new ServiceUsageError(`--user '${user}' is not an account name`)
  return user
}

/**
 * The PATH a service gets: the installing shell's (absolute entries, each once), with node's own
 * directory first if it is missing (scripts such as the claude CLI start with `#!/usr/bin/env node`).
 */
export function servicePath (node: string, env: NodeJS.ProcessEnv): string {
  const parts = (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).filter(p => p.startsWith('/'))
  return [...new Set([...(parts.includes(dirname(node)) ? [] : [dirname(node)]), ...parts])].join(delimiter)
}

export function serviceSpec (input: ServiceSpecInput): ServiceSpec {
  const home = input.home ?? (input.env.CLAUDETTE_SERVER_HOME !== undefined && input.env.CLAUDETTE_SERVER_HOME !== '' ? input.env.CLAUDETTE_SERVER_HOME : undefined)
  const serverArgs = [...input.serverArgs ?? []]
  // `service install -- run --port 1` means the same as `-- --port 1`.
  if (serverArgs[0] === 'run') serverArgs.shift()
  // A launchd plist (XML) cannot hold most of them, and no flag of the server needs one.
  const control = serverArgs.find(a => /[\x00-\x1f\x7f]/.test(a))
  if (control !== undefined) throw new ServiceUsageError(`the server flag ${JSON.stringify(control)} contains a control character (a tab, a newline, …)`)
  const first = serverArgs[0]
  if (first !== undefined && !first.startsWith('-')) throw new ServiceUsageError(`the words after -- are flags of \`claudette-server run\` (such as --port 7683), not '${first}'`)
  return {
    scope: input.scope,
    argv: [
      input.node, input.cli, 'run',
      // Absolute: a service does not start in the directory install ran in.
      ...(home !== undefined ? ['--home', resolve(expandTilde(home))] : []),
      ...(input.config !== undefined ? ['--config', resolve(expandTilde(input.config))] : []),
      ...serverArgs,
    ],
    user: serviceUser(input.scope, input.user, input.env),
    path: servicePath(input.node, input.env),
    hardening: input.hardening ?? true,
    version: input.version,
  }
}

/** The value of `--home`/`--config` in a service's argv (`--home X` or `--home=X`), or undefined. */
export function argvOption (argv: readonly string[], name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === name && i + 1 < argv.length) value = argv[++i]
    else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1)
  }
  return value
}
