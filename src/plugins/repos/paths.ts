// Path confinement: every path a client sends is checked here before anything touches the disk.
import { realpath } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path'
import { PathNotAllowedError } from './errors.js'

const MAX_PATH = 4096

/** Is `p` equal to `root` or below it? Both must be normalized absolute paths. */
export const isInside = (root: string, p: string): boolean =>
  p === root || p.startsWith(root.endsWith(sep) ? root : root + sep)

const hasTraversal = (p: string): boolean => p.split(/[\\/]+/).some(seg => seg === '..')
const looksAbsolute = (p: string): boolean => isAbsolute(p) || p.startsWith('\\') || /^[A-Za-z]:/.test(p) || p.startsWith('~')

/**
 * Checks a client-supplied path that must be relative to a root (a workspace file path).
 * Messages are the reference texts (without its debug wrapping). Percent-encoded forms of
 * the same tricks are refused too.
 */
export function checkRelativePath (rel: string): void {
  if (rel.includes('\0')) throw new PathNotAllowedError('Invalid file path: contains null byte')
  if (rel.length === 0) throw new PathNotAllowedError('Invalid file path: empty path')
  if (rel.length > MAX_PATH) throw new PathNotAllowedError('Invalid file path: too long')
  if (looksAbsolute(rel)) throw new PathNotAllowedError('Invalid file path: absolute paths are not allowed')
  if (hasTraversal(rel)) throw new PathNotAllowedError('Invalid file path: path traversal is not allowed')
  if (/%[0-9a-f]{2}/i.test(rel)) {
    let decoded = rel
    for (let i = 0; i < 3 && /%[0-9a-f]{2}/i.test(decoded); i++) {
      try { decoded = decodeURIComponent(decoded) } catch { break }
    }
    if (decoded.includes('\0')) throw new PathNotAllowedError('Invalid file path: contains null byte')
    if (looksAbsolute(decoded)) throw new PathNotAllowedError('Invalid file path: absolute paths are not allowed')
    if (hasTraversal(decoded)) throw new PathNotAllowedError('Invalid file path: path traversal is not allowed')
  }
}

/** Why the file system could not resolve a path, in plain words; null for errors that are not about the path. */
export function unresolvableReason (err: unknown): string | null {
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'ELOOP': return 'too many levels of symbolic links'
    case 'ENAMETOOLONG': return 'name too long'
    case 'EACCES': case 'EPERM': return 'permission denied'
    default: return null
  }
}

/**
 * realpath of `p`, or (when it does not exist) realpath of its nearest existing ancestor plus the rest.
 * Rejects with the file system's error for a path it cannot resolve (ELOOP, ENAMETOOLONG, EACCES).
 */
export async function realpathLenient (p: string): Promise<string> {
  try {
    return await realpath(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
    const parent = dirname(p)
    if (parent === p) return p
    return join(await realpathLenient(parent), basename(p))
  }
}

/**
 * Resolves `rel` inside `root` (realpath on both sides, so a symlink pointing out is caught).
 * The target may not exist yet (a deleted file in a diff); its nearest existing ancestor is checked.
 */
export async function resolveInsideRoot (root: string, rel: string, what = 'the workspace'): Promise<string> {
  checkRelativePath(rel)
  const realRoot = await realpath(root)
  let real: string
  try {
    real = await realpathLenient(join(realRoot, rel))
  } catch (err) {
    // A symlink loop or an overlong name below the root: the client named it, so say why.
    const reason = unresolvableReason(err)
    if (reason) throw new PathNotAllowedError(`Invalid file path: ${reason}`)
    throw err
  }
  if (!isInside(realRoot, real)) throw new PathNotAllowedError(`Invalid file path: resolves outside ${what}`)
  return real
}

/**
 * realpathLenient of a client's absolute path (already form-checked) that must lie inside one of
 * `roots` (realpaths). When the path cannot be resolved, the reason is given only if the path
 * lies lexically inside a root; otherwise `outside()` is thrown, so nothing is learnt about
 * files elsewhere (a symlink loop in /tmp answers like any other outside path).
 */
export async function resolveAbsoluteIn (p: string, roots: readonly string[], outside: () => Error, what = 'path'): Promise<string> {
  let real: string
  try {
    real = await realpathLenient(p)
  } catch (err) {
    const reason = unresolvableReason(err)
    if (!reason) throw err
    const lexical = normalize(p)
    if (roots.some(r => isInside(r, lexical))) throw new PathNotAllowedError(`Invalid ${what}: ${reason}`)
    throw outside()
  }
  if (!roots.some(r => isInside(r, real))) throw outside()
  return real
}

/** Checks a client-supplied absolute path's form (before it is resolved against allowed roots). */
export function checkAbsolutePath (p: string, what = 'path'): void {
  if (p.includes('\0')) throw new PathNotAllowedError(`Invalid ${what}: contains null byte`)
  if (p.length === 0) throw new PathNotAllowedError(`Invalid ${what}: empty path`)
  if (p.length > MAX_PATH) throw new PathNotAllowedError(`Invalid ${what}: too long`)
  if (!isAbsolute(p)) throw new PathNotAllowedError(`Invalid ${what}: must be an absolute path`)
}
