// What the endpoint needs from `ws` and Node's TLS that neither offers publicly, in one place:
//   - a WebSocket's raw (TLS) socket, `ws._socket`: whole frames are written to it (WireFrame);
//   - its receiver's payload limit, `ws._receiver._maxPayload`: small before authentication,
//     raised after it (ws checks the limit per frame, so a new value applies from the next one);
//   - a TLS socket's TCP socket, `tlsSocket._parent`: the auth deadline starts at TCP accept and
//     must find the same connection once TLS is up.
// `checkWsInternals()` runs when the endpoint is registered and throws if any of them moved:
// without the first, writes fall back to ws.send (slower); without the other two, the payload
// limit after authentication or the auth deadline would silently not hold. A server that refuses
// to start after a dependency upgrade is better than one that runs with weaker limits, and the
// check costs no I/O. test/core/ws-internals.test.ts checks the same over a real TLS connection.
import { Socket } from 'node:net'
import { TLSSocket, createSecureContext } from 'node:tls'
import { WebSocket } from 'ws'
import { WsInternalsError } from '../errors.js'

/** The writable side of a WebSocket's socket, as the endpoint uses it. */
export interface RawSocket extends NodeJS.WritableStream, NodeJS.EventEmitter {
  readonly writableNeedDrain: boolean
  cork (): void
  uncork (): void
}

interface WsPrivate {
  _socket?: RawSocket
  _receiver?: { _maxPayload?: number }
}

/** The socket under `ws` (a TLS socket on our server), or undefined if ws keeps it elsewhere. */
export const rawSocketOf = (ws: WebSocket): RawSocket | undefined => (ws as unknown as WsPrivate)._socket

/** The largest message `ws` currently accepts on this connection, or undefined if unknown. */
export function payloadLimitOf (ws: WebSocket): number | undefined {
  const limit = (ws as unknown as WsPrivate)._receiver?._maxPayload
  return typeof limit === 'number' ? limit : undefined
}

/** Sets the largest message `ws` accepts from the next frame on. False if ws has no such limit. */
export function setPayloadLimit (ws: WebSocket, bytes: number): boolean {
  const receiver = (ws as unknown as WsPrivate)._receiver
  if (!receiver || typeof receiver._maxPayload !== 'number') return false
  receiver._maxPayload = bytes
  return true
}

/** The TCP socket a TLS server socket wraps (the one the server's 'connection' event gave), else `socket`. */
export const tcpSocketOf = (socket: Socket): Socket => (socket as Socket & { _parent?: Socket })._parent ?? socket

/** A private field of ws or Node's TLS that the endpoint relies on is gone. */
export { WsInternalsError }

/** Checks every access above on real objects (no network). Throws WsInternalsError. */
export function checkWsInternals (): void {
  // A server-side WebSocket given a socket, as WebSocketServer makes one for an upgrade.
  const ServerWebSocket = WebSocket as unknown as new (address: null, protocols: undefined, options: object) => WebSocket & {
    setSocket (socket: Socket, head: Buffer, options: { maxPayload: number }): void
  }
  const tcp = new Socket()
  try {
    const ws = new ServerWebSocket(null, undefined, {})
    ws.setSocket(tcp, Buffer.alloc(0), { maxPayload: 7 })
    if (rawSocketOf(ws) !== tcp) throw new WsInternalsError('ws no longer keeps its socket in _socket')
    if (payloadLimitOf(ws) !== 7 || !setPayloadLimit(ws, 8) || payloadLimitOf(ws) !== 8) {
      throw new WsInternalsError('ws no longer keeps its payload limit in _receiver._maxPayload')
    }
    const tls = new TLSSocket(tcp, { isServer: true, secureContext: createSecureContext() })
    const parent = tcpSocketOf(tls)
    tls.destroy()
    if (parent !== tcp) throw new WsInternalsError('a TLS socket no longer names its TCP socket in _parent')
  } finally {
    tcp.destroy()
  }
}
