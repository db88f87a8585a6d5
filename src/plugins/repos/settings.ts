// App settings (get_app_setting / set_app_setting): free-form string values, except the keys
// that change how the server behaves, which are listed here with who may write them.
import type { Store } from '../store/types.js'
import { SettingNotAllowedError } from './errors.js'

const MAX_KEY = 200
const MAX_VALUE = 64 * 1024

/**
 * Keys that change server behaviour. `wire: false` means clients may read but not write it
 * (reference weakness §10.10: a client could move `worktree_base_dir`).
 */
export const SERVER_SETTINGS: Readonly<Record<string, { readonly wire: false, readonly where: string }>> = {
  worktree_base_dir: { wire: false, where: 'the server\'s --worktree-base-dir flag or worktree_base_dir in server.toml' },
}

export class AppSettings {
  readonly #get
  readonly #set
  readonly #del

  /** `computed` answers keys whose value the server owns (e.g. the effective worktree base). */
  constructor (store: Store, private readonly computed: Readonly<Record<string, () => string>> = {}) {
    this.#get = store.db.prepare<[string], { value: string }>('SELECT value FROM app_settings WHERE key = ?')
    this.#set = store.db.prepare('INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
    this.#del = store.db.prepare('DELETE FROM app_settings WHERE key = ?')
  }

  // Keys come from clients: only own properties of the tables count, never `__proto__`,
  // `constructor` or `valueOf` inherited from Object.prototype.
  get (key: string): string | null {
    if (Object.hasOwn(this.computed, key)) return this.computed[key]!()
    return this.#get.get(key)?.value ?? null
  }

  /** A write from a client: protected keys are refused with a message naming where to change them. */
  setFromClient (key: string, value: string): void {
    const rule = Object.hasOwn(SERVER_SETTINGS, key) ? SERVER_SETTINGS[key] : undefined
    if (rule && !rule.wire) throw new SettingNotAllowedError(`Setting '${key}' cannot be changed by clients; set it with ${rule.where}`)
    if (key.length === 0 || key.length > MAX_KEY || /[\0-\x1f\x7f]/.test(key)) throw new SettingNotAllowedError('Invalid setting key')
    if (value.length > MAX_VALUE) throw new SettingNotAllowedError(`Setting value too large (at most ${MAX_VALUE} characters)`)
    this.#set.run(key, value)
  }

  delete (key: string): void { this.#del.run(key) }
}
