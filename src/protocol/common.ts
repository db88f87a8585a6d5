// Building blocks of the wire schemas. This layer imports only `typebox`: the server and the
// client SDK both use it, so it names no plugin and no implementation.
import { Type, type Static, type TObject, type TSchema } from 'typebox'

/** `T | null` on the wire (the reference's `?` fields). */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

/** A parameter that may be left out or sent as null (the reference's `Option<T>` parameters). */
export const OptionalNullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]))

declare const kDefaulted: unique symbol
/** A schema with a `default`: callers may leave the parameter out (the server fills it in). */
export type TDefaulted<T extends TSchema> = T & { readonly [kDefaulted]: true }

/**
 * Marks a schema that carries a `default` so the parameter is optional in the caller's types.
 * Type-level only: the schema object is returned unchanged.
 */
export const Defaulted = <T extends TSchema>(schema: T): TDefaulted<T> => schema as TDefaulted<T>

type DefaultedKeys<P> = { [K in keyof P]: P[K] extends { readonly [kDefaulted]: true } ? K : never }[keyof P]
type Flatten<T> = { [K in keyof T]: T[K] } & {}

/**
 * The params object as a caller sends it: parameters with a default may be left out.
 * (`Static` of the same schema is what a handler receives, defaults filled in.)
 */
export type ParamsInput<T extends TSchema> = T extends TObject<infer P>
  ? Flatten<Omit<Static<T>, DefaultedKeys<P>> & Partial<Pick<Static<T>, DefaultedKeys<P> & keyof Static<T>>>>
  : Static<T>

/** No parameters (any keys are ignored, as in the reference). */
export const NoParams = Type.Object({})

/** Methods that answer `null` on success. */
export const NullResult = Type.Null()

/** A byte value (0..255), as terminal data travels in JSON. */
export const Byte = Type.Integer({ minimum: 0, maximum: 255 })

// Shapes shared by the workspace and chat models.

/** `agent_status`: a bare variant name, or `{"Error": "…"}`. */
export const AgentStatus = Type.Union([
  Type.Literal('Running'), Type.Literal('Idle'), Type.Literal('IdleWithBackground'),
  Type.Literal('Stopped'), Type.Literal('Compacting'),
  Type.Object({ Error: Type.String() }),
])
export type AgentStatus = Static<typeof AgentStatus>

/** `status` of a workspace or a chat session. */
export const WorkspaceStatus = Type.Union([Type.Literal('Active'), Type.Literal('Archived')])
export type WorkspaceStatus = Static<typeof WorkspaceStatus>

