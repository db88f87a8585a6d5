// docs/protocol.md is checked against src/protocol: its generated part (tools/protocol-doc.ts)
// is current, every method and event of the schemas has a row in the doc, and every method or
// event a row of the doc names exists in the schemas.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { Events, Methods } from '../../src/protocol/index.js'
import { DOC_PATH, renderProtocolDoc, withGenerated } from '../../tools/protocol-doc.js'

const doc = readFileSync(DOC_PATH, 'utf8')

t.test('the generated part of docs/protocol.md is current', async t => {
  t.ok(withGenerated(doc, renderProtocolDoc()) === doc,
    'docs/protocol.md matches src/protocol (run: node --import @tapjs/typescript/import tools/protocol-doc.ts)')
})

t.test('every method and event of the schemas is in the doc, and the doc names no other', async t => {
  const named = new Set<string>()
  for (const line of doc.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1]
    if (!first) continue
    for (const m of first.matchAll(/`([a-z][a-z0-9_]*|[a-z]+(?:-[a-z]+)+)`/g)) named.add(m[1]!)
  }
  const known = new Set([...Object.keys(Methods), ...Object.keys(Events)])
  t.same([...known].filter(n => !named.has(n)), [], 'in the schemas but without a row in the doc')
  t.same([...named].filter(n => !known.has(n)), [], 'named by a row of the doc but not in the schemas')
})
