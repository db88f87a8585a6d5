// The launchd job that runs the server on macOS: a LaunchAgent (the user's, started at login) or
// a LaunchDaemon (--system, started at boot). Pure functions; the plist XML is built by the
// `plist` package, so every string is escaped by an XML builder rather than a template. It is
// imported on first use: every CLI command would otherwise pay for loading its XML libraries.
import { join } from 'node:path'
import type { PlistValue } from 'plist'
import { SERVICE_ENV, type ServiceScope, type ServiceSpec } from './spec.js'

export const LAUNCHD_LABEL = 'dev.claudette.server'

export function launchdPlistPath (scope: ServiceScope, homedir: string): string {
  return scope === 'system'
    ? join('/Library/LaunchDaemons', `${LAUNCHD_LABEL}.plist`)
    : join(homedir, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`)
}

/** Where the job's stdout and stderr go (launchd has no journal for them). */
export function launchdLogPath (scope: ServiceScope, homedir: string): string {
  return scope === 'system' ? '/Library/Logs/claudette-server.log' : join(homedir, 'Library', 'Logs', 'claudette-server.log')
}

/** The launchd domain of the job: the logged-in user's GUI session, or the system. */
export const launchdDomain = (scope: ServiceScope, uid: number): string => scope === 'system' ? 'system' : `gui/${uid}`

export async function launchdPlist (spec: ServiceSpec, homedir: string): Promise<string> {
  const { build } = await import('plist')
  const log = launchdLogPath(spec.scope, homedir)
  const job: Record<string, PlistValue> = {
    Label: LAUNCHD_LABEL,
    ProgramArguments: [...spec.argv],
    RunAtLoad: true,
    // Started again when it exits with a failure (or a signal), not after a clean stop.
    KeepAlive: { SuccessfulExit: false },
    // At most one start per 10 s when it keeps failing.
    ThrottleInterval: 10,
    // SIGTERM, then SIGKILL after this many seconds: above the server's 5 s shutdown deadline.
    ExitTimeOut: 10,
    StandardOutPath: log,
    StandardErrorPath: log,
    ...(spec.scope === 'user' ? { WorkingDirectory: homedir } : {}),
    ...(spec.scope === 'system' && spec.user !== undefined ? { UserName: spec.user } : {}),
    // CLAUDETTE_SERVER_SERVICE tells the server its stdout goes to a log file: the banner leaves
    // the pairing token out.
    EnvironmentVariables: { ...(spec.path !== undefined ? { PATH: spec.path } : {}), [SERVICE_ENV]: 'launchd' },
  }
  return build(job) + '\n'
}

async function parseJob (xml: string): Promise<Record<string, unknown> | null> {
  const { parse } = await import('plist')
  try {
    const job = parse(xml)
    return job !== null && typeof job === 'object' && !Array.isArray(job) ? job as Record<string, unknown> : null
  } catch {
    return null
  }
}

/** A plist's ProgramArguments (for `service status`, to find the service's --home), or null. */
export async function launchdPlistArgv (xml: string): Promise<string[] | null> {
  const args = (await parseJob(xml))?.ProgramArguments
  return Array.isArray(args) && args.every(a => typeof a === 'string') ? args : null
}

/** A plist's UserName, or null. */
export async function launchdPlistUser (xml: string): Promise<string | null> {
  const user = (await parseJob(xml))?.UserName
  return typeof user === 'string' ? user : null
}
