// The one place that reads node-pty internals. node-pty has no public way to write to a pty's
// master file descriptor without going through its queue (an fs.write on the thread pool, which
// shows in keystroke echo latency on a busy machine), nor to know whether that queue is empty.
// On Unix its process object has an `fd` getter (the master fd) and `_writeStream._writeQueue`
// (the array of pending writes, emptied as they complete). Checked against node-pty 1.1.0 as
// @lydell/node-pty 1.1.0 ships it (the same JavaScript, with prebuilt binaries);
// test/plugins/terminals/node-pty-internals.test.ts fails when that shape changes.
import type { IPty } from '@lydell/node-pty'

/** Direct access to a node-pty process's master: its fd, and its pending-write queue. */
export interface PtyMaster {
  /** The master side of the pty (non-blocking). */
  readonly fd: number
  /** node-pty's queue of writes not yet done; write to `fd` directly only while it is empty. */
  readonly writeQueue: { readonly length: number }
}

interface NodePtyUnixInternals {
  readonly fd?: unknown
  readonly _writeStream?: { readonly _writeQueue?: unknown }
}

/** The process's master, or null when node-pty does not have the expected shape. */
export function ptyMaster (proc: IPty): PtyMaster | null {
  const internals = proc as unknown as NodePtyUnixInternals
  const fd = internals.fd
  const writeQueue = internals._writeStream?._writeQueue
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || !Array.isArray(writeQueue)) return null
  return { fd, writeQueue }
}

/** The warning logged once when ptyMaster finds another shape (the provider then uses node-pty's public API only). */
export const NODE_PTY_SHAPE_WARNING = 'node-pty internals (fd, _writeStream._writeQueue) not found: ' +
  'terminal input goes through node-pty\'s write queue (slower keystroke echo)'
