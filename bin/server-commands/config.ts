// `claudette-server config list|get|set|path`: server.toml, read and saved explicitly (flags given
// to `run` apply to that run only and never rewrite the file).
import type { Command } from 'commander'
import { ConfigError, closestConfigKey, configValueFromText, type Admin, type ConfigEntry } from '../../src/index.js'
import { EXIT_RUNTIME, UsageError, json, out, printTable } from '../cli-output.js'

export interface ConfigCommandDeps {
  /** Opens the home's admin (read-only: a missing home or file is an error, nothing is created). */
  withAdmin: <T>(fn: (admin: Admin) => Promise<T> | T, opts?: { readOnly?: boolean }) => Promise<T>
  /** The global --json flag. */
  json: () => boolean
}

const REDACTED = '[redacted: see `claudette-server show-connection-string`]'

/** A value as the file writes it (strings quoted in JSON, which TOML reads the same). */
const shown = (e: ConfigEntry): string => e.secret ? REDACTED : e.value === undefined ? `(default: ${e.default})` : typeof e.value === 'string' ? JSON.stringify(e.value) : String(e.value)

function entryOf (entries: ConfigEntry[], key: string): ConfigEntry {
  const e = entries.find(x => x.key === key)
  if (e) return e
  const near = closestConfigKey(key)
  throw new UsageError(`unknown configuration key '${key}'${near ? ` (did you mean '${near}'?)` : ''}; see 'claudette-server config list'`)
}

export function registerConfigCommands (program: Command, deps: ConfigCommandDeps): void {
  const config = program.command('config')
    .description('show or change server.toml (flags given to `run` apply to that run only; `config set` saves)')
    .addHelpText('after', `
Keys are named section.key (server.port, auth.pairing_ttl, mdns.enabled, ...); see docs/configuration.md.
A running server applies a changed live key on SIGHUP (kill -HUP <pid>, or systemctl --user reload claudette-server for the service) and the
others at its next start. A flag given to \`run\` still wins over the file for that run.`)

  config.command('list')
    .description('every key with its value (from the file or the default), whether it applies live, and the flag that overrides it')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => deps.withAdmin(async admin => {
      const entries = await admin.configEntries()
      if (o.json || deps.json()) {
        out(json(entries.map(e => ({ key: e.key, value: e.secret ? null : e.value ?? null, source: e.source, default: e.default, live: e.live, flag: e.flag ?? null, secret: e.secret })), null, 2))
        return
      }
      printTable(['KEY', 'VALUE', 'SOURCE', 'APPLIES', 'FLAG'], entries.map(e => [e.key, shown(e), e.source, e.live ? 'live (SIGHUP)' : 'restart', e.flag ?? '']))
      out(`\nFile: ${admin.configFile}`)
    }, { readOnly: true }))

  config.command('get')
    .description('print one key\'s value as server.toml sets it (when it does not, stderr names the default)')
    .argument('<key>', 'section.key, e.g. server.port')
    .action((key: string) => deps.withAdmin(async admin => {
      const e = entryOf(await admin.configEntries(), key)
      if (e.secret) throw new UsageError(`${key} is not printed here; \`claudette-server show-connection-string\` shows the connection string with the pairing token`, EXIT_RUNTIME)
      if (deps.json()) { out(json({ key: e.key, value: e.value ?? null, source: e.source, default: e.default })); return }
      if (e.value === undefined) {
        process.stderr.write(`${key} is not set in ${admin.configFile}; the default applies: ${e.default}\n`)
        return
      }
      out(typeof e.value === 'string' ? e.value : String(e.value))
    }, { readOnly: true }))

  config.command('set')
    .description('save one key to server.toml (checked first; comments and other keys are kept)')
    .argument('<key>', 'section.key, e.g. server.name')
    .argument('<value>', 'the value: text, a number, true/false, or a duration such as 10m')
    .action((key: string, raw: string) => deps.withAdmin(async admin => {
      const entries = await admin.configEntries()
      const e = entryOf(entries, key)
      if (e.secret) throw new UsageError(`${key} cannot be set: run \`claudette-server regenerate-token\` to replace the pairing token`)
      try {
        await admin.setConfig(key, configValueFromText(key, raw))
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message)
        throw err
      }
      const after = entryOf(await admin.configEntries(), key)
      if (deps.json()) { out(json({ key, value: after.value ?? null, live: e.live, file: admin.configFile })); return }
      out(`Saved ${key} = ${shown(after)} to ${admin.configFile}.`)
      out(e.live
        ? 'A running server applies it on SIGHUP (kill -HUP <pid>) or at its next start.'
        : 'A running server applies it at its next start (this key cannot change live).')
      if (e.flag !== undefined) out(`A ${e.flag} flag given to \`run\` still wins over it for that run.`)
    }))

  config.command('path')
    .description('print the location of server.toml')
    .action(() => deps.withAdmin(admin => {
      out(deps.json() ? json({ file: admin.configFile }) : admin.configFile)
    }, { readOnly: true }))
}
