// The one place that reads node-pty internals. node-pty has no public way to write to a pty's
// master file descriptor without going through its queue (a write on the thread pool or the
// event loop, which shows in keystroke echo latency on a busy machine), nor to know whether that
// queue is empty. On Unix its process object has an `fd` getter (the master fd) and one of two
// write paths, both recognised here:
// - @lydell/node-pty 1.1.0 (what we install; node-pty's 1.0 write path with prebuilt binaries):
//   writes go through `_socket`, the tty stream over the master; its `writableLength` is the
//   bytes not yet written.
// - microsoft/node-pty 1.1.0: `_writeStream._writeQueue`, the array of pending writes.
// test/plugins/terminals/node-pty-internals.test.ts fails when the installed package has neither.
import type { IPty } from '@lydell/node-pty'

/** Direct access to a node-pty process's master: its fd, and its pending-write queue. */
export interface PtyMaster {
  /** The master side of the pty (non-blocking). */
  readonly fd: number
  /** node-pty's pending writes (entries or bytes); write to `fd` directly only while it is 0. */
  readonly writeQueue: { readonly length: number }
}

interface NodePtyUnixInternals {
  readonly fd?: unknown
  readonly _writeStream?: { readonly _writeQueue?: unknown }
  readonly _socket?: { readonly writableLength?: unknown }
}

/** The process's master, or null when node-pty does not have the expected shape. */
export function ptyMaster (proc: IPty): PtyMaster | null {
  const internals = proc as unknown as NodePtyUnixInternals
  const fd = internals.fd
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) return null
  const writeQueue = internals._writeStream?._writeQueue
  if (Array.isArray(writeQueue)) return { fd, writeQueue }
  const socket = internals._socket
  if (socket && typeof socket.writableLength === 'number') {
    return { fd, writeQueue: { get length () { return socket.writableLength as number } } }
  }
  return null
}

/** The warning logged once when ptyMaster finds another shape (the provider then uses node-pty's public API only). */
export const NODE_PTY_SHAPE_WARNING = 'node-pty internals (fd, and _socket.writableLength or _writeStream._writeQueue) not found: ' +
  'terminal input goes through node-pty\'s write queue (slower keystroke echo)'
