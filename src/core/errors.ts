/**
 * The one error hierarchy and its catalogue. Each condition is one class with a stable code
 * ERR_<AREA>_<CONDITION> that never changes or gets reused; docs/errors.md lists them all (a test
 * holds the two together). Most classes are made by `createError`, in the style of
 * `@fastify/error`: one line per condition, a real constructor, `instanceof` and the fields the
 * call sites read.
 */
export abstract class AppError extends Error {
  abstract readonly code: string
  /** The HTTP status this condition would have (default 500). */
  declare readonly statusCode: number
  /** The wire code: -1 for everything after auth, as the Claudette clients expect. */
  declare readonly rpcCode: number
  /** Whether `message` may be sent to a client (default false: the client sees `Internal error`). */
  declare readonly expose: boolean
  /**
   * Whether the wire carries `code` in `error.data` (default true, so an embedder's codes reach
   * its clients). The built-in conditions set it false: the Claudette apps know them by message.
   */
  declare readonly wireCode: boolean
  /** Extra machine-readable detail for the wire's `error.data`. Never secrets. */
  readonly data?: unknown

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}
// Defaults live on the prototypes, so a subclass (a class field, or createError) overrides them.
Object.assign(AppError.prototype, { statusCode: 500, rpcCode: -1, expose: false, wireCode: true })

/**
 * A handler error whose message is meant for the client as-is (the reference texts such as
 * `PTY not found`). Plugins subclass it with their own codes.
 */
export abstract class ClientError extends AppError {}
Object.assign(ClientError.prototype, { statusCode: 400, expose: true })

type AppErrorBase = abstract new (message: string, options?: ErrorOptions) => AppError

/** How one condition behaves; every member is optional. */
export interface ErrorSpec<A extends unknown[], F extends object> {
  /** Default: the base's (AppError 500, ClientError 400). */
  readonly statusCode?: number
  /** Default: the base's (AppError false, ClientError true). */
  readonly expose?: boolean
  /** Default -1. */
  readonly rpcCode?: number
  /** Default true; false keeps the code off the wire (the built-in conditions). */
  readonly wireCode?: boolean
  /** The class to extend (default AppError). */
  readonly base?: AppErrorBase
  /** Named fields set on the instance from the constructor's arguments (`err.ptyId`). */
  readonly fields?: (args: A) => F
  /** The wire's `error.data` from the constructor's arguments. */
  readonly data?: (args: A) => unknown
}

/** A class made by createError: `new`, `instanceof`, and the entry's code and message template. */
export interface AppErrorClass<C extends string = string, A extends unknown[] = any[], F extends object = object> {
  new (...args: [...A, options?: ErrorOptions]): AppError & Readonly<F> & { readonly code: C }
  readonly prototype: AppError
  readonly code: C
  /**
   * The message, or the function that makes it from the constructor's arguments. (Not `message`:
   * matchers such as tap's read a class's `message` as the message an error must have.)
   */
  readonly template: string | ((...args: A) => string)
}

const isErrorOptions = (v: unknown): v is ErrorOptions =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype && 'cause' in v

/**
 * Makes the class of one condition. `message` is the text, or a function of the constructor's
 * arguments; every constructor takes an `ErrorOptions` (`{ cause }`) after them.
 *
 *     export class PtyLimitError extends createError('ERR_TERM_LIMIT',
 *       (limit: number) => `Too many terminals (limit ${limit} per session)`,
 *       { base: ClientError, statusCode: 429, fields: ([limit]) => ({ limit }) }) {}
 */
export function createError<C extends string, A extends unknown[] = [], F extends object = object> (
  code: C, message: string | ((...args: A) => string), spec: ErrorSpec<A, F> = {},
): AppErrorClass<C, A, F> {
  if (!/^ERR_[A-Z0-9_]+$/.test(code)) throw new TypeError(`error code '${code}' must match ERR_[A-Z0-9_]+`)
  const format = typeof message === 'string' ? () => message : message
  const Base = (spec.base ?? AppError) as unknown as new (message: string, options?: ErrorOptions) => AppError
  class AppErrorOf extends Base {
    declare readonly code: C
    declare static readonly code: C
    declare static readonly template: typeof message
    constructor (...args: A) {
      const last = args.at(-1)
      super(format(...args), isErrorOptions(last) ? last : undefined)
      if (spec.fields) Object.assign(this, spec.fields(args))
      if (spec.data) Object.assign(this, { data: spec.data(args) })
    }
  }
  // Not enumerable: a class stays a plain class to code that walks its properties (tap's matchers).
  Object.defineProperties(AppErrorOf, { name: { value: 'AppError' }, code: { value: code }, template: { value: message } })
  const { statusCode, expose, rpcCode, wireCode } = spec
  Object.assign(AppErrorOf.prototype, { code })
  for (const [k, v] of Object.entries({ statusCode, expose, rpcCode, wireCode })) {
    if (v !== undefined) Object.assign(AppErrorOf.prototype, { [k]: v })
  }
  return AppErrorOf as unknown as AppErrorClass<C, A, F>
}

