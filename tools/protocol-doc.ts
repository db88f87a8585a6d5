// Generates the method, event and model tables of docs/protocol.md from the schemas in
// src/protocol, between the `protocol:generated` markers. test/protocol/doc.test.ts fails when
// the doc is not current.
//   node --import @tapjs/typescript/import tools/protocol-doc.ts          rewrite the doc
//   node --import @tapjs/typescript/import tools/protocol-doc.ts --check  exit 1 when it is stale
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as protocol from '../src/protocol/index.js'

type Schema = Record<string, any>

export const DOC_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'protocol.md')
export const BEGIN = '<!-- protocol:generated:begin (tools/protocol-doc.ts writes this part from src/protocol; do not edit by hand) -->'
export const END = '<!-- protocol:generated:end -->'

const AREAS: Array<[string, Record<string, { params: Schema, result: Schema }>]> = [
  ['Handshake and devices', protocol.AuthMethods],
  ['Server', protocol.CoreMethods],
  ['Repositories, workspaces, diffs and settings', protocol.ReposMethods],
  ['Chat sessions and agents', protocol.AgentsMethods],
  ['Terminals', protocol.TerminalsMethods],
]

/** Models named in the tables: the protocol's exported shapes, by object identity. */
function modelNames (): Map<object, string> {
  const names = new Map<object, string>()
  for (const [name, value] of Object.entries(protocol)) {
    if (!/^[A-Z]/.test(name) || /Params$|Methods$|Envelope$/.test(name) || typeof value !== 'object' || value === null) continue
    if (['NoParams', 'NullResult', 'Byte', 'Events', 'Methods', 'WireError', 'WIRE_TERMINAL_LIMITS'].includes(name)) continue
    if (!('type' in value || 'anyOf' in value || 'allOf' in value)) continue
    if (!names.has(value)) names.set(value, name)
  }
  return names
}

class Renderer {
  readonly names = modelNames()
  readonly used = new Set<string>()

  /** `top`: a method's result or an event's payload (spelled out unless it is a shared model); `expand`: a model's definition. */
  type (s: Schema, at: 'ref' | 'top' | 'expand' = 'ref'): string {
    const named = this.names.get(s)
    if (named && at !== 'expand' && !(at === 'top' && /(Result|Payload)$/.test(named))) { this.used.add(named); return named }
    if (s.anyOf) {
      const parts = (s.anyOf as Schema[]).map(x => this.type(x))
      return parts.join(' | ')
    }
    if (s.allOf) return (s.allOf as Schema[]).map(x => this.type(x)).join(' & ')
    if ('const' in s) return JSON.stringify(s.const)
    switch (s.type) {
      case 'string': case 'boolean': case 'null': return s.type
      case 'number': return 'number'
      case 'integer': return s.minimum !== undefined || s.maximum !== undefined ? `integer (${s.minimum ?? ''}..${s.maximum ?? ''})` : 'integer'
      case 'array': {
        const item = this.type(s.items)
        return /[ |&]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`
      }
      case 'object': return this.object(s)
    }
    return 'any'
  }

  fields (s: Schema): string[] {
    const required = new Set<string>(s.required ?? [])
    const out = Object.entries((s.properties ?? {}) as Record<string, Schema>).map(([k, v]) => {
      const dflt = 'default' in v ? ` = ${JSON.stringify(v.default)}` : ''
      return `${k}${required.has(k) || 'default' in v ? '' : '?'}: ${this.type(v)}${dflt}`
    })
    if (s.patternProperties) out.push(...Object.values(s.patternProperties as Record<string, Schema>).map(v => `[key: string]: ${this.type(v)}`))
    if (s.additionalProperties === true) out.push('…')
    return out
  }

  object (s: Schema): string {
    const f = this.fields(s)
    return f.length === 0 ? '{}' : `{${f.join(', ')}}`
  }

  params (s: Schema): string {
    const f = this.fields(s)
    return f.length === 0 ? '—' : f.map(x => `\`${x}\``).join(', ')
  }
}

const cell = (text: string): string => text.replaceAll('|', '\\|')

/** The generated part of docs/protocol.md (markers included). */
export function renderProtocolDoc (): string {
  const r = new Renderer()
  const out: string[] = [BEGIN, '', '## Method reference', '',
    'Generated from `src/protocol`. A parameter written `name: type = value` may be left out (it takes that value);',
    '`name?` may be left out. `rows`/`cols` are bounded by the server\'s `maxRows`/`maxCols` (shown: the widest bound).', '']
  for (const [title, methods] of AREAS) {
    out.push(`### ${title}`, '', '| Method | Params | Result |', '|---|---|---|')
    for (const [name, m] of Object.entries(methods)) out.push(`| \`${name}\` | ${cell(r.params(m.params))} | \`${cell(r.type(m.result, 'top'))}\` |`)
    out.push('')
  }
  out.push('## Event reference', '', 'Events are `{"event": <name>, "payload": <payload>}` frames without `id`.', '', '| Event | Payload |', '|---|---|')
  for (const [name, payload] of Object.entries(protocol.Events)) out.push(`| \`${name}\` | \`${cell(r.type(payload as Schema, 'top'))}\` |`)
  out.push('', '## Models', '')
  const done = new Set<string>()
  const byName = new Map([...r.names].map(([schema, name]) => [name, schema as Schema]))
  for (;;) {
    const next = [...r.used].filter(n => !done.has(n)).sort()[0]
    if (next === undefined) break
    done.add(next)
    const s = byName.get(next)!
    const f = s.type === 'object' && s.properties ? r.fields(s) : null
    out.push(f ? `- **${next}**: ${f.map(x => `\`${cell(x)}\``).join(', ')}` : `- **${next}**: \`${cell(r.type(s, 'expand'))}\``)
  }
  // Models were discovered while rendering: list them in name order.
  const models = out.splice(out.indexOf('## Models') + 2)
  out.push(...models.sort(), '', END)
  return out.join('\n')
}

/** The doc with its generated part replaced by `generated`. */
export function withGenerated (doc: string, generated: string): string {
  const a = doc.indexOf(BEGIN)
  const b = doc.indexOf(END)
  if (a < 0 || b < a) throw new Error(`docs/protocol.md has no generated section (${BEGIN} … ${END})`)
  return doc.slice(0, a) + generated + doc.slice(b + END.length)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = readFileSync(DOC_PATH, 'utf8')
  const next = withGenerated(doc, renderProtocolDoc())
  if (process.argv.includes('--check')) {
    if (next !== doc) { console.error('docs/protocol.md is not current: run tools/protocol-doc.ts'); process.exit(1) }
  } else if (next !== doc) {
    writeFileSync(DOC_PATH, next)
    console.log('docs/protocol.md updated')
  }
}
