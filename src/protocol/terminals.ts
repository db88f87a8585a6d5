// Terminals: spawn_pty, write_pty, resize_pty, close_pty (claudette-wire.md §6) and our
// additions (DESIGN.md §5): list_ptys, attach_pty, detach_pty, set_pty_encoding.
import { Type, type Static } from 'typebox'
import { Byte, Defaulted, NoParams, Nullable, NullResult } from './common.js'

/** Per-connection output encoding (`set_pty_encoding`). */
export const PtyEncoding = Type.Union([Type.Literal('binary'), Type.Literal('json')])
export type PtyEncoding = Static<typeof PtyEncoding>

/** One entry of `list_ptys`. */
export const PtyInfo = Type.Object({
  alive: Type.Boolean(),
  cols: Type.Integer(),
  cwd: Type.String(),
  exit_code: Nullable(Type.Integer()),
  /** Total output bytes so far (the position a client that saw everything would pass as `since`). */
  output_bytes: Type.Integer(),
  pty_id: Type.Integer(),
  rows: Type.Integer(),
  signal: Nullable(Type.String()),
  workspace_id: Nullable(Type.String()),
})
export type PtyInfo = Static<typeof PtyInfo>

export const SpawnPtyResult = Type.Object({ pty_id: Type.Integer() })
export type SpawnPtyResult = Static<typeof SpawnPtyResult>

/** `attach_pty`: the scrollback from `since` (or what is kept), its stream position and the pty's state. */
export const AttachResult = Type.Object({
  alive: Type.Boolean(),
  exit_code: Nullable(Type.Integer()),
  /** Stream position of the first byte of `replay`. */
  offset: Type.Integer(),
  replay: Type.Array(Byte),
  signal: Nullable(Type.String()),
})
export type AttachResult = Static<typeof AttachResult>

export const SetPtyEncodingResult = Type.Object({ encoding: PtyEncoding })
export type SetPtyEncodingResult = Static<typeof SetPtyEncodingResult>

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

const PtyId = Type.Integer({ description: 'pty id (1..2^32-1)' })

/** The bounds of `rows`/`cols`, which come from the server's options (terminals.maxRows/maxCols). */
export interface TerminalLimits { readonly maxRows: number, readonly maxCols: number }
/** The widest bounds any server accepts (the options' own maximum). */
export const WIRE_TERMINAL_LIMITS: TerminalLimits = { maxRows: 65535, maxCols: 65535 }

/** The params of the methods whose bounds depend on the server's limits. */
export function terminalSizeParams (limits: TerminalLimits) {
  const Rows = Defaulted(Type.Integer({ minimum: 1, maximum: limits.maxRows, default: 24 }))
  const Cols = Defaulted(Type.Integer({ minimum: 1, maximum: limits.maxCols, default: 80 }))
  return {
    spawn_pty: Type.Object({
      workspace_id: Type.Optional(Type.String({ maxLength: 200 })),
      cwd: Type.Optional(Type.String({ maxLength: 4096 })),
      rows: Rows,
      cols: Cols,
    }),
    resize_pty: Type.Object({ pty_id: PtyId, rows: Rows, cols: Cols }),
  }
}

export const WritePtyParams = Type.Object({ pty_id: PtyId, data: Type.Array(Byte) })
export const PtyIdParams = Type.Object({ pty_id: PtyId })
export const AttachPtyParams = Type.Object({
  pty_id: PtyId,
  /** Output position the client already has (list_ptys.output_bytes, or bytes counted so far). */
  since: Type.Optional(Type.Integer({ minimum: 0 })),
})
export const SetPtyEncodingParams = Type.Object({ encoding: PtyEncoding })

const sized = terminalSizeParams(WIRE_TERMINAL_LIMITS)

/** Described with the widest bounds; a server validates `rows`/`cols` against its own limits. */
export const TerminalsMethods = {
  spawn_pty: { params: sized.spawn_pty, result: SpawnPtyResult },
  write_pty: { params: WritePtyParams, result: NullResult },
  resize_pty: { params: sized.resize_pty, result: NullResult },
  close_pty: { params: PtyIdParams, result: NullResult },
  list_ptys: { params: NoParams, result: Type.Array(PtyInfo) },
  attach_pty: { params: AttachPtyParams, result: AttachResult },
  detach_pty: { params: PtyIdParams, result: NullResult },
  set_pty_encoding: { params: SetPtyEncodingParams, result: SetPtyEncodingResult },
} as const
