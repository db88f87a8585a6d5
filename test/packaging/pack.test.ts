// The package as npm users get it: `npm pack`, then the tarball installed into an empty project
// (the warm npm cache; better-sqlite3 compiles where its prebuilt download is unreachable), and:
// 1 `npx claudette-server --help`; 2 a started server, paired through the installed `claudette`,
// answers a call; 3 both exports import (and the prebuilt node-pty spawns a pty); 4 a consumer
// .ts file type-checks with skipLibCheck false; 5 the README's embedding snippet runs as written;
// 6 installed with --ignore-scripts, `--help` works and `run` starts or prints the one line.
// dist/ is built by `npm test`'s pretest; `npm pack --ignore-scripts` packs it without rebuilding
// it under the test files that run it meanwhile (prepack's build is checked by name below).
import { execFile, type ExecFileException } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { runCli, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'

// Installs compile better-sqlite3 (about a minute alone, several on a loaded machine).
t.setTimeout(30 * 60_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string, scripts: Record<string, string>, devDependencies: Record<string, string>, files: string[]
}

interface Run { code: number, stdout: string, stderr: string, ms: number }

/** Runs a command under `nice` (npm's own npm_* variables removed, so a nested npm acts as a user's would). */
function sh (cwd: string, cmd: string, args: string[], opts: { input?: string, timeoutMs?: number } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v
  const started = Date.now()
  return new Promise(resolve => {
    const child = execFile('nice', ['-n', '10', cmd, ...args], { cwd, env, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 20 * 60_000 },
      (err: ExecFileException | null, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, ms: Date.now() - started })
      })
    child.stdin?.end(opts.input ?? '')
  })
}

/** An empty ES module project. */
function project (t: Test, name: string): string {
  const dir = join(tempHome(t), name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }, null, 2))
  return dir
}

const bin = (dir: string, name: string): string => join(dir, 'node_modules', '.bin', name)

