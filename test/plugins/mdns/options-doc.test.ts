// docs/plugins/mdns.md's options table is checked against the MdnsOptions TypeBox schema
// (STYLE.md §2.10): every option documented, nothing documented that does not exist, and the
// documented type, range and default are the schema's. Host-safe: reads files only.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { MdnsOptions } from '../../../src/plugins/mdns/index.js'
import { ROOT } from '../../helpers/netns.js'

interface Prop { type: string, default?: unknown, minimum?: number, maximum?: number, minLength?: number, maxLength?: number }

t.test('the options table matches the schema', async t => {
  const doc = readFileSync(join(ROOT, 'docs/plugins/mdns.md'), 'utf8')
  const section = doc.slice(doc.indexOf('## Options'), doc.indexOf('\n## ', doc.indexOf('## Options') + 1))
  const rows = section.split('\n').filter(l => /^\| `[A-Za-z]+` \|/.test(l)).map(l => l.split('|').map(c => c.trim()))
  const documented = new Map(rows.map(r => [r[1]!.replace(/`/g, ''), { type: r[2]!, default: r[3]! }]))
  const props = (MdnsOptions as unknown as { properties: Record<string, Prop> }).properties
  t.same([...documented.keys()].sort(), Object.keys(props).sort(), 'the same option names')
  for (const [name, p] of Object.entries(props)) {
    const d = documented.get(name)
    if (!d) continue
    t.ok(d.type.startsWith(p.type), `${name}: documented type '${d.type}' is the schema's ${p.type}`)
    if (p.minLength !== undefined) t.ok(d.type.includes(`${p.minLength}–${p.maxLength}`), `${name}: length ${p.minLength}–${p.maxLength} documented`)
    if (p.minimum !== undefined) t.ok(d.type.includes(`${p.minimum}–${p.maximum}`), `${name}: range ${p.minimum}–${p.maximum} documented`)
    if (p.default !== undefined) t.equal(d.default, `\`${String(p.default)}\``, `${name}: default ${String(p.default)}`)
    else t.notMatch(d.default, /^`[^`]*`$/, `${name}: no literal default documented for an option without one`)
  }
})
