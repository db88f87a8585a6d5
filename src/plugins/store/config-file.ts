import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { parse, stringify, TomlError } from 'smol-toml'
import { Type, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { ConfigError, ConfigFileError } from '../../core/errors.js'
import { newToken, writeFileAtomic } from '../../core/files.js'
import { connectHostProblem, unbracket } from '../../core/connect-host.js'
import { isHostAddress } from '../../core/host.js'
import type { ConfigFile, ConfigWarning, FileSettings, ServerConfig } from './types.js'

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
const HEADER = '# claudette-server configuration. Keep this file private: it holds the pairing token.\n'

export const defaultConfig = (): ServerConfig => ({
  server: { name: hostname(), port: DEFAULT_PORT, bind: DEFAULT_BIND },
  auth: { pairing_token: newToken() },
})

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION_TEXT = /^(\d+)(ms|s|m|h|d)?$/

/** A server.toml duration in ms: a number is seconds; a string is "500ms", "90s", "10m", "1h", "2d" (bare digits: seconds). */
export function durationMs (value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000)
  const m = DURATION_TEXT.exec(value.trim())
  return m ? Number(m[1]) * DURATION_UNITS[m[2] ?? 's']! : NaN
}

type Section = 'server' | 'auth' | 'mdns'
type Kind = 'string' | 'integer' | 'boolean' | 'duration'

/** One key of server.toml: its schema, what the error says it must be, and whether a running server applies it on SIGHUP. */
export interface ConfigKey {
  readonly section: Section
  readonly key: string
  /** `section.key`, the name `config get/set` use. */
  readonly name: string
  readonly kind: Kind
  readonly schema: TSchema
  /** Finishes the check the schema cannot express (a host name, a duration's range). */
  readonly refine?: (value: never) => boolean
  /** "must be …" text of the error. */
  readonly expect: string
  /** The default, as documentation text. */
  readonly default: string
  /** Applied by a running server on SIGHUP (else at the next start). */
  readonly live: boolean
  /** The server CLI flag that overrides it for one run, if any. */
  readonly flag?: string
  /** The FileSettings field it fills (the pairing token has none: the auth plugin owns it). */
  readonly setting?: keyof FileSettings
  readonly description: string
  /** Never printed by `config list/get`. */
  readonly secret?: boolean
}

const durationSchema = Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: DURATION_TEXT.source })])
const durationIn = (minMs: number, maxMs: number) => (v: number | string): boolean => {
  const ms = durationMs(v)
  return Number.isFinite(ms) && ms >= minMs && ms <= maxMs
}
const DAY = 86_400_000
const nonEmpty = (v: string): boolean => v.trim() !== ''

function key (section: Section, name: string, spec: Omit<ConfigKey, 'section' | 'key' | 'name' | 'schema'> & { schema?: TSchema }): ConfigKey {
  const schema = spec.schema ?? (spec.kind === 'duration' ? durationSchema : spec.kind === 'boolean' ? Type.Boolean() : spec.kind === 'integer' ? Type.Integer() : Type.String())
  return { ...spec, section, key: name, name: `${section}.${name}`, schema }
}