t.test('npm pack ships exactly what runs', async t => {
  t.equal(pkg.scripts.prepack, 'npm run build', 'prepack builds dist/')
  const out = tempHome(t)
  const packed = await sh(ROOT, 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out])
  t.equal(packed.code, 0, packed.stderr)
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string, size: number, unpackedSize: number, files: Array<{ path: string }> }>
  const files = info!.files.map(f => f.path)
  for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/cli/claudette-server.js', 'dist/cli/claudette.js',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/client/index.js', 'dist/src/client/index.d.ts', 'docs/embedding.md']) {
    t.ok(files.includes(f), `ships ${f}`)
  }
  t.same(files.filter(f => f.startsWith('dist/bin/') || f.startsWith('bin/') || f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map')), [],
    'no test-only build, no TypeScript sources, no source maps pointing at unshipped sources')
  t.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 claudette-server contributors\n/)
  t.comment(`tarball ${(info!.size / 1e6).toFixed(2)} MB, unpacked ${(info!.unpackedSize / 1e6).toFixed(2)} MB, ${files.length} files`)
  const tgz = join(out, info!.filename)

  t.test('installed normally', async t => {
    const dir = project(t, 'consumer')
    const inst = await sh(dir, 'npm', ['install', '--no-audit', '--no-fund', tgz,
      `typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies['@types/node']}`])
    t.equal(inst.code, 0, inst.stderr)
    t.notMatch(inst.stderr, /EBADENGINE/, 'no dependency claims a newer Node than engines does')
    t.comment(`npm install (tarball + typescript + @types/node): ${(inst.ms / 1000).toFixed(1)} s`)

    // 1
    const help = await sh(dir, 'npx', ['claudette-server', '--help'])
    t.equal(help.code, 0, help.stderr)
    t.match(help.stdout, /^Usage: claudette-server /)

    // 2
    const home = tempHome(t)
    const srv = await startCli(bin(dir, 'claudette-server'), ['--home', home, '--port', '0', '--bind', '127.0.0.1', '--no-mdns', '--name', 'packed', '--log-level', 'warn'],
      /Ready for connections\.\n/, { timeoutMs: 60_000 })
    t.teardown(() => { srv.child.kill('SIGKILL') })
    const cs = /^ {2}(claudette:\/\/\S+)$/m.exec(srv.stdout())![1]!
    const fingerprint = /^Certificate fingerprint: ([0-9a-f]{64})$/m.exec(srv.stdout())![1]!
    const env = { CLAUDETTE_CLIENT_HOME: tempHome(t) }
    const pair = await runCli(bin(dir, 'claudette'), ['pair', '-', '--fingerprint', fingerprint], { env, input: cs.replace(/\/\/[^:]+:/, '//127.0.0.1:') + '\n' })
    t.equal(pair.code, 0, pair.stderr)
    const call = await runCli(bin(dir, 'claudette'), ['call', 'packed', 'server_info'], { env })
    t.equal(call.code, 0, call.stderr)
    t.equal(JSON.parse(call.stdout).version, pkg.version)
    srv.child.kill('SIGTERM')
    t.equal((await srv.exited).code, 0)
    t.equal(srv.stderr(), '', 'nothing logged at warn: node-pty and better-sqlite3 loaded')

    // 3
    writeFileSync(join(dir, 'exports.js'), `
import { createServer, NodePtyProvider, Type } from 'claudette-server'
import { ClaudetteClient, parseConnectionString } from 'claudette-server/client'
console.log(typeof createServer, typeof Type.Object, typeof ClaudetteClient, typeof parseConnectionString)
const session = new NodePtyProvider({ shell: '/bin/sh', exitBarrier: false })
  .spawn({ cwd: process.cwd(), cols: 80, rows: 24, env: { PATH: process.env.PATH }, file: '/bin/echo', args: ['pty-ok'] })
let out = ''
session.onData(d => { out += Buffer.from(d).toString() })
session.onExit(() => { console.log(out.trim()); session.dispose() })
`)
    const imported = await sh(dir, 'node', ['exports.js'])
    t.equal(imported.code, 0, imported.stderr)
    t.equal(imported.stdout, 'function function function function\npty-ok\n', 'both entries load; the prebuilt node-pty runs a pty')

    // 4
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
      include: ['consumer.ts'],
    }))
    writeFileSync(join(dir, 'consumer.ts'), `
import { createServer, SqliteRepoProvider, Type, type ClaudetteServer, type TerminalProvider, type RpcContext, type RpcConnection } from 'claudette-server'
import { ClaudetteClient, type OpenedSocket, type MethodResult } from 'claudette-server/client'
const params = Type.Object({ text: Type.String() })
export async function start (home: string): Promise<ClaudetteServer> {
  return await createServer({ home, port: 0, mdns: false, plugins: [async app => {
    app.rpc.register({ name: 'echo_upper', params, handler: async (p: { text: string }, _ctx: RpcContext) => p.text.toUpperCase() })
  }] })
}
// Types that reach into ws (RpcConnection, OpenedSocket) and better-sqlite3 (SqliteRepoProvider's store).
export type Parts = [TerminalProvider, RpcConnection, OpenedSocket, MethodResult<'server_info'>, typeof ClaudetteClient, SqliteRepoProvider]
`)
    const tsc = await sh(dir, 'npx', ['tsc', '-p', '.'])
    t.equal(tsc.code, 0, `tsc (skipLibCheck false):\n${tsc.stdout}${tsc.stderr}`)

    // 5
    const readme = readFileSync(join(dir, 'node_modules', 'claudette-server', 'README.md'), 'utf8')
    const snippet = /Or embed the server[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    t.ok(snippet, 'the README has the embedding snippet')
    writeFileSync(join(dir, 'embed.js'), snippet ?? '')
    const embed = await sh(dir, 'node', ['embed.js'])
    t.equal(embed.code, 0, embed.stderr)
    t.match(embed.stdout, /^claudette:\/\/\S+:\d+\/\S+ [0-9a-f]{64}\n$/)
  })

  t.test('installed with --ignore-scripts', async t => {
    const dir = project(t, 'no-scripts')
    const inst = await sh(dir, 'npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tgz])
    t.equal(inst.code, 0, inst.stderr)
    t.comment(`npm install --ignore-scripts: ${(inst.ms / 1000).toFixed(1)} s`)
    const help = await sh(dir, 'npx', ['claudette-server', '--help'])
    t.equal(help.code, 0, help.stderr)
    t.match(help.stdout, /^Usage: claudette-server /)
    const version = await sh(dir, 'npx', ['claudette-server', '--version'])
    t.equal(version.stdout, `claudette-server ${pkg.version}\n`)

    // better-sqlite3's binary comes from its install script: without it the server either finds
    // one (a prebuilt binary already there) or says so in one line and exits 1.
    const run = await startCli(bin(dir, 'claudette-server'), ['--home', tempHome(t), '--port', '0', '--bind', '127.0.0.1', '--no-mdns'],
      /Ready for connections\.\n/, { timeoutMs: 60_000 })
      .then(async srv => { srv.child.kill('SIGTERM'); return { code: (await srv.exited).code, stdout: srv.stdout(), stderr: srv.stderr() } })
      .catch((err: Error) => {
        const m = /^exited before ready; stdout=([\s\S]*) stderr=([\s\S]*)$/.exec(err.message)
        if (!m) throw err
        return { code: 1, stdout: m[1]!, stderr: m[2]! }
      })
    if (!/Ready for connections\./.test(run.stdout)) {
      t.equal(run.code, 1)
      t.match(run.stderr, /^error: the server cannot run without its database: better-sqlite3 failed to load \([^\n]+\); [^\n]*npm rebuild better-sqlite3[^\n]*\n$/,
        'one line: what is unavailable, the package, why, how to fix it')
      t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
    } else {
      t.pass('started: a prebuilt better-sqlite3 binary was already there')
    }
  })
})
