import type { TSchema } from 'typebox'
import { NoParams } from '../../protocol/index.js'
import type { ServerFacts } from '../tokens.js'
import { defineMethod, type AnyRpcMethod, type RpcRegistry } from './registry.js'

/** A params schema as plain JSON Schema: TypeBox keeps its own metadata under symbol keys, which JSON leaves out. */
const asJsonSchema = (schema: TSchema | undefined): Record<string, unknown> =>
  schema === undefined ? { type: 'object' } : JSON.parse(JSON.stringify(schema)) as Record<string, unknown>

/** Methods that belong to the server itself rather than to a plugin. */
export function coreMethods (facts: ServerFacts & { fingerprint: string }, registry: RpcRegistry): AnyRpcMethod[] {
  return [defineMethod({
    name: 'server_info',
    params: NoParams,
    handler: () => ({
      capabilities: registry.capabilities,
      fingerprint: facts.fingerprint,
      name: facts.name,
      version: facts.version,
    }),
  }), defineMethod({
    name: 'list_methods',
    params: NoParams,
    // Read at call time: plugins register after the core methods, and custom plugins may add more.
    handler: () => registry.names.map(name => ({ name, params: asJsonSchema(registry.schemaOf(name)) })),
  })]
}