/** Every key server.toml knows, in file order. docs/configuration.md lists the same. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  key('server', 'name', { kind: 'string', schema: Type.String({ minLength: 1, maxLength: 63 }), refine: nonEmpty, expect: 'a non-empty string (at most 63 characters)', default: 'the host name', live: true, flag: '--name', setting: 'name', description: 'display name shown to clients (server_info, authenticate, mDNS)' }),
  key('server', 'port', { kind: 'integer', schema: Type.Integer({ minimum: 0, maximum: 65535 }), expect: 'an integer from 0 to 65535', default: '7683', live: false, flag: '--port', setting: 'port', description: 'TCP port to listen on; 0 picks a free one' }),
  key('server', 'bind', { kind: 'string', schema: Type.String({ minLength: 1 }), refine: isHostAddress, expect: 'an address string (an IP address or a host name)', default: '0.0.0.0', live: false, flag: '--bind', setting: 'bind', description: 'address to listen on' }),
  key('server', 'connect_host', { kind: 'string', schema: Type.String({ minLength: 1, maxLength: 255 }), refine: (v: string) => connectHostProblem(v) === null, expect: 'a host name or IP address, without a scheme, port or path (an IPv6 address may be in brackets)', default: 'the bind address when it is a specific address, else the host name', live: false, flag: '--connect-host', setting: 'connectHost', description: 'host put in the connection string, the QR code and mDNS' }),
  key('server', 'worktree_base_dir', { kind: 'string', schema: Type.String({ minLength: 1, pattern: '^[^\\u0000]*$' }), refine: nonEmpty, expect: 'a non-empty path string', default: '<home>/workspaces', live: false, flag: '--worktree-base-dir', setting: 'worktreeBaseDir', description: 'where new workspaces\' git worktrees are created (relative paths and ~ are resolved against the home)' }),
  key('server', 'auth_timeout', { kind: 'duration', refine: durationIn(1000, 3_600_000), expect: 'a number of seconds from 1 to 3600 (or a duration such as "30s")', default: '10 (seconds)', live: true, flag: '--auth-timeout', setting: 'authTimeoutMs', description: 'deadline from accepting a connection to its successful authentication (new connections)' }),
  key('server', 'tls_handshake_timeout', { kind: 'duration', refine: durationIn(100, 3_600_000), expect: 'a duration from 0.1 s to 1 h (seconds, or a string such as "10s")', default: '10 (seconds)', live: false, flag: '--tls-handshake-timeout', setting: 'tlsHandshakeTimeoutMs', description: 'TLS handshakes that take longer are aborted' }),
  key('server', 'max_connections', { kind: 'integer', schema: Type.Integer({ minimum: 1 }), expect: 'an integer of at least 1', default: '512', live: true, flag: '--max-connections', setting: 'maxConnections', description: 'concurrent connections in total' }),
  key('server', 'max_connections_per_ip', { kind: 'integer', schema: Type.Integer({ minimum: 1 }), expect: 'an integer of at least 1', default: '64', live: true, flag: '--max-connections-per-ip', setting: 'maxConnectionsPerIp', description: 'concurrent connections from one address' }),
  key('auth', 'pairing_token', { kind: 'string', expect: 'a token of at least 16 characters', default: 'a fresh random token', live: true, secret: true, description: 'the token that pairs new devices; change it with `regenerate-token` (a running server picks it up within a second)' }),
  key('auth', 'pairing_ttl', { kind: 'duration', refine: durationIn(0, 365 * DAY), expect: 'a duration of 0 (never) up to 365 days (seconds, or a string such as "10m")', default: '0 (never expires)', live: true, flag: '--pairing-ttl', setting: 'pairingTtlMs', description: 'the pairing token stops pairing this long after it was first seen and is replaced' }),
  key('auth', 'single_use_pairing', { kind: 'boolean', expect: 'true or false', default: 'false', live: true, flag: '--single-use-pairing', setting: 'singleUsePairing', description: 'replace the pairing token after each successful pairing' }),
  key('auth', 'max_failures_per_ip', { kind: 'integer', schema: Type.Integer({ minimum: 1 }), expect: 'an integer of at least 1', default: '10', live: true, flag: '--max-failures-per-ip', setting: 'maxFailuresPerIp', description: 'failed authentication attempts per address per minute before a lockout' }),
  key('auth', 'lockout', { kind: 'duration', refine: durationIn(0, 365 * DAY), expect: 'a duration of 0 up to 365 days (seconds, or a string such as "60s")', default: '60 (seconds)', live: true, flag: '--lockout', setting: 'lockoutMs', description: 'how long a locked-out address is refused' }),
  key('mdns', 'enabled', { kind: 'boolean', expect: 'true or false', default: 'true', live: false, flag: '--no-mdns', setting: 'mdnsEnabled', description: 'advertise the server on the local network' }),
  key('mdns', 'interface', { kind: 'string', schema: Type.String({ minLength: 1, maxLength: 64 }), expect: 'an interface name or address', default: 'every multicast-capable interface', live: false, flag: '--mdns-interface', setting: 'mdnsInterface', description: 'advertise on this network interface only' }),
  key('mdns', 'hide_version', { kind: 'boolean', expect: 'true or false', default: 'false', live: false, flag: '--mdns-hide-version', setting: 'mdnsHideVersion', description: 'leave the server version out of the mDNS TXT record' }),
]

const SECTIONS: readonly Section[] = ['server', 'auth', 'mdns']
const byName = new Map(CONFIG_KEYS.map(k => [k.name, k]))
const checkers = new Map(CONFIG_KEYS.map(k => [k.name, Compile(k.schema)]))

/** The whole file as one TypeBox schema (documentation and embedders; the checks run per key). */
export const ServerTomlSchema = Type.Object(Object.fromEntries(SECTIONS.map(s => [s, Type.Optional(Type.Object(
  Object.fromEntries(CONFIG_KEYS.filter(k => k.section === s).map(k => [k.key, Type.Optional(k.schema)])),
))])))

