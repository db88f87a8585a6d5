import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, basename } from 'node:path'

/** Creates the directory (and parents) and makes sure the directory itself is 0700. */
export async function ensurePrivateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const st = await stat(dir)
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700)
}

/**
 * Writes a file atomically: temp file in the same directory, fsync, rename, fsync the
 * directory. A crash leaves either the old or the new content, never a torn file.
 */
export async function writeFileAtomic (file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  // Run as root on another user's file (`sudo claudette-server config set …` on a service's
  // home), the replacement keeps that user as owner: a root-owned 0600 file would lock them out.
  let owner: { uid: number, gid: number } | undefined
  if (process.getuid?.() === 0) {
    try { const st = await stat(file); owner = { uid: st.uid, gid: st.gid } } catch { /* a new file */ }
  }
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.writeFile(data)
    await fh.chmod(mode)
    if (owner !== undefined && owner.uid !== 0) await fh.chown(owner.uid, owner.gid)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await rm(tmp, { force: true })
    throw err
  }
  await fh.close()
  try {
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  try {
    const dh = await open(dirname(file), 'r')
    try { await dh.sync() } finally { await dh.close() }
  } catch { /* directory fsync is not supported everywhere */ }
}

/** base64url of 32 random bytes: 43 characters, the reference token format. */
export const newToken = (): string => randomBytes(32).toString('base64url')
