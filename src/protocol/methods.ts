// The method table of the wire: every method's params and result schema, by name.
import type { Static } from 'typebox'
import { AgentsMethods } from './agents.js'
import { AuthMethods } from './auth.js'
import type { ParamsInput } from './common.js'
import { CoreMethods } from './core.js'
import { ReposMethods } from './repos.js'
import { TerminalsMethods } from './terminals.js'

/** Every method: name → `{params, result}` schemas. `authenticate` is answered by the handshake. */
export const Methods = {
  ...AuthMethods,
  ...CoreMethods,
  ...ReposMethods,
  ...AgentsMethods,
  ...TerminalsMethods,
} as const

export type MethodName = keyof typeof Methods
/** The params a caller sends (parameters with a default may be left out). */
export type MethodParams<M extends MethodName> = ParamsInput<(typeof Methods)[M]['params']>
export type MethodResult<M extends MethodName> = Static<(typeof Methods)[M]['result']>
/** Method name → `{params, result}` types, as a client calls them. */
export type MethodMap = { [M in MethodName]: { params: MethodParams<M>, result: MethodResult<M> } }
