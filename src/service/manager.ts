// Installs, removes and inspects the service through the platform's manager (systemctl or
// launchctl). The commands run through an injectable runner; the host (platform, scope, user,
// directories) is passed in, so one manager can write the other platform's file in tests.
import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, delimiter, dirname, join } from 'node:path'
import { writeFileAtomic } from '../core/files.js'
import { ServiceCommandFailedError, ServiceNeedsRootError, ServiceToolMissingError } from './errors.js'
import { LAUNCHD_LABEL, launchdDomain, launchdLogPath, launchdPlist, launchdPlistArgv, launchdPlistPath, launchdPlistUser } from './launchd.js'
import type { ServicePlatform, ServiceScope, ServiceSpec } from './spec.js'
import { SYSTEMD_UNIT_NAME, systemdUnit, systemdUnitArgv, systemdUnitPath } from './systemd.js'

export interface CommandResult {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}
/** Runs a program to completion. Resolves whatever its exit code; rejects only when it cannot start. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandResult>

/** The real runner: no shell, 60 s at most. */
export const execCommand: CommandRunner = (file, args) => new Promise((resolve, reject) => {
  execFile(file, [...args], { timeout: 60_000, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
    if (err !== null && typeof err.code === 'string') { reject(err); return }
    resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
  })
})

export interface ServiceHost {
  readonly platform: ServicePlatform
  readonly scope: ServiceScope
  /** PATH (to find systemctl/launchctl) and XDG_CONFIG_HOME. */
  readonly env: NodeJS.ProcessEnv
  /** The invoking user's home (user units and agents, the macOS log file). */
  readonly homedir: string
  /** The invoking user's uid (launchd's gui/<uid> domain; 0 may install --system). */
  readonly uid: number
  /** The invoking user's name (the linger check). */
  readonly username: string
  readonly run?: CommandRunner
  /** The directory the unit or plist goes in; default the platform's for the scope. */
  readonly dir?: string
  /** Directory that holds one file per lingering user (systemd-logind). */
  readonly lingerDir?: string
}

interface Common {
  readonly platform: ServicePlatform
  readonly scope: ServiceScope
  /** The systemd unit name or the launchd label. */
  readonly name: string
  readonly file: string
}

export interface InstallResult extends Common {
  /** The commands run, in order, as a shell would show them. */
  readonly commands: string[]
  /** Where the logs are: a command (journalctl …) or a file. */
  readonly logs: string
  /** systemd user units: whether the user's services keep running after logout; null elsewhere. */
  readonly linger: boolean | null
}

export interface UninstallResult extends Common {
  /** False when there was nothing to remove. */
  readonly removed: boolean
  readonly commands: string[]
  /** launchd: the log file, left in place (it is the user's data); null for systemd (the journal). */
  readonly logs: string | null
}

export interface ServiceStatus extends Common {
  readonly installed: boolean
  /** Starts at boot (system) or login (user). */
  readonly enabled: boolean
  readonly running: boolean
  /** The manager's word for it: systemd's ActiveState (active, inactive, failed, …), launchd's state; null when not installed. */
  readonly state: string | null
  readonly pid: number | null
  /** The installed command line (to find its --home), null when not installed or unreadable. */
  readonly argv: string[] | null
  /**
   * The account a system service runs as: User= or UserName, else root (a system service without
   * one runs as root); null for a user service (it runs as the user who installed it).
   */
  readonly user: string | null
}

