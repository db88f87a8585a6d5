import { Type, type Static } from 'typebox'
import { token } from '../../core/tokens.js'
import type { TerminalProvider } from './types.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Options of the terminals plugin (`createServer({ terminals: {...} })`). */
export const TerminalsOptions = Type.Object({
  /** A custom backend; default: node-pty. Never disposed by us (the embedder owns it). */
  provider: Type.Optional(Type.Unsafe<TerminalProvider>({})),
  /** Program started by spawn_pty. Default: $SHELL, else /bin/sh. */
  shell: Type.Optional(Type.String({ minLength: 1 })),
  /** Arguments of the shell. */
  shellArgs: Type.Array(Type.String(), { default: [] }),
  /** node-pty only: run the shell under a tiny /bin/sh barrier so no output is lost at exit. */
  exitBarrier: Type.Boolean({ default: true }),
  /** TERM given to the child. */
  term: Type.String({ minLength: 1, default: 'xterm-256color' }),
  /** Output kept per pty for attach_pty replay. */
  scrollbackBytes: Type.Integer({ minimum: 0, maximum: 256 * MiB, default: 1 * MiB }),
  /** A pty with no attached connection is killed after this long (0 = never). */
  idleDetachedMs: Type.Integer({ minimum: 0, default: 24 * 60 * 60_000 }),
  /** After SIGHUP, a child that has not exited gets SIGKILL after this long. */
  killTimeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 2000 }),
  maxPtysPerSession: Type.Integer({ minimum: 1, default: 32 }),
  maxRows: Type.Integer({ minimum: 1, maximum: 65535, default: 1000 }),
  maxCols: Type.Integer({ minimum: 1, maximum: 65535, default: 1000 }),
  /** Largest single write (write_pty data or one binary input frame), in bytes. */
  maxWriteBytes: Type.Integer({ minimum: 1, maximum: 16 * MiB, default: 1 * MiB }),
  /** Largest batch of output, and so the largest binary output frame; more pending output is split. */
  maxFrameBytes: Type.Integer({ minimum: 1 * KiB, maximum: 4 * MiB, default: 64 * KiB }),
  /**
   * Most output bytes in one JSON `pty-output` event; a larger batch goes out as several. Lower
   * it to bound what a JSON client parses before it can show anything (~3.6 wire bytes per
   * output byte); measured, it does not change bulk throughput (docs/performance.md).
   */
  maxJsonFrameBytes: Type.Integer({ minimum: 1 * KiB, maximum: 4 * MiB, default: 64 * KiB }),
  /** A pty pauses while an attached socket has more than this many bytes queued... */
  highWaterMark: Type.Integer({ minimum: 16 * KiB, default: 1 * MiB }),
  /** ...and resumes once every attached socket is below this. */
  lowWaterMark: Type.Integer({ minimum: 0, default: 256 * KiB }),
}, { additionalProperties: false })
export type TerminalsOptions = Static<typeof TerminalsOptions>

/** The plugin's parsed options, injected into the registry. */
export const TERM_OPTIONS = token<TerminalsOptions>('TerminalsOptions')
