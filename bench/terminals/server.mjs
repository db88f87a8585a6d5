// The server side of the terminals benchmark: a real claudette-server in its own process, run
// from the compiled dist/ as `npm start` runs it (no TypeScript loader in the measured process),
// on 127.0.0.1 with a fresh home. Prints one JSON line, then runs until stdin closes.
// `npm run bench:terminals` builds dist/ first.
import { createServer } from '../../dist/src/index.js'

const home = process.argv[2]
if (!home) throw new Error('usage: server.mjs <home>')
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
