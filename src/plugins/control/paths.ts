// Where a home's control socket lives. Server and CLI derive it the same way from the home path
// alone, so `status` finds the server of exactly that home and two homes never share a socket.
import { createHash } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { lstat, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { ControlSocketError } from './errors.js'

export const CONTROL_SOCKET = 'control.sock'

/**
 * The longest socket path the platform takes (sun_path holds 108 bytes on Linux, 104 on macOS
 * and the BSDs, each with its terminating NUL).
 */
export const maxSocketPathBytes = (platform: NodeJS.Platform = process.platform): number => platform === 'linux' ? 107 : 103

export interface ControlLocation {
  /** The socket path, or the named pipe on Windows. */
  readonly path: string
  /**
   * The private directory the socket is placed in when the home path is too long for a socket
   * path: created 0700 by the server and checked (ours, not a link, 0700) by both sides. Null
   * when the socket lives in the home itself (itself 0700) or is a named pipe.
   */
  readonly privateDir: string | null
}

const homeHash = (home: string, length: number): string => createHash('sha256').update(home).digest('hex').slice(0, length)
const realHome = (home: string): string => { try { return realpathSync(home) } catch { return resolve(home) } }

/**
 * `<home>/control.sock`; on Windows the pipe `\\.\pipe\claudette-server-<hash of the home>`. A
 * home too deep for a socket path gets `<hash of the home>.sock` in a private directory:
 * `$XDG_RUNTIME_DIR/claudette-server` when set (a per-user 0700 directory), else
 * `<tmpdir>/claudette-server-<uid>`.
 */
export function controlLocation (home: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): ControlLocation {
  if (platform === 'win32') return { path: `\\\\.\\pipe\\claudette-server-${homeHash(realHome(home).toLowerCase(), 32)}`, privateDir: null }
  const inHome = join(home, CONTROL_SOCKET)
  if (Buffer.byteLength(inHome) <= maxSocketPathBytes(platform)) return { path: inHome, privateDir: null }
  const runtime = env.XDG_RUNTIME_DIR
  const privateDir = runtime !== undefined && isAbsolute(runtime)
    ? join(runtime, 'claudette-server')
    : join(tmpdir(), `claudette-server-${process.getuid?.() ?? 'user'}`)
  // By the home's real path: another spelling of it (a symlink, a trailing slash) finds the same socket.
  const path = join(privateDir, `${homeHash(realHome(home), 32)}.sock`)
  if (Buffer.byteLength(path) > maxSocketPathBytes(platform)) {
    throw new ControlSocketError(`no usable path for the control socket of ${home}: ${path} is longer than the platform's ${maxSocketPathBytes(platform)} bytes (set XDG_RUNTIME_DIR or TMPDIR to a shorter directory)`)
  }
  return { path, privateDir }
}

/**
 * Checks that `dir` is a directory of ours that nobody else can enter (not a link, owner us,
 * mode 0700): a directory someone else made in a shared /tmp could hold a socket that
 * impersonates the server. With `create`, makes it first when missing.
 */
export async function checkPrivateDir (dir: string, { create }: { create: boolean }): Promise<boolean> {
  if (create) {
    try {
      await mkdir(dir, { mode: 0o700 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ControlSocketError(`cannot create ${dir} for the control socket: ${(err as Error).message}`, { cause: err })
    }
  }
  let st
  try {
    st = await lstat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  const uid = process.getuid?.()
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new ControlSocketError(`${dir} (the control socket's directory) must be a directory owned by this user with mode 0700; remove it or fix its owner and mode`)
  }
  return true
}
