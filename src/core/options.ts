import type { Static, TSchema } from 'typebox'
import { ConfigError } from './errors.js'
import { compileChecker } from './schema.js'

// Keys Fastify adds to every plugin's options object; they are not ours to validate.
const FASTIFY_RESERVED = ['prefix', 'logLevel', 'logSerializers']

/**
 * Parses a plugin's (or the server's) options once, at registration: applies defaults,
 * rejects unknown keys and wrong types with a ConfigError naming each bad option.
 */
export function parseOptions<S extends TSchema> (schema: S, raw: unknown, owner: string, { pluginOptions = true } = {}): Static<S> {
  const input: Record<string, unknown> = { ...(raw as Record<string, unknown> | undefined ?? {}) }
  if (pluginOptions) for (const k of FASTIFY_RESERVED) delete input[k]
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k]
  const checked = compileChecker<Static<S>>(schema)(input)
  if (checked.ok) return checked.value
  const details = checked.issues.map(i => `${i.path || '(options)'} ${i.message}`)
  throw new ConfigError(`invalid ${owner} option ${details[0]}`, details)
}
