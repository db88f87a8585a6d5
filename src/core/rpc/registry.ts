import type { TSchema } from 'typebox'
import { RpcDuplicateMethodError, RpcInvalidParamsError, RpcUnknownMethodError } from '../errors.js'
import { Emitter } from '../lifecycle.js'
import { compileChecker } from '../schema.js'
import type { AnyRpcMethod, BinaryHandler, RpcCall, RpcContext, RpcHandler, RpcMethod, RpcRegistry } from './types.js'

export type { AnyRpcMethod, BinaryHandler, RpcCall, RpcContext, RpcHandler, RpcMethod, RpcRegistry } from './types.js'

/** Declares a method with its handler's params typed from the schema. */
export const defineMethod = <S extends TSchema>(method: RpcMethod<S>): AnyRpcMethod => method as AnyRpcMethod

interface CompiledMethod {
  readonly name: string
  readonly schema: TSchema
  readonly check: (value: unknown) => { ok: true, value: unknown } | { ok: false, issues: Array<{ path: string, message: string }> }
  readonly handler: RpcHandler<unknown>
}

const METHOD_NAME = /^[a-z][a-z0-9_]*$/

/**
 * The per-server table of RPC methods (the `RpcRegistry` behind `CORE.Rpc`). Services never see
 * the socket: the endpoint validates params with the method's compiled schema, then calls the
 * handler.
 */
export class MethodRegistry implements RpcRegistry {
  readonly #methods = new Map<string, CompiledMethod>()
  readonly #binary = new Map<number, BinaryHandler>()
  readonly #capabilities = new Set<string>()
  #capabilityList: string[] = []
  readonly #onDidHandle = new Emitter<RpcCall>()
  readonly onDidHandle = this.#onDidHandle.event

  /** Whether anyone observes calls (the dispatcher times requests only then). */
  get observed (): boolean { return this.#onDidHandle.hasListeners }

  /** @internal the dispatcher reports each answered request; unknown names are reported as null. */
  handled (method: string, ms: number, outcome: RpcCall['outcome']): void {
    this.#onDidHandle.fire({ method: this.#methods.has(method) ? method : null, ms, outcome })
  }

  register<S extends TSchema> (method: RpcMethod<S>): void
  register (method: { name: string, params?: Record<string, unknown>, handler: RpcHandler<any> }): void
  register (method: { name: string, params?: unknown, handler: RpcHandler<any> }): void {
    if (typeof method?.name !== 'string' || !METHOD_NAME.test(method.name)) {
      throw new TypeError(`RPC method name must match ${METHOD_NAME} (got ${JSON.stringify(method?.name)})`)
    }
    if (typeof method.handler !== 'function') throw new TypeError(`RPC method '${method.name}' needs a handler function`)
    if (this.#methods.has(method.name) || method.name === 'authenticate') throw new RpcDuplicateMethodError(method.name)
    const schema = (method.params ?? { type: 'object' }) as TSchema
    this.#methods.set(method.name, { name: method.name, schema, check: compileChecker(schema, { copy: false }), handler: method.handler })
  }

  /** Registers several methods at once (a plugin's method table). */
  registerAll (methods: readonly AnyRpcMethod[]): void {
    for (const m of methods) this.register(m)
  }

  has (name: string): boolean { return this.#methods.has(name) }
  get names (): string[] { return [...this.#methods.keys()].sort() }
  /** The params schema a method was registered with (for docs, clients and fuzzing). */
  schemaOf (name: string): TSchema | undefined { return this.#methods.get(name)?.schema }

  /** Validates params and runs the handler. Throws RpcUnknownMethodError / RpcInvalidParamsError. */
  invoke (name: string, params: unknown, ctx: RpcContext): unknown {
    const method = this.#methods.get(name)
    if (!method) throw new RpcUnknownMethodError(name)
    // Missing or null params mean "all defaults", as in the reference server.
    const checked = method.check(params ?? {})
    if (!checked.ok) throw new RpcInvalidParamsError(name, checked.issues)
    return method.handler(checked.value, ctx)
  }

  registerBinary (type: number, handler: BinaryHandler): void {
    if (!Number.isInteger(type) || type < 0 || type > 255) throw new TypeError('binary frame type must be a byte')
    if (this.#binary.has(type)) throw new TypeError(`binary frame type ${type} is already registered`)
    this.#binary.set(type, handler)
  }

  binaryHandler (type: number): BinaryHandler | undefined { return this.#binary.get(type) }

  /** Capabilities announced by `server_info` (e.g. "pty-binary"). */
  addCapability (name: string): void {
    this.#capabilities.add(name)
    this.#capabilityList = [...this.#capabilities].sort()
  }

  get capabilities (): readonly string[] { return this.#capabilityList }
}