const shellWord = (a: string): string => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`
const commandLine = (tool: string, args: readonly string[]): string => [tool, ...args].map(shellWord).join(' ')

export class ServiceManager {
  readonly #host: ServiceHost
  readonly #run: CommandRunner
  constructor (host: ServiceHost) {
    this.#host = host
    this.#run = host.run ?? execCommand
  }

  get name (): string { return this.#host.platform === 'linux' ? SYSTEMD_UNIT_NAME : LAUNCHD_LABEL }

  get file (): string {
    const h = this.#host
    const file = h.platform === 'linux' ? systemdUnitPath(h.scope, h.env, h.homedir) : launchdPlistPath(h.scope, h.homedir)
    return h.dir !== undefined ? join(h.dir, basename(file)) : file
  }

  /** The unit or plist text for this spec (what install writes, what --print shows). */
  async render (spec: ServiceSpec): Promise<string> {
    return this.#host.platform === 'linux' ? systemdUnit(spec) : await launchdPlist(spec, this.#host.homedir)
  }

  async install (spec: ServiceSpec): Promise<InstallResult> {
    this.#requireRoot()
    return this.#host.platform === 'linux' ? this.#installSystemd(spec) : this.#installLaunchd(spec)
  }

  async uninstall (): Promise<UninstallResult> {
    this.#requireRoot()
    if (!await exists(this.file)) return { ...this.#common(), removed: false, commands: [], logs: this.#logFile }
    return this.#host.platform === 'linux' ? this.#uninstallSystemd() : this.#uninstallLaunchd()
  }

  async status (): Promise<ServiceStatus> {
    const text = await readFile(this.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null
      throw err
    })
    if (text === null) return { ...this.#common(), installed: false, enabled: false, running: false, state: null, pid: null, argv: null, user: null }
    return this.#host.platform === 'linux' ? this.#statusSystemd(text) : this.#statusLaunchd(text)
  }

  #common (): Common {
    return { platform: this.#host.platform, scope: this.#host.scope, name: this.name, file: this.file }
  }

  get #logFile (): string | null {
    return this.#host.platform === 'darwin' ? launchdLogPath(this.#host.scope, this.#host.homedir) : null
  }

  /** The account named in a unit or plist; for a system service that names none, root. */
  #systemUser (named: string | null): string | null {
    return this.#host.scope === 'system' ? named ?? 'root' : named
  }

  #requireRoot (): void {
    if (this.#host.scope === 'system' && this.#host.uid !== 0) throw new ServiceNeedsRootError(this.file)
  }

  /** The absolute path of systemctl/launchctl on PATH. */
  async #tool (): Promise<string> {
    const name = this.#host.platform === 'linux' ? 'systemctl' : 'launchctl'
    for (const dir of (this.#host.env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue
      const file = join(dir, name)
      if (await access(file, constants.X_OK).then(() => true, () => false)) return file
    }
    throw new ServiceToolMissingError(name, this.#host.platform === 'linux'
      ? 'this system does not run systemd. `claudette-server service install --print` shows the unit; run `claudette-server run` under your own service manager'
      : 'launchd is the macOS service manager; is this macOS?')
  }

  /** Runs the tool; a failure (non-zero exit) is an error with its stderr unless `tolerate`. */
  async #exec (tool: string, args: readonly string[], commands: string[] | null, tolerate = false): Promise<CommandResult> {
    const shown = commandLine(tool.split('/').pop()!, args)
    let r: CommandResult
    try {
      r = await this.#run(tool, args)
    } catch (err) {
      throw new ServiceCommandFailedError(shown, (err as NodeJS.ErrnoException).code ?? 'could not start', (err as Error).message)
    }
    if (r.code !== 0 && !tolerate) throw new ServiceCommandFailedError(shown, r.code === null ? 'killed' : `exit ${r.code}`, this.#explain(r.stderr.trim()))
    if (commands !== null && r.code === 0) commands.push(shown)
    return r
  }

  #explain (stderr: string): string {
    const h = this.#host
    if (h.platform === 'linux' && h.scope === 'user' && /bus|XDG_RUNTIME_DIR/i.test(stderr)) {
      return `${stderr} (systemctl --user needs your login session: log in as ${h.username} directly rather than through su/sudo, ` +
        `or install a system service with sudo and --system)`
    }
    return stderr
  }

  // systemd

  get #scopeArgs (): string[] { return this.#host.scope === 'user' ? ['--user'] : [] }

  async #installSystemd (spec: ServiceSpec): Promise<InstallResult> {
    const systemctl = await this.#tool()
    const s = this.#scopeArgs
    const commands: string[] = []
    // Installing over a running service restarts it, so the new command line takes effect.
    const wasActive = await exists(this.file) &&
      (await this.#exec(systemctl, [...s, 'is-active', this.name], null, true)).stdout.trim() === 'active'
    await mkdir(dirname(this.file), { recursive: true })
    await writeFileAtomic(this.file, await this.render(spec), 0o644)
    await this.#exec(systemctl, [...s, 'daemon-reload'], commands)
    // Earlier failed starts (a crash loop) leave the unit failed with its start limit hit, and
    // `enable --now` and `restart` would then be refused: forget them. It fails harmlessly for a
    // unit that has no such state, so its failure is tolerated.
    await this.#exec(systemctl, [...s, 'reset-failed', this.name], commands, true)
    await this.#exec(systemctl, [...s, 'enable', '--now', this.name], commands)
    if (wasActive) await this.#exec(systemctl, [...s, 'restart', this.name], commands)
    const linger = this.#host.scope === 'user'
      ? await exists(join(this.#host.lingerDir ?? '/var/lib/systemd/linger', this.#host.username))
      : null
    return { ...this.#common(), commands, logs: `journalctl ${s.join(' ')}${s.length > 0 ? ' ' : ''}-u ${this.name}`, linger }
  }

  async #uninstallSystemd (): Promise<UninstallResult> {
    const systemctl = await this.#tool()
    const s = this.#scopeArgs
    const commands: string[] = []
    await this.#exec(systemctl, [...s, 'disable', '--now', this.name], commands)
    await rm(this.file, { force: true })
    await this.#exec(systemctl, [...s, 'daemon-reload'], commands)
    // Forgets a failed state, so `systemctl --failed` does not keep listing a removed unit.
    await this.#exec(systemctl, [...s, 'reset-failed', this.name], commands, true)
    return { ...this.#common(), removed: true, commands, logs: null }
  }

  async #statusSystemd (text: string): Promise<ServiceStatus> {
    const systemctl = await this.#tool()
    const s = this.#scopeArgs
    // is-enabled and is-active exit non-zero for "disabled" and "inactive": only an empty answer is a failure.
    const answer = async (args: string[]): Promise<string> => {
      const r = await this.#exec(systemctl, [...s, ...args], null, true)
      const word = r.stdout.trim().split('\n')[0]!.trim()
      if (word === '') throw new ServiceCommandFailedError(commandLine('systemctl', [...s, ...args]), r.code === null ? 'killed' : `exit ${r.code}`, this.#explain(r.stderr.trim()))
      return word
    }
    const enabled = await answer(['is-enabled', this.name])
    const state = await answer(['is-active', this.name])
    const running = state === 'active' || state === 'reloading'
    const pid = running ? Number(await answer(['show', '--property=MainPID', '--value', this.name])) : 0
    return {
      ...this.#common(),
      installed: true,
      enabled: enabled === 'enabled' || enabled === 'enabled-runtime',
      running,
      state,
      pid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
      argv: systemdUnitArgv(text),
      user: this.#systemUser(/^User=(.+)$/m.exec(text)?.[1] ?? null),
    }
  }

  // launchd

  get #domain (): string { return launchdDomain(this.#host.scope, this.#host.uid) }
  get #target (): string { return `${this.#domain}/${LAUNCHD_LABEL}` }

  async #installLaunchd (spec: ServiceSpec): Promise<InstallResult> {
    const launchctl = await this.#tool()
    const commands: string[] = []
    // A loaded job keeps its old definition: unload it before writing the new one.
    if ((await this.#exec(launchctl, ['print', this.#target], null, true)).code === 0) {
      await this.#exec(launchctl, ['bootout', this.#target], commands, true)
    }
    const log = launchdLogPath(this.#host.scope, this.#host.homedir)
    await mkdir(dirname(this.file), { recursive: true })
    await mkdir(dirname(log), { recursive: true })
    await writeFileAtomic(this.file, await this.render(spec), 0o644)
    await createPrivateFile(log)
    // Clears a "disabled" override left by `launchctl disable` or `unload -w`.
    await this.#exec(launchctl, ['enable', this.#target], commands, true)
    const boot = await this.#exec(launchctl, ['bootstrap', this.#domain, this.file], commands, true)
    if (boot.code !== 0) {
      // bootstrap exists since macOS 10.10; `load -w` is the older spelling and still works.
      const load = await this.#exec(launchctl, ['load', '-w', this.file], commands, true)
      if (load.code !== 0) {
        throw new ServiceCommandFailedError(commandLine('launchctl', ['bootstrap', this.#domain, this.file]), `exit ${boot.code}`,
          [boot.stderr.trim(), `then \`launchctl load -w\`: ${load.stderr.trim() || `exit ${load.code}`}`].filter(x => x !== '').join('; '))
      }
    }
    return { ...this.#common(), commands, logs: log, linger: null }
  }

  async #uninstallLaunchd (): Promise<UninstallResult> {
    const launchctl = await this.#tool()
    const commands: string[] = []
    const out = await this.#exec(launchctl, ['bootout', this.#target], commands, true)
    if (out.code !== 0) {
      const unload = await this.#exec(launchctl, ['unload', '-w', this.file], commands, true)
      // Neither worked: fine if the job was not loaded, an error if it still is.
      if (unload.code !== 0 && (await this.#exec(launchctl, ['print', this.#target], null, true)).code === 0) {
        throw new ServiceCommandFailedError(commandLine('launchctl', ['bootout', this.#target]), `exit ${out.code}`, out.stderr.trim())
      }
    }
    await rm(this.file, { force: true })
    // The log file stays: it is the user's data, not part of the service's definition.
    return { ...this.#common(), removed: true, commands, logs: this.#logFile }
  }

  async #statusLaunchd (text: string): Promise<ServiceStatus> {
    const launchctl = await this.#tool()
    const job = await this.#exec(launchctl, ['print', this.#target], null, true)
    const loaded = job.code === 0
    const state = loaded ? /^\s*state = (\S+)/m.exec(job.stdout)?.[1] ?? 'loaded' : 'not loaded'
    const pid = loaded ? Number(/^\s*pid = (\d+)/m.exec(job.stdout)?.[1] ?? 0) : 0
    const overrides = await this.#exec(launchctl, ['print-disabled', this.#domain], null, true)
    const label = LAUNCHD_LABEL.replaceAll('.', '\\.')
    const disabled = new RegExp(`"${label}" => (true|disabled)`).test(overrides.stdout)
    return {
      ...this.#common(),
      installed: true,
      enabled: !disabled,
      running: state === 'running',
      state,
      pid: pid > 0 ? pid : null,
      argv: await launchdPlistArgv(text),
      user: this.#systemUser(await launchdPlistUser(text)),
    }
  }
}

/**
 * Creates an empty file of mode 0600 unless one exists (whose mode is then the owner's choice):
 * launchd would create the log world-readable, and the server's output is its user's business.
 */
async function createPrivateFile (file: string): Promise<void> {
  await writeFile(file, '', { flag: 'wx', mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })
}

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false)
