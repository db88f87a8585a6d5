/**
 * The one error hierarchy. Each subclass has a stable code ERR_<AREA>_<CONDITION>
 * that never changes or gets reused; docs/errors.md lists them all.
 * `rpcCode` is the wire code (-1 for everything after auth, as the Claudette clients expect);
 * `expose` says whether `message` may be sent to a client.
 */
export abstract class AppError extends Error {
  abstract readonly code: string
  readonly statusCode: number = 500
  readonly rpcCode: number = -1
  readonly expose: boolean = false
  /** Extra machine-readable detail for the wire's `error.data`. Never secrets. */
  readonly data?: unknown

  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** An invalid option or configuration value. The message names the option. */
export class ConfigError extends AppError {
  readonly code = 'ERR_CONFIG_INVALID'
  override readonly expose = true
  constructor (message: string, readonly details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A file in the home directory could not be read or parsed. Never overwritten. */
export class ConfigFileError extends AppError {
  readonly code = 'ERR_CONFIG_FILE'
  override readonly expose = true
  constructor (readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options)
  }
}

export class RpcUnknownMethodError extends AppError {
  readonly code = 'ERR_RPC_UNKNOWN_METHOD'
  override readonly statusCode = 404
  override readonly expose = true
  constructor (readonly method: string) { super(`Unknown method: ${method}`) }
}

export class RpcInvalidParamsError extends AppError {
  readonly code = 'ERR_RPC_INVALID_PARAMS'
  override readonly statusCode = 400
  override readonly expose = true
  override readonly data: { method: string, errors: Array<{ path: string, message: string }> }
  constructor (method: string, errors: Array<{ path: string, message: string }>) {
    const first = errors[0]
    const where = first?.path ? `parameter '${first.path}'` : 'params'
    super(`Invalid ${where}: ${first?.message ?? 'invalid value'}`)
    this.data = { method, errors }
  }
}

export class RpcDuplicateMethodError extends AppError {
  readonly code = 'ERR_RPC_DUPLICATE_METHOD'
  constructor (readonly method: string) { super(`RPC method '${method}' is already registered`) }
}

/**
 * A handler error whose message is meant for the client as-is (the reference texts such as
 * `PTY not found`). Plugins subclass it with their own codes.
 */
export abstract class ClientError extends AppError {
  override readonly statusCode: number = 400
  override readonly expose = true
}
