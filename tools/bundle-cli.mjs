// Bundles the two CLIs (dist/bin/*.js, as tsc wrote them) into one ES module file each, in
// dist/cli/: what package.json `bin` and `npm start` run.
//
// Why: start-up of an unbundled CLI is mostly Node's ES module loader resolving, reading and
// linking ~1,000 module files (typebox alone has 709): `claudette-server --help` took 0.79 s,
// bundled 0.30 s (docs/performance.md). The library entry (dist/src) stays unbundled for
// embedders. Native addons and the lazily loaded mDNS responder stay outside the bundle.
// Source maps chain back to the TypeScript sources (tsc's maps are read as input maps), so stack
// traces name src/ and bin/ files. The test suite runs the unbundled dist/bin/ (its coverage
// tool does not map a bundle back to the sources) and checks the bundles in test/bin/bundle.test.ts.
import { build } from 'esbuild'

await build({
  entryPoints: ['dist/bin/claudette-server.js', 'dist/bin/claudette.js'],
  outdir: 'dist/cli',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Loaded from node_modules at run time: native code (found through its own package paths), and
  // @homebridge/ciao, which the mDNS plugin imports only when advertising is on.
  external: ['better-sqlite3', '@lydell/node-pty', '@homebridge/ciao'],
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __claudetteCreateRequire } from 'node:module'; const require = __claudetteCreateRequire(import.meta.url);" },
  logLevel: 'warning',
})
