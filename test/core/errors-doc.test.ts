// docs/errors.md is checked against the catalogue: every code has a row with its HTTP status, its
// RPC code and its message, and the page names no code the catalogue does not have (except the
// retired ones it lists as such).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { AppError } from '../../src/core/errors.js'

const root = join(import.meta.dirname, '..', '..')
const modules = [
  'src/core/errors.ts',
  ...readdirSync(join(root, 'src/plugins')).map(p => `src/plugins/${p}/errors.ts`),
  'src/client/errors.ts',
  'src/service/errors.ts',
]

interface Entry { name: string, code: string, statusCode: number, rpcCode: number, expose: boolean, message: unknown }

async function catalogue (): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>()
  for (const m of modules) {
    for (const [name, value] of Object.entries(await import(join(root, m)) as Record<string, unknown>)) {
      if (typeof value !== 'function' || !(value.prototype instanceof AppError)) continue
      const cls = value as unknown as { code?: unknown, template?: unknown, prototype: AppError }
      if (typeof cls.code !== 'string') continue // an abstract base
      const p = cls.prototype
      entries.set(cls.code, { name, code: cls.code, statusCode: p.statusCode, rpcCode: p.rpcCode, expose: p.expose, message: cls.template })
    }
  }
  return entries
}

const SENTINEL = '\u0001'
/** Stands for any argument: a string, or an object whose `message` is the sentinel (an Error, a wire error). */
const argument = Object.assign(new String(SENTINEL), { message: SENTINEL })
const flat = (s: string): string => s.replace(/`/g, '').replace(/\s+/g, ' ')

/** The fixed parts of a message: the text itself, or what a message function writes around its arguments. */
function messagePieces (message: unknown): string[] {
  let text: string
  if (typeof message === 'string') text = message
  else if (typeof message === 'function') {
    try { text = message(...Array.from({ length: message.length }, () => argument)) } catch { return [] }
  } else return []
  return text.split(new RegExp(`${SENTINEL}|NaN`)).map(s => flat(s).trim()).filter(s => (s.match(/\w/g) ?? []).length >= 3).map(s => s.slice(0, 40))
}

t.test('docs/errors.md lists every code of the catalogue with its status, RPC code and message, and no other', async t => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8')
  const entries = await catalogue()
  t.ok(entries.size >= 60, `the catalogue has ${entries.size} conditions`)

  const rows = new Map<string, string[][]>()
  for (const line of doc.split('\n')) {
    const m = /^\| `(ERR_[A-Z0-9_]+)` \|/.exec(line)
    if (!m) continue
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map(c => c.trim())
    rows.set(m[1]!, [...rows.get(m[1]!) ?? [], cells])
  }
  // The first column of the "Retired codes" table.
  const retiredSection = /## Retired codes\n([\s\S]*?)(?:\n## |$)/.exec(doc)?.[1] ?? ''
  const retired = new Set(retiredSection.split('\n').flatMap(l => /^\| (ERR_[^|]*)\|/.exec(l)?.[1]?.match(/ERR_[A-Z0-9_]+/g) ?? []))

  for (const e of entries.values()) {
    const own = rows.get(e.code)
    if (!own) { t.fail(`${e.code} (${e.name}) has no row in docs/errors.md`); continue }
    for (const [, when, http, rpc] of own) {
      t.ok(http === '—' || http === String(e.statusCode), `${e.code}: HTTP column ${http} is ${e.statusCode}`)
      t.ok(rpc === '—' || rpc === "server's" || rpc === String(e.rpcCode), `${e.code}: RPC column ${rpc} is ${e.rpcCode}`)
      t.ok(rpc === '—' || e.expose, `${e.code}: an RPC code is shown only for a condition a client sees`)
      void when
    }
    const text = flat(own.map(cells => cells.join(' ')).join(' '))
    for (const piece of messagePieces(e.message)) t.ok(text.includes(piece), `${e.code}: the doc shows its message ('${piece}')`)
  }

  // ERR_MY_* are the page's examples of an embedder's codes; ERR_CONFIG_* and the like name a family.
  for (const code of new Set(doc.match(/ERR_[A-Z0-9_]+/g))) {
    if (code.startsWith('ERR_MY_') || code.endsWith('_')) continue
    if (retired.has(code)) t.notOk(entries.has(code), `${code} is retired, not in the catalogue`)
    else t.ok(entries.has(code), `${code} in docs/errors.md is in the catalogue (or listed as retired)`)
  }
})
