// The one module augmentation of Fastify in this codebase.
import type { DependencyContainer } from './di.js'
import type { RpcRegistry } from './rpc/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** This server's DI container (a child of the empty root; two servers share nothing). */
    di: DependencyContainer
    /** This server's RPC method registry: `app.rpc.register({ name, params, handler })`. */
    rpc: RpcRegistry
  }
}
export {}
