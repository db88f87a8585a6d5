import { defineMethod, type AnyRpcMethod } from '../../core/rpc/registry.js'
import { NoParams, RevokeSessionParams } from '../../protocol/index.js'
import { SessionNotFoundError } from './errors.js'
import type { DeviceAuth, DeviceSessionStore } from './types.js'

/** Device management over the wire (our additions): any paired device may list and revoke. */
export function authMethods (service: DeviceAuth, sessions: DeviceSessionStore): AnyRpcMethod[] {
  return [
    defineMethod({
      name: 'list_sessions',
      params: NoParams,
      handler: (_p, ctx) => sessions.list().map(s => ({ ...s, current: s.id === ctx.session.id })),
    }),
    defineMethod({
      name: 'revoke_session',
      params: RevokeSessionParams,
      handler: (p, ctx) => {
        const id = sessions.resolveId(p.session_id)
        if (id === null) throw new SessionNotFoundError(p.session_id)
        // Closing our own connection must wait until the reply has been written.
        const by = { sessionId: ctx.session.id, device: ctx.session.name, remoteAddress: ctx.connection.remoteAddress }
        setImmediate(() => service.revoke(id, by))
        return null
      },
    }),
  ]
}
