import { NoParams } from '../../protocol/index.js'
import type { ServerFacts } from '../tokens.js'
import { defineMethod, type AnyRpcMethod, type RpcRegistry } from './registry.js'

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
  })]
}
