// The envelope and the server's own methods (docs/protocol.md "Envelope", DESIGN.md §5).
import { Type, type Static } from 'typebox'
import { NoParams } from './common.js'

/** `server_info` (our addition): what the client needs before it picks optional features. */
export const ServerInfo = Type.Object({
  /** Optional features, sorted (e.g. "pty-binary"). */
  capabilities: Type.Array(Type.String()),
  /** Lowercase hex SHA-256 of the leaf certificate's DER. */
  fingerprint: Type.String(),
  name: Type.String(),
  version: Type.String(),
})
export type ServerInfo = Static<typeof ServerInfo>

/** One entry of `list_methods` (our addition): a registered method and its params as JSON Schema. */
export const MethodDescription = Type.Object({
  name: Type.String(),
  /** The schema the server validates the method's params with (JSON Schema, as TypeBox writes it). */
  params: Type.Record(Type.String(), Type.Unknown()),
})
export type MethodDescription = Static<typeof MethodDescription>

export const CoreMethods = {
  server_info: { params: NoParams, result: ServerInfo },
  /** Every method the server answers after authentication, sorted by name (`authenticate` is the handshake's). */
  list_methods: { params: NoParams, result: Type.Array(MethodDescription) },
} as const

/** A request `{id, method, params}`; `id` is echoed exactly as received, whatever its type. */
export const RequestEnvelope = Type.Object({
  id: Type.Optional(Type.Unknown()),
  method: Type.String(),
  params: Type.Optional(Type.Unknown()),
})
export type RequestEnvelope = Static<typeof RequestEnvelope>

/** The `error` of a failed request: `code` -1 (any failure after auth), -2 (auth) or -32700 (parse). */
export const WireError = Type.Object({
  code: Type.Integer(),
  /** Details for clients that know them (validation issues); the Claudette apps read `message` only. */
  data: Type.Optional(Type.Unknown()),
  message: Type.String(),
})
export type WireError = Static<typeof WireError>

/** A response: exactly one of `result` and `error`. */
export const ResponseEnvelope = Type.Union([
  Type.Object({ id: Type.Unknown(), result: Type.Unknown() }),
  Type.Object({ error: WireError, id: Type.Unknown() }),
])
export type ResponseEnvelope = Static<typeof ResponseEnvelope>

/** An event: no `id`. */
export const EventEnvelope = Type.Object({ event: Type.String(), payload: Type.Unknown() })
export type EventEnvelope = Static<typeof EventEnvelope>
