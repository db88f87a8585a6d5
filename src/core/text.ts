// Text that a client or an agent chose (device, repository and chat names) reaches the
// operator's terminal through the CLIs. Control characters there can move the cursor, rewrite
// the window title or erase a row; bidi controls can reorder what is shown. Names are stored
// without them, and the CLIs escape them on output for rows stored before that.

/** Whitespace controls (and the Unicode line/paragraph separators): a space in a stored name. */
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085\u2028\u2029]/g
/** C0, DEL, C1, and the bidi formatting characters (LRM/RLM, ALM, embeddings/overrides, isolates). */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g
/** What JSON.stringify leaves raw of UNSAFE (it escapes C0 itself). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, '0')

/**
 * A client-set name without control or bidi characters: whitespace controls become spaces,
 * the rest is dropped, and the result is trimmed. Callers apply their own default or error
 * when the result is empty.
 */
export function stripControls (text: string): string {
  return text.replace(WHITESPACE_CONTROLS, ' ').replace(UNSAFE, '').trim()
}

/**
 * Text safe to print to a terminal: every control and bidi character becomes visible escape
 * text (`\x1b`, `\u202e`), and a backslash stays as it is.
 */
export function escapeControls (text: string): string {
  return text.replace(UNSAFE, c => c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`)
}

/** JSON text safe to print to a terminal: the characters JSON.stringify leaves raw become `\uXXXX` escapes (still valid JSON, same value). */
export function escapeControlsInJson (json: string): string {
  return json.replace(UNSAFE_IN_JSON, c => `\\u${hex(c, 4)}`)
}
