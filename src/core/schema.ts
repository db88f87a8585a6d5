import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

export interface SchemaIssue { path: string, message: string }

/** Turns TypeBox/AJV-style errors into `{path, message}` with dotted parameter names. */
export function describeErrors (errors: Iterable<{ keyword: string, instancePath: string, message: string, params?: unknown, schemaPath?: string }>): SchemaIssue[] {
  const out: SchemaIssue[] = []
  for (const e of errors) {
    let path = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
    let message = e.message
    const params = e.params as { requiredProperties?: string[], additionalProperties?: string[] } | undefined
    if (e.keyword === 'boolean' && e.schemaPath?.endsWith('/additionalProperties')) {
      // TypeBox reports an unknown key first as the key failing the `false` schema ("schema is false").
      message = 'is not a known option'
    } else if (e.keyword === 'required' && params?.requiredProperties?.length) {
      const name = params.requiredProperties[0]!
      path = path ? `${path}.${name}` : name
      message = 'is required'
    } else if (e.keyword === 'additionalProperties' && params?.additionalProperties?.length) {
      const name = params.additionalProperties[0]!
      path = path ? `${path}.${name}` : name
      message = 'is not a known option'
    }
    if (out.some(o => o.path === path)) continue
    out.push({ path, message })
  }
  return out
}

/**
 * A compiled checker that applies schema defaults (on a copy) and reports issues.
 * Accepts TypeBox schemas and plain JSON Schema objects alike.
 */
export function compileChecker<T> (schema: TSchema | Record<string, unknown>, { copy = true } = {}): (value: unknown) => { ok: true, value: T } | { ok: false, issues: SchemaIssue[] } {
  const compiled = Compile(schema as TSchema)
  return (value) => {
    // Defaults are written into the value: copy it unless the caller owns it (freshly parsed JSON).
    const withDefaults = applyDefaults(schema as Record<string, unknown>, copy ? structuredCloneSafe(value) : value)
    if (compiled.Check(withDefaults)) return { ok: true, value: withDefaults as T }
    return { ok: false, issues: describeErrors(compiled.Errors(withDefaults) as never) }
  }
}

/**
 * Fills in `default`s of object properties, recursively, on an already-copied value. Works on
 * any JSON Schema (TypeBox's Value.Default ignores plain schemas without its internal kind).
 */
function applyDefaults (schema: Record<string, unknown>, value: unknown): unknown {
  if (value === undefined && 'default' in schema) return structuredCloneSafe(schema.default)
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined
  if (props && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>
    for (const [k, sub] of Object.entries(props)) {
      const next = applyDefaults(sub, obj[k])
      if (next !== undefined) obj[k] = next
    }
  }
  return value
}

// Option objects may hold functions and class instances (providers, plugins, streams):
// structuredClone would throw on those, so copy plain objects one level at a time.
function structuredCloneSafe (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structuredCloneSafe)
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = structuredCloneSafe(v)
    return out
  }
  return value
}
