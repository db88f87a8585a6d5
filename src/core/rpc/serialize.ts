// The wire's JSON text, in one place. Every server message is an object whose keys are in
// alphabetical order, as the reference server prints them: the envelopes below spell their keys
// in that order, and a payload built from a bag of fields goes through `sortKeys`.

/** The id as JSON; an id that cannot be serialized (nested too deeply) is echoed as null. */
const idJson = (id: unknown): string => {
  try { return JSON.stringify(id ?? null) ?? 'null' } catch { return 'null' }
}

/** An event frame's text: `{"event":…,"payload":…}`. */
export const serializeEvent = (event: string, payload: unknown): string =>
  `{"event":${JSON.stringify(event)},"payload":${JSON.stringify(payload ?? null)}}`

/** A successful reply's text: `{"id":…,"result":…}`. Throws if `result` cannot be serialized. */
export const serializeReply = (id: unknown, result: unknown): string =>
  `{"id":${idJson(id)},"result":${JSON.stringify(result ?? null)}}`

/** An error reply's text: `{"error":{"code":…,"data":…,"message":…},"id":…}` (`data` only when given). */
export const serializeErrorReply = (id: unknown, code: number, message: string, data?: unknown): string =>
  `{"error":${JSON.stringify(data === undefined ? { code, message } : { code, data, message })},"id":${idJson(id)}}`

/**
 * A copy of `o` with its own keys in the wire's order: ascending by UTF-16 code unit, what
 * `Array.prototype.sort` does with strings. One level only: nested objects keep their order.
 * With `omitNullish`, members that are undefined or null are left out (how the reference prints
 * optional fields). Integer-like keys ("1", "10") are listed first by every JS object, whatever
 * the insertion order, so a map with such keys cannot be put in this order as an object.
 */
export function sortKeys<T extends object> (o: T, opts?: { readonly omitNullish?: boolean }): T {
  const out: Record<string, unknown> = {}
  const src = o as Record<string, unknown>
  for (const k of Object.keys(src).sort()) {
    const v = src[k]
    if (opts?.omitNullish && (v === undefined || v === null)) continue
    out[k] = v
  }
  return out as T
}
