// `claudette-server/client` (package.json "exports") is the client SDK alone: importing it from
// the built package loads none of the server's stack. Checked in a fresh process whose module
// resolve hook logs every URL it resolves.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { tempHome } from '../helpers/server.js'

const root = join(import.meta.dirname, '..', '..')

t.test('claudette-server/client loads the client SDK without the server stack', async t => {
  const dir = tempHome(t)
  const log = join(dir, 'resolved.txt')
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs'
export async function resolve (specifier, context, next) {
  const r = await next(specifier, context)
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n')
  return r
}
`)
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'
register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})
`)
  // Run from the package root, so that the package resolves itself by name through "exports".
  const out = execFileSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e',
    `const c = await import('claudette-server/client'); console.log(typeof c.ClaudetteClient, typeof c.pair, typeof c.TrustStore, typeof c.createServer)`,
  ], { cwd: root, encoding: 'utf8' })
  t.equal(out.trim(), 'function function function undefined', 'the SDK, and no server factory')
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean)
  t.ok(urls.some(u => u.endsWith('/dist/src/client/index.js')), 'resolved to the built client entry')
  const server = urls.filter(u => /\/node_modules\/(fastify|@fastify|@lydell\/node-pty|better-sqlite3|@homebridge\/ciao|typebox|tsyringe|pino)\//.test(u) ||
    /\/dist\/src\/(server|plugins)\b/.test(u))
  t.same(server, [], 'nothing of the server stack was loaded')
})
