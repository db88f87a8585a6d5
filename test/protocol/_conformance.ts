// Checks wire values against the protocol's schemas, strictly: an object may carry exactly the
// properties its schema names (a field the server sends but the protocol does not describe is
// as much a mismatch as a missing one).
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

type Json = Record<string, unknown>

/** A plain JSON Schema copy of `schema` in which every object without its own rule takes no unlisted keys. */
export function strict (schema: TSchema): Json {
  const walk = (s: unknown, inAllOf: boolean): unknown => {
    if (Array.isArray(s)) return s.map(x => walk(x, inAllOf))
    if (s === null || typeof s !== 'object') return s
    const out: Json = {}
    for (const [k, v] of Object.entries(s)) {
      // `properties` and `patternProperties` map names to schemas; everything else is a keyword.
      if (k === 'properties' || k === 'patternProperties') {
        out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, sub]) => [name, walk(sub, false)]))
      } else {
        out[k] = walk(v, k === 'allOf')
      }
    }
    // An object inside allOf is one part of an intersection: the other parts add keys.
    if (out.type === 'object' && out.properties && !('additionalProperties' in out) && !('patternProperties' in out) && !inAllOf) {
      out.additionalProperties = false
    }
    return out
  }
  return walk(JSON.parse(JSON.stringify(schema)), false) as Json
}

/** The mismatches of `value` against `schema` (strict), as `path: message` lines; empty when it conforms. */
export function mismatches (schema: TSchema, value: unknown): string[] {
  const compiled = Compile(strict(schema) as never)
  if (compiled.Check(value)) return []
  return [...compiled.Errors(value)].map(e => `${(e as { instancePath: string }).instancePath || '/'}: ${(e as { message: string }).message}`)
}
