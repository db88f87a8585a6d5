// The systemd unit that runs the server, and the quoting of its command line. Pure functions: the
// manager (manager.ts) writes the text and runs systemctl.
//
// Quoting follows systemd.service(5) "Command lines" and systemd.unit(5) "Specifiers": the line
// is split into words (double quotes, C-style escapes), each word is then expanded for
// specifiers (`%%` is a literal `%`), and at start-up `$$` in a word is a literal `$` (`$NAME`
// would be an environment variable). A lone `;` separates commands unless written `\;`.
import { join } from 'node:path'
import { SERVICE_ENV, type ServiceSpec } from './spec.js'

export const SYSTEMD_UNIT_NAME = 'claudette-server.service'

/** The unit file's path: the user's `$XDG_CONFIG_HOME/systemd/user` (default ~/.config), or /etc/systemd/system. */
export function systemdUnitPath (scope: 'user' | 'system', env: NodeJS.ProcessEnv, homedir: string): string {
  if (scope === 'system') return join('/etc/systemd/system', SYSTEMD_UNIT_NAME)
  const config = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir, '.config')
  return join(config, 'systemd', 'user', SYSTEMD_UNIT_NAME)
}

const PLAIN_WORD = /^[A-Za-z0-9_@+=:,./-]+$/

/** C-style escapes for what may not appear raw inside a double-quoted systemd word. */
function cEscape (s: string): string {
  let r = ''
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '\\' || ch === '"') r += '\\' + ch
    else if (ch === '\n') r += '\\n'
    else if (ch === '\t') r += '\\t'
    else if (ch === '\r') r += '\\r'
    else if (c < 0x20 || c === 0x7f) r += '\\x' + c.toString(16).padStart(2, '0')
    else r += ch
  }
  return r
}

/** One word of an Exec*= line: the word systemd passes to the program is exactly `arg`. */
export function systemdExecWord (arg: string): string {
  if (arg.includes('\0')) throw new TypeError('a command-line argument cannot contain a NUL character')
  const literal = arg.replaceAll('%', '%%').replaceAll('$', '$$$$') // '$$$$' is the replacement text '$$'
  if (arg === ';') return '\\;'
  return PLAIN_WORD.test(arg) ? literal : `"${cEscape(literal)}"`
}

/** An Exec*= value from an argv. */
export const systemdExecLine = (argv: readonly string[]): string => argv.map(systemdExecWord).join(' ')

/** One `NAME=value` assignment of Environment= (specifiers are expanded there, `$` is not special). */
export const systemdEnvironmentWord = (name: string, value: string): string =>
  `"${cEscape(`${name}=${value}`.replaceAll('%', '%%'))}"`

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', s: ' ', '\\': '\\', '"': '"', "'": "'" }

/**
 * The argv systemd makes of an Exec*= value (the inverse of systemdExecLine, for lines it wrote):
 * `%%` and `$$` become `%` and `$`, quotes and C escapes are undone. Other specifiers,
 * `$NAME` and `;` separators are not expanded: such a line was not written by this module.
 */
export function parseSystemdExecLine (line: string): string[] {
  const words: string[] = []
  let i = 0
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++
    if (i >= line.length) break
    let word = ''
    let quote: string | null = null
    for (; i < line.length; i++) {
      const ch = line[i]!
      if (quote === null && /\s/.test(ch)) break
      if (ch === '\\') {
        const next = line[i + 1]
        if (next === undefined) throw new SyntaxError('a command line cannot end with a backslash')
        if (next === 'x') { word += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16)); i += 3; continue }
        if (next === ';' && quote === null) { word += ';'; i++; continue }
        const simple = SIMPLE_ESCAPES[next]
        if (simple === undefined) throw new SyntaxError(`unknown escape \\${next}`)
        word += simple
        i++
        continue
      }
      if (quote !== null && ch === quote) { quote = null; continue }
      if (quote === null && (ch === '"' || ch === "'")) { quote = ch; continue }
      word += ch
    }
    if (quote !== null) throw new SyntaxError('unterminated quote')
    words.push(word.replace(/%(.)/gs, (m, c: string) => c === '%' ? '%' : m).replaceAll('$$', '$'))
  }
  return words
}

/** The unit's text. */
export function systemdUnit (spec: ServiceSpec): string {
  const system = spec.scope === 'system'
  const lines = [
    `# Runs claudette-server (written by \`claudette-server service install\`, v${spec.version}).`,
    '# Install again to change it; `claudette-server service uninstall` removes it. See docs/operations.md.',
    '[Unit]',
    'Description=Claudette remote workspace server',
    ...(system ? ['Wants=network-online.target', 'After=network-online.target'] : []),
    // At most 5 starts in 5 minutes: a server that cannot start (a port in use, a broken home)
    // stops being retried instead of filling the journal.
    'StartLimitIntervalSec=300',
    'StartLimitBurst=5',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${systemdExecLine(spec.argv)}`,
    // SIGHUP makes the server reload server.toml.
    'ExecReload=/bin/kill -HUP $MAINPID',
    ...(system && spec.user !== undefined ? [`User=${spec.user}`] : []),
    // Git, shells and agents start in the user's home unless a workspace says otherwise.
    'WorkingDirectory=~',
    // The PATH of the installing shell: the server runs git, shells and the claude CLI, which
    // may live in ~/.local/bin, an nvm directory and the like, unknown to systemd's default PATH.
    ...(spec.path !== undefined ? [`Environment=${systemdEnvironmentWord('PATH', spec.path)}`] : []),
    // Tells the server its stdout goes to the journal: the banner leaves the pairing token out.
    `Environment=${systemdEnvironmentWord(SERVICE_ENV, 'systemd')}`,
    'Restart=on-failure',
    'RestartSec=5s',
    // The server stops on SIGTERM within its 5 s shutdown deadline; SIGKILL only after that.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=10s',
    // The default, written out because it is meant: stopping, restarting or re-installing the
    // service ends every process it started, tmux servers started from its terminals included,
    // so none outlives it (`systemd-run --user --scope tmux …` starts one outside, docs/operations.md).
    'KillMode=control-group',
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=claudette-server',
    // Hardening that leaves the server's work alone: git, shells in ptys and agents run with the
    // user's rights in the user's home (so no ProtectHome, ProtectSystem or PrivateTmp).
    // NoNewPrivileges also keeps setuid programs from gaining rights in terminals: sudo, su and
    // rootless podman (its setuid newuidmap) fail there; `--no-hardening` leaves it out.
    ...(spec.hardening ? ['NoNewPrivileges=yes'] : []),
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ]
  return lines.join('\n')
}

/** The argv of a unit's ExecStart= (for `service status`, to find the service's --home), or null. */
export function systemdUnitArgv (unit: string): string[] | null {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1]
  if (line === undefined) return null
  try { return parseSystemdExecLine(line) } catch { return null }
}
