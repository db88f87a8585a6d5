import { createRequire } from 'node:module'
import { NativeModuleError } from './errors.js'

// Native addons are loaded where a capability first needs them, never when a module is imported:
// `--help`, `--version` and everything that does not need the addon keep working when its binary
// is missing (install scripts blocked, an unsupported platform, a node_modules copied between
// systems). A plain `require` (not `import`) keeps bundlers from inlining the package, and a
// failure becomes one line that says what is unavailable and how to fix it.
const requireFromHere = createRequire(import.meta.url)

/** What a native package is needed for, and how a user repairs an install where it does not load. */
export interface NativePackage<T> {
  /** The npm package name. */
  readonly name: string
  /** What does not work without it, as a clause ("terminals are unavailable"). */
  readonly impact: string
  /** How to fix it, one clause ("reinstall without --omit=optional"). */
  readonly fix: string
  /** Makes the addon's binary load, when requiring the package alone does not. */
  readonly probe?: (mod: T) => void
}

/**
 * The first line of an error's message: the rest is usually a list of paths tried. Its lead-in
 * goes too (the bindings package's `Could not locate the bindings file. Tried:`).
 */
const firstLine = (err: unknown): string => {
  const msg = err instanceof Error ? err.message : String(err)
  return (msg.split('\n').find(l => l.trim() !== '') ?? 'unknown error').trim().replace(/\.?\s*Tried:?$/, '').replace(/[:.]$/, '')
}

/** Requires a native package; throws NativeModuleError (one line) when it or its binary does not load. */
export function loadNative<T> (pkg: NativePackage<T>): T {
  let mod: T
  try {
    mod = requireFromHere(pkg.name) as T
    pkg.probe?.(mod)
  } catch (err) {
    throw new NativeModuleError(pkg.impact, pkg.name, firstLine(err), pkg.fix, { cause: err })
  }
  return mod
}