/** An error reply's `error` member. */
export interface WireError {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

const INTERNAL_ERROR: WireError = { code: -1, message: 'Internal error' }

/**
 * What a client sees of a handler's error. An AppError with `expose` shows its rpcCode, message
 * and data; with `wireCode` (an embedder's condition) `error.data` also carries its code:
 * `{ code, ...data }` for object data, `{ code, detail: data }` for anything else. Every other
 * error is `Internal error`, with the details left to the server log.
 */
export function toWireError (err: unknown): WireError {
  if (!(err instanceof AppError) || !err.expose) return INTERNAL_ERROR
  const data = err.wireCode ? withCode(err.code, err.data) : err.data
  return data === undefined ? { code: err.rpcCode, message: err.message } : { code: err.rpcCode, message: err.message, data }
}

function withCode (code: string, data: unknown): object {
  if (data === undefined) return { code }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return { code, detail: data }
  const { code: _ignored, ...rest } = data as Record<string, unknown>
  return { code, ...rest }
}

// The core catalogue. Built-in conditions keep their code off the wire (`wireCode: false`).

/** An invalid option or configuration value. The message names the option. */
export class ConfigError extends createError('ERR_CONFIG_INVALID',
  (message: string, _details?: readonly string[]) => message,
  { expose: true, wireCode: false, fields: ([, details = []]) => ({ details }) }) {}

/** A file in the home directory could not be read or parsed. Never overwritten. */
export class ConfigFileError extends createError('ERR_CONFIG_FILE',
  (file: string, message: string) => `${file}: ${message}`,
  { expose: true, wireCode: false, fields: ([file]) => ({ file }) }) {}

export class RpcUnknownMethodError extends createError('ERR_RPC_UNKNOWN_METHOD', (method: string) => `Unknown method: ${method}`,
  { statusCode: 404, expose: true, wireCode: false, fields: ([method]) => ({ method }) }) {}

export class RpcInvalidParamsError extends createError('ERR_RPC_INVALID_PARAMS',
  (_method: string, errors: Array<{ path: string, message: string }>) =>
    `Invalid ${errors[0]?.path ? `parameter '${errors[0].path}'` : 'params'}: ${errors[0]?.message ?? 'invalid value'}`,
  { statusCode: 400, expose: true, wireCode: false, data: ([method, errors]) => ({ method, errors }) }) {
  declare readonly data: { method: string, errors: Array<{ path: string, message: string }> }
}

export class RpcDuplicateMethodError extends createError('ERR_RPC_DUPLICATE_METHOD',
  (method: string) => `RPC method '${method}' is already registered`, { fields: ([method]) => ({ method }) }) {}

/** At boot: the installed `ws` or Node.js moved a private field the RPC endpoint relies on. */
export class WsInternalsError extends createError('ERR_RPC_WS_INTERNALS',
  (what: string) => `${what}: the installed ws or Node.js changed an internal the RPC endpoint relies on (src/core/rpc/ws-internals.ts)`) {}

/**
 * A native addon (better-sqlite3, @lydell/node-pty) did not load: one line naming what is
 * unavailable, the package, why, and how to fix the install (src/core/native.ts).
 */
export class NativeModuleError extends createError('ERR_NATIVE_MODULE',
  (impact: string, pkg: string, reason: string, fix: string) => `${impact}: ${pkg} failed to load (${reason}); ${fix}`,
  { expose: true, wireCode: false, fields: ([, pkg]) => ({ package: pkg }) }) {}

/** The process runner was disposed (server closing): the call was not run, or its child was killed. */
export class ProcessRunnerClosedError extends createError('ERR_PROCESS_RUNNER_CLOSED',
  'process runner is closed (server shutting down)', { statusCode: 503 }) {}

/** The process runner's helper died while the call was in flight; the next call starts a new helper. */
export class ProcessRunnerCrashedError extends createError('ERR_PROCESS_RUNNER_CRASHED',
  (reason: string) => `process runner helper exited unexpectedly: ${reason}`) {}

/** More process runner calls waiting than `maxQueued`. */
export class ProcessRunnerBusyError extends createError('ERR_PROCESS_RUNNER_BUSY',
  (limit: number) => `too many processes waiting to run (limit ${limit})`, { statusCode: 503 }) {}
