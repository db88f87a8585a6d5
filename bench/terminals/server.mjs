// The server side of the terminals benchmark: a real claudette-server in its own process, run
// from the compiled dist/ as `npm start` runs it (no TypeScript loader in the measured process),
// on 127.0.0.1 with a fresh home. Prints one JSON line, then runs until stdin closes.
// `npm run bench:terminals` builds dist/ first. A second argument names another build's dist/
// directory (BENCH_BASELINE in run.ts: the same run against an older head).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [home, dist = join(import.meta.dirname, '..', '..', 'dist')] = process.argv.slice(2)
if (!home) throw new Error('usage: server.mjs <home> [<dist dir>]')
const { createServer } = await import(pathToFileURL(join(dist, 'src', 'index.js')).href)
const server = await createServer({
  home,
  bind: '127.0.0.1',
  port: 0,
  mdns: false,
  logLevel: 'warn',
  connectHost: '127.0.0.1',
  // BENCH_TERMINALS='{"maxFrameBytes":131072}': terminals options to try (experiments).
  terminals: { shell: '/bin/sh', ...JSON.parse(process.env.BENCH_TERMINALS ?? '{}') },
})
await server.listen()
process.stdout.write(JSON.stringify({ port: server.port, token: server.connectionString.split('/').pop(), fingerprint: server.fingerprint, home }) + '\n')
process.stdin.resume()
process.stdin.on('end', () => { void server.close().then(() => process.exit(0)) })