export const configKey = (name: string): ConfigKey | undefined => byName.get(name)

/** Levenshtein distance (the names are short; this runs once per unknown key). */
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
}

/** The known name closest to `name` when it is close enough to be a typo of it. */
export function closestKnown (name: string, candidates: readonly string[] = [...byName.keys()]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    // Compare the whole name and the part after the table, so `server.max_conection` and `[auth] port` both find theirs.
    const d = Math.min(distance(name, c), distance(name.split('.').pop()!, c.split('.').pop()!) + (name.includes('.') ? 1 : 0))
    if (d < bestD) { bestD = d; best = c }
  }
  const tail = name.split('.').pop()!
  return bestD <= Math.max(2, Math.floor(tail.length / 3)) ? best : undefined
}

/**
 * The 1-based line of `path` (`server.port`, or a table `server`) in the text: a `key =` line
 * inside its table, a dotted key, or a table header. smol-toml reports no positions for valid
 * documents, so this reads the lines itself; undefined when it cannot tell (multi-line values).
 */
export function lineOf (text: string, path: string): number | undefined {
  let table = ''
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    const header = /^\s*\[\s*([A-Za-z0-9_.\s"-]+?)\s*\]\s*(#.*)?$/.exec(l)
    if (header) {
      table = header[1]!.replace(/["\s]/g, '')
      if (table === path) return i + 1
      continue
    }
    const k = /^\s*([A-Za-z0-9_.\s"-]+?)\s*=/.exec(l)
    if (!k) continue
    const full = (table ? `${table}.` : '') + k[1]!.replace(/["\s]/g, '')
    if (full === path || full.startsWith(`${path}.`)) return i + 1
  }
  return undefined
}

const at = (text: string, path: string): string => {
  const line = lineOf(text, path)
  return line === undefined ? '' : ` (line ${line})`
}

export interface ParsedConfig {
  config: ServerConfig
  warnings: ConfigWarning[]
  /** The known keys the file sets (`section.key`); the others have their defaults. */
  keys: string[]
}

/**
 * Parses and checks server.toml. A wrong type or value is a ConfigFileError naming the key and
 * its line; an unknown key or table is a warning naming the closest known key. With
 * `allowInvalidToken` (only for `regenerate-token` and `config set`) a missing or invalid pairing
 * token comes back as '' instead of an error.
 */
export function parseConfigText (file: string, text: string, { allowInvalidToken = false } = {}): ParsedConfig {
  let doc: Record<string, unknown>
  try {
    doc = parse(text) as Record<string, unknown>
  } catch (err) {
    // The file is left as it is: it may hold settings the operator wants to keep.
    const fix = 'fix the file, or delete it to recreate it with defaults and a new pairing token'
    if (err instanceof TomlError) throw new ConfigFileError(file, `invalid TOML at line ${err.line}, column ${err.column}: ${err.message.split('\n')[0]} (${fix})`, { cause: err })
    throw new ConfigFileError(file, `invalid TOML: ${(err as Error).message} (${fix})`, { cause: err })
  }
  const warnings: ConfigWarning[] = []
  const warn = (name: string, candidates?: readonly string[]): void => {
    const line = lineOf(text, name)
    const suggestion = closestKnown(name, candidates)
    const what = name.includes('.') || candidates === undefined ? 'key' : 'table'
    warnings.push({
      key: name,
      ...(line !== undefined ? { line } : {}),
      ...(suggestion !== undefined ? { suggestion } : {}),
      message: `${file}${line !== undefined ? ` line ${line}` : ''}: unknown ${what} '${name}' is ignored${suggestion !== undefined ? ` (did you mean '${suggestion}'?)` : ' (see docs/configuration.md)'}`,
    })
  }
  const tables: Partial<Record<Section, Record<string, unknown>>> = {}
  for (const [name, value] of Object.entries(doc)) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) warn(name, SECTIONS)
      else warn(name)
      continue
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
      throw new ConfigFileError(file, `[${name}] must be a table${at(text, name)}`)
    }
    tables[name as Section] = value as Record<string, unknown>
  }
  const values = new Map<string, unknown>()
  for (const section of SECTIONS) {
    for (const [k, value] of Object.entries(tables[section] ?? {})) {
      const def = byName.get(`${section}.${k}`)
      if (!def) { warn(`${section}.${k}`); continue }
      if (def.secret) { values.set(def.name, value); continue }
      const ok = checkers.get(def.name)!.Check(value) && (def.refine === undefined || def.refine(value as never))
      if (!ok) throw new ConfigFileError(file, `[${section}] ${k} must be ${def.expect}${at(text, def.name)}`)
      values.set(def.name, value)
    }
  }
  const token = values.get('auth.pairing_token')
  const tokenOk = typeof token === 'string' && token.length >= 16 && !token.includes('/')
  if (!tokenOk && !allowInvalidToken) throw new PairingTokenInvalidError(file)

  const def = defaultConfig()
  const pick = (section: Section): Record<string, unknown> => Object.fromEntries(CONFIG_KEYS
    .filter(k => k.section === section && !k.secret && values.has(k.name)).map(k => [k.key, values.get(k.name)]))
  const server = pick('server')
  const mdns = pick('mdns')
  const config: ServerConfig = {
    server: { name: def.server.name, port: def.server.port, bind: def.server.bind, ...server } as ServerConfig['server'],
    auth: { pairing_token: tokenOk ? token : '', ...pick('auth') } as ServerConfig['auth'],
    ...(Object.keys(mdns).length > 0 ? { mdns: mdns as ServerConfig['mdns'] } : {}),
  }
  return { config, warnings, keys: [...values.keys()] }
}

/** parseConfigText without the warnings. */
export function parseConfig (file: string, text: string, opts: { allowInvalidToken?: boolean } = {}): ServerConfig {
  return parseConfigText(file, text, opts).config
}

/** The file's settings in the server's units. */
export function fileSettings (c: ServerConfig): FileSettings {
  const s = c.server
  const a = c.auth
  const m = c.mdns ?? {}
  const ms = (v: number | string | undefined): number | undefined => v === undefined ? undefined : durationMs(v)
  const out: FileSettings = {
    name: s.name,
    port: s.port,
    bind: s.bind,
    connectHost: s.connect_host === undefined ? undefined : unbracket(s.connect_host),
    worktreeBaseDir: s.worktree_base_dir,
    authTimeoutMs: ms(s.auth_timeout),
    tlsHandshakeTimeoutMs: ms(s.tls_handshake_timeout),
    maxConnections: s.max_connections,
    maxConnectionsPerIp: s.max_connections_per_ip,
    pairingTtlMs: ms(a.pairing_ttl),
    singleUsePairing: a.single_use_pairing,
    maxFailuresPerIp: a.max_failures_per_ip,
    lockoutMs: ms(a.lockout),
    mdnsEnabled: m.enabled,
    mdnsInterface: m.interface,
    mdnsHideVersion: m.hide_version,
  }
  for (const k of Object.keys(out) as Array<keyof FileSettings>) if (out[k] === undefined) delete out[k]
  return out
}

/**
 * A value given on the command line (`config set <key> <value>`) as the key's type: "8080" is a
 * number for `server.port`, "true" a boolean, "10m" or "600" a duration. Checked by the key's schema.
 */
export function configValueFromText (name: string, text: string): unknown {
  const def = requireKey(name)
  let value: unknown = text
  if (def.kind === 'integer' && /^-?\d+$/.test(text.trim())) value = Number(text.trim())
  else if (def.kind === 'boolean' && /^(true|false)$/i.test(text.trim())) value = text.trim().toLowerCase() === 'true'
  else if (def.kind === 'duration' && /^\d+(\.\d+)?$/.test(text.trim())) value = Number(text.trim())
  return value
}

function requireKey (name: string): ConfigKey {
  const def = byName.get(name)
  if (def) return def
  const near = closestKnown(name)
  throw new ConfigError(`unknown configuration key '${name}'${near !== undefined ? ` (did you mean '${near}'?)` : ''}; keys are named section.key, e.g. server.port (see \`config list\`)`)
}

/** A TOML value for one key's line (strings as basic strings: JSON's escapes are valid TOML). */
const tomlValue = (v: unknown): string => typeof v === 'string' ? JSON.stringify(v) : String(v)

/** The text with `name` set to `value`: its line replaced, or added at the end of its table (made if missing). */
function withKey (text: string, def: ConfigKey, value: unknown): string {
  const lines = text.split('\n')
  const line = `${def.key} = ${tomlValue(value)}`
  const existing = lineOf(text, def.name)
  if (existing !== undefined && /^\s*[A-Za-z0-9_"-]+\s*=/.test(lines[existing - 1]!)) {
    lines[existing - 1] = line
    return lines.join('\n')
  }
  const header = lineOf(text, def.section)
  if (header === undefined) return text.replace(/\n*$/, '') + `\n\n[${def.section}]\n${line}\n`
  // After the table's last key line (before any blank lines or comments that lead to the next table).
  let last = header
  for (let i = header; i < lines.length; i++) {
    const l = lines[i]!.trim()
    if (l.startsWith('[')) break
    if (l !== '' && !l.startsWith('#')) last = i + 1
  }
  lines.splice(last, 0, line)
  return lines.join('\n')
}

/** server.toml: read strictly (clear errors with the line of the key), written atomically with mode 0600. */
export function configFile (file: string): ConfigFile {
  const load = async (opts?: { allowInvalidToken?: boolean }): Promise<ParsedConfig> => parseConfigText(file, await readFile(file, 'utf8'), opts)
  const write = (config: ServerConfig): Promise<void> => writeFileAtomic(file, HEADER + stringify(config) + '\n', 0o600)
  return {
    file,
    load,
    async read (opts) { return (await load(opts)).config },
    write,
    async set (name, value) {
      const def = requireKey(name)
      if (def.secret) throw new ConfigError(`${name} cannot be set with \`config set\`: run \`claudette-server regenerate-token\` to replace the pairing token`)
      if (!checkers.get(def.name)!.Check(value) || (def.refine !== undefined && !def.refine(value as never))) {
        throw new ConfigError(`invalid value for ${name}: must be ${def.expect}`)
      }
      return await setKey(def, value)
    },
    async setPairingToken (token) {
      await setKey(requireKey('auth.pairing_token'), token)
    },
  }

  async function setKey (def: ConfigKey, value: unknown): Promise<ServerConfig> {
    const text = await readFile(file, 'utf8')
    // The current file must be valid (a missing token excepted: regenerate-token repairs that).
    const current = parseConfigText(file, text, { allowInvalidToken: true }).config
    const edited = withKey(text, def, value)
    let parsed: ParsedConfig | undefined
    try {
      parsed = parseConfigText(file, edited, { allowInvalidToken: true })
    } catch { /* handled below */ }
    let next = edited
    // A layout the line editor does not handle (an inline table, a dotted key) either breaks the
    // file or leaves the new line where it sets nothing: then the file is rewritten whole.
    if (parsed === undefined || !parsed.keys.includes(def.name)) {
      const table = { ...(current[def.section] ?? {}), [def.key]: value }
      next = HEADER + stringify({ ...current, [def.section]: table }) + '\n'
      parsed = parseConfigText(file, next, { allowInvalidToken: true })
    }
    await writeFileAtomic(file, next.endsWith('\n') ? next : next + '\n', 0o600)
    return parsed.config
  }
}

/** Reads the config, creating it with defaults (and a fresh pairing token) when missing. */
export async function loadOrCreateConfig (cf: ConfigFile): Promise<ParsedConfig & { created: boolean }> {
  try {
    return { ...(await cf.load()), created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof ConfigFileError) throw err
      throw new ConfigFileError(cf.file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err })
    }
  }
  const config = defaultConfig()
  await cf.write(config)
  return { config, created: true, warnings: [], keys: ['server.name', 'server.port', 'server.bind', 'auth.pairing_token'] }
}
