// Prints the figures the architecture is held to: the largest source files and functions, the
// import cycles between source modules (type-only imports count: they couple the files just the
// same), and the fixed waits left in tests. Run it from the project root:
//
//   node tools/structure-report.mjs [--top N] [--json]
//
// It reads the TypeScript sources with the compiler's own parser, so it needs only the
// project's devDependencies.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const args = process.argv.slice(2)
const top = Number(args[args.indexOf('--top') + 1]) || 10
const asJson = args.includes('--json')
const root = process.cwd()

function walk (dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'fixtures') out.push(...walk(p))
    } else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

const sourceFiles = [...walk(join(root, 'src')), ...walk(join(root, 'bin'))]
const files = []
const functions = []
const imports = new Map()

for (const file of sourceFiles) {
  const text = readFileSync(file, 'utf8')
  const rel = relative(root, file)
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  files.push({ file: rel, lines: sf.getLineAndCharacterOfPosition(sf.end).line + (text.endsWith('\n') ? 0 : 1) })
  const deps = new Set()
  const visit = (node, owner) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text
      if (spec.startsWith('.')) deps.add(relative(root, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))))
    }
    let name
    if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) ||
        ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
      name = ts.isConstructorDeclaration(node) ? 'constructor' : node.name?.getText(sf) ?? '(anonymous)'
    } else if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && node.body && ts.isBlock(node.body)) {
      const p = node.parent
      name = ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) ? p.name.getText(sf) : '(callback)'
    }
    if (name !== undefined && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const end = sf.getLineAndCharacterOfPosition(node.end).line
      const cls = ts.isClassLike(node.parent) && node.parent.name ? node.parent.name.getText(sf) + '.' : ''
      const full = owner ? `${owner} > ${cls}${name}` : cls + name
      functions.push({ file: rel, line: start + 1, name: full, lines: end - start + 1 })
      ts.forEachChild(node, c => visit(c, full))
      return
    }
    ts.forEachChild(node, c => visit(c, owner))
  }
  visit(sf, '')
  imports.set(rel, deps)
}

// Strongly connected components (Tarjan) of the import graph: each with more than one file is a cycle.
const cycles = []
{
  let index = 0
  const idx = new Map(); const low = new Map(); const stack = []; const on = new Set()
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v)
    for (const w of imports.get(v) ?? []) {
      if (!imports.has(w)) continue
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const comp = []
      let w
      do { w = stack.pop(); on.delete(w); comp.push(w) } while (w !== v)
      if (comp.length > 1) cycles.push(comp.sort())
    }
  }
  for (const v of imports.keys()) if (!idx.has(v)) strong(v)
}

// Fixed waits in tests: a sleep helper called, or a timer promise awaited for a constant time.
const WAIT = /\b(?:sleep|delay)\s*\(\s*\d|await\s+(?:setTimeout|setTimeoutP|wait)\s*\(\s*\d|new Promise\s*\(\s*\(?\s*\w+\s*\)?\s*=>\s*setTimeout\s*\(\s*\w+\s*,\s*\d/g
const SLEEP_DEF = /(?:function\s+sleep\b|const\s+sleep\s*=)/g
// test/helpers/wait.ts's named delays: a wait for time itself, each with the reason no event exists.
const NAMED_DELAY = /\b(?:observe|elapse)\s*\(/
const waits = []
const polls = []
const namedDelays = []
let sleepDefinitions = 0
for (const file of walk(join(root, 'test'))) {
  const text = readFileSync(file, 'utf8')
  sleepDefinitions += (text.match(SLEEP_DEF) ?? []).length
  const isWaitHelper = relative(root, file) === join('test', 'helpers', 'wait.ts')
  text.split('\n').forEach((line, i) => {
    if (/^\s*(\/\/|\*)/.test(line)) return
    // A wait inside a loop head is a hand-rolled poll (a predicate wait without the shared helper).
    if (!isWaitHelper && NAMED_DELAY.test(line)) namedDelays.push(`${relative(root, file)}:${i + 1}`)
    if (line.match(WAIT)) (/\b(for|while)\s*\(/.test(line) ? polls : waits).push(`${relative(root, file)}:${i + 1}`)
  })
}

files.sort((a, b) => b.lines - a.lines)
functions.sort((a, b) => b.lines - a.lines)
const report = {
  sourceFiles: files.length,
  sourceLines: files.reduce((n, f) => n + f.lines, 0),
  largestFiles: files.slice(0, top),
  longestFunctions: functions.slice(0, top),
  importCycles: cycles,
  fixedWaitsInTests: waits.length,
  fixedWaitFiles: new Set(waits.map(w => w.split(':')[0])).size,
  handRolledPollsInTests: polls.length,
  namedDelaysInTests: namedDelays.length,
  sleepDefinitionsInTests: sleepDefinitions,
}
if (asJson) {
  console.log(JSON.stringify({ ...report, fixedWaits: waits, handRolledPolls: polls, namedDelays }, null, 2))
} else {
  console.log(`source: ${report.sourceFiles} files, ${report.sourceLines} lines (src/ and bin/)`)
  console.log(`\n${top} largest files:`)
  for (const f of report.largestFiles) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`)
  console.log(`\n${top} longest functions (lines, including nested ones):`)
  for (const f of report.longestFunctions) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}:${f.line}  ${f.name}`)
  console.log(`\nimport cycles (type-only imports included): ${cycles.length}`)
  for (const c of cycles) console.log(`  ${c.join(' <-> ')}`)
  console.log(`\nfixed waits in tests: ${waits.length} in ${report.fixedWaitFiles} files; hand-rolled polls: ${polls.length}; sleep helpers defined: ${sleepDefinitions}`)
  for (const w of waits) console.log(`  ${w}`)
  if (polls.length) console.log(`hand-rolled polls:\n${polls.map(w => `  ${w}`).join('\n')}`)
  console.log(`named delays (observe/elapse, each with its reason): ${namedDelays.length}`)
  for (const w of namedDelays) console.log(`  ${w}`)
}
