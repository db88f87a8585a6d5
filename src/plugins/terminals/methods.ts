import type { RpcConnection } from '../../core/rpc/hub.js'
import { defineMethod, type AnyRpcMethod, type BinaryHandler } from '../../core/rpc/registry.js'
import { AppError, toWireError } from '../../core/errors.js'
import { AttachPtyParams, NoParams, PtyIdParams, SetPtyEncodingParams, terminalSizeParams, WritePtyParams } from '../../protocol/index.js'
import { PtyFrameMalformedError } from './errors.js'
import type { TerminalsOptions } from './options.js'
import type { TerminalRegistry } from './types.js'

/** spawn_pty, write_pty, resize_pty, close_pty (wire doc §6) and the DESIGN.md §5 additions. */
export function terminalMethods (registry: TerminalRegistry, opts: TerminalsOptions): AnyRpcMethod[] {
  const sized = terminalSizeParams(opts)
  return [
    defineMethod({
      name: 'spawn_pty',
      params: sized.spawn_pty,
      handler: (p, ctx) => registry.spawn(ctx.session, ctx.connection, {
        // The Claudette apps send "" for "none".
        workspaceId: p.workspace_id || undefined,
        cwd: p.cwd || undefined,
        cols: p.cols,
        rows: p.rows,
      }),
    }),
    defineMethod({
      name: 'write_pty',
      params: WritePtyParams,
      handler: (p, ctx) => { registry.write(ctx.session, p.pty_id, Buffer.from(p.data)); return null },
    }),
    defineMethod({
      name: 'resize_pty',
      params: sized.resize_pty,
      handler: (p, ctx) => { registry.resize(ctx.session, p.pty_id, p.cols, p.rows); return null },
    }),
    defineMethod({
      name: 'close_pty',
      params: PtyIdParams,
      handler: (p, ctx) => { registry.close(ctx.session, p.pty_id); return null },
    }),
    defineMethod({
      name: 'list_ptys',
      params: NoParams,
      handler: (_p, ctx) => registry.list(ctx.session),
    }),
    defineMethod({
      name: 'attach_pty',
      params: AttachPtyParams,
      // Synchronous on purpose: the reply (with the replay) is written before any later output.
      handler: (p, ctx) => {
        const r = registry.attach(ctx.session, ctx.connection, p.pty_id, p.since ?? 0)
        return { alive: r.alive, exit_code: r.exit_code, offset: r.offset, replay: Array.from(r.replay), signal: r.signal }
      },
    }),
    defineMethod({
      name: 'detach_pty',
      params: PtyIdParams,
      handler: (p, ctx) => { registry.detach(ctx.session, ctx.connection, p.pty_id); return null },
    }),
    defineMethod({
      name: 'set_pty_encoding',
      params: SetPtyEncodingParams,
      handler: (p, ctx) => ({ encoding: registry.setEncoding(ctx.connection, p.encoding) }),
    }),
  ]
}

/** Binary input frames: 0x02, pty id (u32 BE), bytes. Refusals answer `pty-input-error`. */
export function ptyInputHandler (registry: TerminalRegistry): BinaryHandler {
  return (frame: Buffer, conn: RpcConnection) => {
    const ptyId = frame.length >= 5 ? frame.readUInt32BE(1) : null
    try {
      if (ptyId === null) throw new PtyFrameMalformedError()
      registry.write(conn.session!, ptyId, frame.subarray(5))
    } catch (err) {
      conn.sendEvent('pty-input-error', { message: toWireError(err).message, pty_id: ptyId })
      if (!(err instanceof AppError && err.expose)) throw err // logged by the endpoint
    }
  }
}
